import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { UpstreamError } from '../../src/errors.js';
import type { Http, HttpCall } from '../../src/http/client.js';
import {
  buildConfig,
  makeHttp,
  type ScriptedServer,
  sendHtml,
  sendJson,
  startScriptedServer,
} from './helpers.js';

const markets = z
  .array(z.object({ id: z.string(), current_price: z.number() }))
  .transform((rows) => rows.map((row) => ({ assetId: row.id, usd: row.current_price })));

const call = (extra: Partial<HttpCall<unknown>> = {}): HttpCall<unknown> => ({
  provider: 'coingecko',
  endpoint: 'coins/markets',
  path: '/coins/markets',
  schema: markets,
  ...extra,
});

async function rejection(promise: Promise<unknown>): Promise<UpstreamError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((thing) => thing.close()));
});

async function setup(
  handler: Parameters<typeof startScriptedServer>[0],
  env: Record<string, string> = {},
): Promise<{
  server: ScriptedServer;
  http: Http;
  lines: string[];
  metrics: ReturnType<typeof makeHttp>['metrics'];
}> {
  const server = await startScriptedServer(handler);
  const config = buildConfig({ MARKETGRAPH_UPSTREAM_DEADLINE_MS: '2000', ...env }, { coingecko: server.url });
  const { http, lines, metrics } = makeHttp(config);
  open.push(server, http);
  return { server, http, lines, metrics };
}

describe('createHttp: bodies', () => {
  it('builds the URL from base + path + query (skipping undefined) and returns the transformed body', async () => {
    const { server, http } = await setup((_req, res) =>
      sendJson(res, 200, [{ id: 'bitcoin', current_price: 65000.5 }]),
    );
    const result = await http.get(
      call({ query: { vs_currency: 'usd', ids: 'bitcoin', page: undefined, sparkline: false } }),
    );
    expect(result).toEqual([{ assetId: 'bitcoin', usd: 65000.5 }]);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.url).toBe('/api/coins/markets?vs_currency=usd&ids=bitcoin&sparkline=false');
    expect(http.health('coingecko')).toMatchObject({ breaker: 'closed', lastError: null, blockedUntil: 0 });
    expect(http.health('coingecko').lastLatencyMs).toBeGreaterThanOrEqual(0);
  });

  it('reuses pooled keep-alive connections', async () => {
    const { server, http } = await setup((_req, res) => sendJson(res, 200, []));
    for (let i = 0; i < 6; i++) await http.get(call());
    expect(server.requests).toHaveLength(6);
    // undici may open a second socket while the first finishes its bookkeeping; never one per call.
    expect(new Set(server.requests.map((r) => r.remotePort)).size).toBeLessThanOrEqual(2);
  });

  it('classifies a schema mismatch as UPSTREAM_BAD_RESPONSE with a short path reason, without retrying', async () => {
    const { server, http } = await setup((_req, res) =>
      sendJson(res, 200, [{ id: 'bitcoin', current_price: '65000' }]),
    );
    const error = await rejection(http.get(call()));
    expect(error.code).toBe('UPSTREAM_BAD_RESPONSE');
    expect(error.message).toBe('coingecko coins/markets: expected number at [0].current_price');
    expect(error.details.endpoint).toBe('coins/markets');
    expect(error.message).not.toContain('65000');
    expect(server.requests).toHaveLength(1);
  });

  it.each([
    ['malformed JSON', '{"id": "bitcoin",', 'expected JSON, got malformed JSON'],
    ['an empty body', '', 'empty body where JSON was expected'],
    [
      'an HTML page with status 200',
      '<!DOCTYPE html><html><body>Just a moment...</body></html>',
      'expected JSON, got an HTML page',
    ],
  ])('classifies %s on 2xx as UPSTREAM_BAD_RESPONSE', async (_label, body, reason) => {
    const { http } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
    const error = await rejection(http.get(call()));
    expect(error.code).toBe('UPSTREAM_BAD_RESPONSE');
    expect(error.message).toBe(`coingecko coins/markets: ${reason}`);
  });

  it("passes the raw text to the schema with parse: 'text'", async () => {
    const { http } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('871234');
    });
    const height = await http.get({
      ...call(),
      parse: 'text',
      schema: z.string().regex(/^\d+$/).transform(Number),
    });
    expect(height).toBe(871234);
  });

  it('lets a source classify HTTP-200 error envelopes; the client gets our reason, the log the provider text', async () => {
    const { server, http, lines } = await setup((_req, res) =>
      sendJson(res, 200, { status: '0', message: 'NOTOK', result: 'Invalid API Key' }),
    );
    const envelopeError = (body: unknown) => {
      const b = body as { status?: string; result?: string };
      return b.status === '0'
        ? { code: 'UPSTREAM_BAD_RESPONSE' as const, message: `error envelope: ${b.result}` }
        : undefined;
    };
    const error = await rejection(http.get(call({ envelopeError })));
    expect(error.code).toBe('UPSTREAM_BAD_RESPONSE');
    expect(error.message).toBe(
      'coingecko coins/markets: error in the response body: the provider rejected the request',
    );
    expect(lines.some((line) => line.includes('"detail":"error envelope: Invalid API Key"'))).toBe(true);
    expect(server.requests).toHaveLength(1);
  });

  it('treats a 4xx other than 429 as UPSTREAM_BAD_RESPONSE with its status, not retried', async () => {
    const { server, http } = await setup((_req, res) => sendJson(res, 404, { error: 'coin not found' }));
    const error = await rejection(http.get(call()));
    expect(error).toMatchObject({
      code: 'UPSTREAM_BAD_RESPONSE',
      details: { status: 404, endpoint: 'coins/markets' },
    });
    expect(server.requests).toHaveLength(1);
  });
});

describe('createHttp: retries', () => {
  it('retries an HTML 429 without Retry-After with growing backoff, then surfaces UPSTREAM_RATE_LIMITED', async () => {
    const { server, http } = await setup((_req, res) => sendHtml(res, 429), {
      MARKETGRAPH_UPSTREAM_RETRIES: '2',
    });
    const error = await rejection(http.get(call()));
    expect(error.code).toBe('UPSTREAM_RATE_LIMITED');
    expect(error.message).toBe('coingecko coins/markets: HTTP 429 rate limited (HTML error page)');
    expect(error.details.status).toBe(429);
    const [first, second, third] = server.requests.map((r) => r.at);
    expect(server.requests).toHaveLength(3);
    // random() = 0.999 with base 20 ms: ~20 ms then ~40 ms.
    expect(second! - first!).toBeGreaterThanOrEqual(18);
    expect(third! - second!).toBeGreaterThanOrEqual(38);
  });

  it('retries 5xx and returns the eventual success', async () => {
    const { server, http } = await setup(
      (_req, res, n) =>
        n <= 2 ? sendJson(res, n === 1 ? 500 : 503, { error: 'oops' }) : sendJson(res, 200, []),
      { MARKETGRAPH_UPSTREAM_RETRIES: '2' },
    );
    await expect(http.get(call())).resolves.toEqual([]);
    expect(server.requests).toHaveLength(3);
  });

  it('gives up after maxRetries retries with UPSTREAM_UNAVAILABLE', async () => {
    const { server, http } = await setup((_req, res) => sendHtml(res, 502), {
      MARKETGRAPH_UPSTREAM_RETRIES: '1',
    });
    const error = await rejection(http.get(call()));
    expect(error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', details: { status: 502 } });
    expect(error.message).toBe('coingecko coins/markets: HTTP 502 (HTML error page)');
    expect(server.requests).toHaveLength(2);
  });

  it('retries a connection reset', async () => {
    const { server, http } = await setup((req, res, n) =>
      n === 1 ? req.socket.destroy() : sendJson(res, 200, []),
    );
    await expect(http.get(call())).resolves.toEqual([]);
    expect(server.requests).toHaveLength(2);
  });

  it('retries a refused connection, then reports UPSTREAM_UNAVAILABLE', async () => {
    const server = await startScriptedServer((_req, res) => sendJson(res, 200, []));
    await server.close();
    const config = buildConfig({ MARKETGRAPH_UPSTREAM_RETRIES: '2' }, { coingecko: server.url });
    const { http } = makeHttp(config);
    open.push(http);
    const error = await rejection(http.get(call()));
    expect(error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(error.message).toBe('coingecko coins/markets: network error (ECONNREFUSED)');
  });

  it('does not retry a Binance 418 ban: UPSTREAM_RATE_LIMITED with its Retry-After', async () => {
    const { server, http } = await setup((_req, res) =>
      sendJson(res, 418, { code: -1003, msg: 'banned' }, { 'retry-after': '5' }),
    );
    const error = await rejection(http.get(call()));
    expect(error).toMatchObject({ code: 'UPSTREAM_RATE_LIMITED', details: { status: 418, retryAfter: 5 } });
    expect(server.requests).toHaveLength(1);
    expect(http.health('coingecko').blockedUntil).toBeGreaterThan(Date.now() + 4000);
  });

  it('does not retry a 451 geo block: UPSTREAM_UNAVAILABLE', async () => {
    const { server, http } = await setup((_req, res) =>
      sendJson(res, 451, { code: 0, msg: 'restricted location' }),
    );
    const error = await rejection(http.get(call()));
    expect(error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', details: { status: 451 } });
    expect(server.requests).toHaveLength(1);
  });

  it('does not retry a refused key (401): UPSTREAM_UNAVAILABLE saying so', async () => {
    const { server, http } = await setup((_req, res) => sendJson(res, 401, { error: 'Invalid API key' }));
    const error = await rejection(http.get(call()));
    expect(error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', details: { status: 401 } });
    expect(error.message).toContain('refused our credentials');
    expect(server.requests).toHaveLength(1);
  });
});

describe('createHttp: deadline', () => {
  it('answers a hung provider with UPSTREAM_TIMEOUT within the deadline and closes the socket', async () => {
    const { server, http } = await setup(() => {}, { MARKETGRAPH_UPSTREAM_DEADLINE_MS: '400' });
    const started = Date.now();
    const error = await rejection(http.get(call()));
    const elapsed = Date.now() - started;
    expect(error.code).toBe('UPSTREAM_TIMEOUT');
    expect(error.message).toBe('coingecko coins/markets: no complete response within the 400 ms deadline');
    // Not before the deadline. The upper bounds only tell this deadline from a wrong one (the 8 s
    // default): ten times the deadline, room for any load; no closer bound on a loaded machine.
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(4000);
    expect(server.requests).toHaveLength(1);
    // The gateway closes the socket itself: the server never would.
    const closedAt = await server.socketClosed(1);
    expect(closedAt - started).toBeLessThan(4000);
  });

  it("ends at the deadline, not at undici's coarser header timer, for deadlines above a second", async () => {
    // http/attempt.ts turns undici's own header timer off and ends the attempt with its deadline timer;
    // were undici's on (an upgrade changing what 0 means), it would end the call as a retryable header
    // timeout and try it again with what is left of the deadline.
    const { server, http } = await setup(() => {}, { MARKETGRAPH_UPSTREAM_DEADLINE_MS: '1600' });
    const error = await rejection(http.get(call()));
    expect(error.message).toBe('coingecko coins/markets: no complete response within the 1600 ms deadline');
    expect(server.requests).toHaveLength(1);
  });

  it("ends every call at its own deadline, whenever in undici's timer tick it started", async () => {
    // undici's header timer counts its ~500 ms ticks from the tick before it started, so one started
    // just after a tick could fire up to a tick early: before our deadline, as a retryable header
    // timeout, and the call was tried again. Calls started 60 ms apart cover a whole tick.
    const { server, http } = await setup(() => {}, { MARKETGRAPH_UPSTREAM_DEADLINE_MS: '1600' });
    const calls: Array<Promise<UpstreamError>> = [];
    for (let i = 0; i < 9; i += 1) {
      calls.push(rejection(http.get(call({ query: { n: i } }))));
      await new Promise((resolve) => setTimeout(resolve, 60));
    }
    const errors = await Promise.all(calls);
    expect(errors.map((error) => error.message)).toEqual(
      errors.map(() => 'coingecko coins/markets: no complete response within the 1600 ms deadline'),
    );
    expect(server.requests).toHaveLength(9);
  });

  it('times out a body that stalls after the headers', async () => {
    const { http, server } = await setup(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('[{"id":');
      },
      { MARKETGRAPH_UPSTREAM_DEADLINE_MS: '300' },
    );
    const started = Date.now();
    const error = await rejection(http.get(call({ deadlineMs: 300 })));
    expect(error.code).toBe('UPSTREAM_TIMEOUT');
    // Ten times the deadline: tells it from undici's own body timeout (minutes), whatever the load.
    expect(Date.now() - started).toBeLessThan(3000);
    await server.socketClosed(1);
  });

  it('honours call.deadlineMs over the configured deadline', async () => {
    const { http } = await setup(() => {}, { MARKETGRAPH_UPSTREAM_DEADLINE_MS: '5000' });
    const started = Date.now();
    const error = await rejection(http.get(call({ deadlineMs: 200 })));
    expect(error.code).toBe('UPSTREAM_TIMEOUT');
    // Between the two deadlines, far from both: the call's 200 ms, not the configured 5 s.
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(2500);
  });
});

describe('createHttp: redaction', () => {
  const KEY = 'CG-s3cr3tK3y-0123456789';

  it('never lets a key reach error messages, logs or health', async () => {
    const { server, http, lines } = await setup(
      (req, res, n) => {
        if (n === 1) return sendHtml(res, 500);
        // Echo the request line back, key and all, as some providers do in their error text.
        sendJson(res, 200, {
          status: '0',
          result: `bad request ${req.url} key=${KEY} https://x.test/a?apikey=${KEY}`,
        });
      },
      { MARKETGRAPH_COINGECKO_KEY: KEY, MARKETGRAPH_UPSTREAM_RETRIES: '1' },
    );
    const envelopeError = (body: unknown) => {
      const b = body as { status?: string; result?: string };
      return b.status === '0'
        ? { code: 'UPSTREAM_BAD_RESPONSE' as const, message: String(b.result) }
        : undefined;
    };
    const error = await rejection(
      http.get(
        call({
          query: { x_cg_demo_api_key: KEY, ids: 'bitcoin' },
          headers: { 'x-cg-demo-api-key': KEY },
          envelopeError,
        }),
      ),
    );
    expect(server.requests[0]?.url).toContain(KEY);
    expect(server.requests[0]?.headers['x-cg-demo-api-key']).toBe(KEY);
    const everything = [error.message, String(http.health('coingecko').lastError), ...lines].join('\n');
    expect(lines.length).toBeGreaterThan(0);
    expect(everything).not.toContain(KEY);
    expect(everything).not.toContain('?apikey=');
    expect(everything).not.toContain('ids=bitcoin');
    expect(everything).not.toMatch(/at .*\.ts:\d+/);
    // The echo reached the log, redacted; the client's message never quotes the provider.
    expect(
      lines.some((line) =>
        /"detail":"bad request \/api\/coins\/markets\?\[redacted\] key=\[redacted\]/.test(line),
      ),
    ).toBe(true);
    expect(error.message).not.toContain('bad request');
  });

  it('keeps keys out of network error messages', async () => {
    const server = await startScriptedServer(() => {});
    await server.close();
    const config = buildConfig({ MARKETGRAPH_UPSTREAM_RETRIES: '0' }, { coingecko: server.url });
    const { http, lines } = makeHttp(config);
    open.push(http);
    const error = await rejection(http.get(call({ query: { apiKey: KEY } })));
    expect([error.message, ...lines].join('\n')).not.toContain(KEY);
    expect(lines.some((line) => line.includes('"endpoint":"coins/markets"'))).toBe(true);
  });
});

describe('createHttp: metrics', () => {
  it('counts outcomes and durations with provider and endpoint labels', async () => {
    const { http, metrics } = await setup((req, res) =>
      req.url?.includes('missing') ? sendJson(res, 404, {}) : sendJson(res, 200, []),
    );
    await http.get(call());
    await http.get(call());
    await rejection(http.get(call({ endpoint: 'coins/{id}', path: '/coins/missing' })));
    const counter = await metrics.registry.getSingleMetricAsString('marketgraph_upstream_requests_total');
    expect(counter).toContain(
      'marketgraph_upstream_requests_total{provider="coingecko",endpoint="coins/markets",outcome="ok"} 2',
    );
    expect(counter).toContain(
      'marketgraph_upstream_requests_total{provider="coingecko",endpoint="coins/{id}",outcome="bad_response"} 1',
    );
    const histogram = await metrics.registry.getSingleMetricAsString(
      'marketgraph_upstream_request_duration_seconds',
    );
    expect(histogram).toContain(
      'marketgraph_upstream_request_duration_seconds_count{provider="coingecko",endpoint="coins/markets"} 2',
    );
    const quota = await metrics.registry.getSingleMetricAsString('marketgraph_quota_tokens_left');
    expect(quota).toContain('marketgraph_quota_tokens_left{provider="coingecko"} 27');
    expect(http.health('coingecko').quotaLeft).toBe(27);
    const breaker = await metrics.registry.getSingleMetricAsString('marketgraph_breaker_state');
    expect(breaker).toContain('marketgraph_breaker_state{provider="coingecko"} 0');
  });
});
