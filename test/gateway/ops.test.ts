import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscribeWs, waitFor, wsClient } from '../helpers/clients.js';
import { onlyUpstreams, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startPrivateRedis } from '../helpers/redis-server.js';

// Issue #13 parts 1 and 3, end to end through yoga.fetch (and a socket for graphql-ws): /ready against
// the price providers' breakers and a Redis this file starts and kills itself; x-request-id on every
// response and in the one log line per operation; the per-operation metrics and active subscriptions.

type Line = Record<string, unknown> & { level: number; msg: string };

/** A pino logger at info whose lines land in `lines`, parsed. */
function capturingLogger() {
  const lines: Line[] = [];
  const logger = pino({ level: 'info' }, { write: (text: string) => void lines.push(JSON.parse(text)) });
  return { logger, lines };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Sums the samples of `name` whose labels include `labels`, from Prometheus text. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(match[3]);
  }
  return sum;
}

describe('/health and /ready', () => {
  it('answers /ready 200 with each dependency, and /health stays a bare liveness answer', async () => {
    const t = await startTestGateway();
    try {
      const ready = await t.gateway.yoga.fetch('http://gateway.test/ready');
      expect(ready.status).toBe(200);
      expect(ready.headers.get('cache-control')).toBe('no-store');
      const body = await ready.json();
      expect(body).toMatchObject({
        status: 'ready',
        failing: [],
        redis: { state: 'off' },
        prices: { coingecko: { available: true, breaker: 'closed' }, binance: { available: true } },
      });
      const health = await t.gateway.yoga.fetch('http://gateway.test/health');
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok' });
    } finally {
      await t.close();
    }
  });

  it('answers /ready 503 naming the price providers when every one is disabled or its breaker is open', async () => {
    const t = await startTestGateway({
      env: {
        ...onlyUpstreams('coingecko', 'binance'),
        MARKETGRAPH_BREAKER_THRESHOLD: '1',
        MARKETGRAPH_BREAKER_HALF_OPEN_MS: '600000',
        MARKETGRAPH_UPSTREAM_RETRIES: '0',
      },
    });
    try {
      const http = t.gateway.services.http;
      // The asset registry is loaded first: with it failing, no price would be asked for.
      expect((await t.query('{ asset(id: "ethereum") { id } }')).body.errors).toBeUndefined();
      t.sandbox.faults.set('coingecko', '*', { kind: 'server-error', status: 503 });
      t.sandbox.faults.set('binance', '*', { kind: 'server-error', status: 503 });
      // One provider down is not enough: the gateway fails over to the other.
      // In EUR: the USD quote is already held, primed from the markets page the registry read.
      await until(
        () => t.query('{ asset(id: "ethereum") { price(currency: EUR) { value } } }'),
        () => http.health('coingecko').breaker === 'open' && http.health('binance').breaker === 'open',
        'both price breakers to open',
      );
      const response = await t.gateway.yoga.fetch('http://gateway.test/ready');
      expect(response.status).toBe(503);
      const body = await response.json();
      expect(body.status).toBe('unready');
      expect(body.failing).toHaveLength(1);
      expect(body.failing[0].dependency).toBe('prices');
      expect(body.failing[0].reason).toContain('coingecko: breaker open');
      expect(body.failing[0].reason).toContain('binance: breaker open');
      expect(body.failing[0].reason).toContain('coincap: disabled');
      expect(body.prices.coingecko).toEqual({ available: false, reason: 'breaker open' });
      // Liveness is unaffected: the process still answers.
      expect((await t.gateway.yoga.fetch('http://gateway.test/health')).status).toBe(200);
    } finally {
      t.sandbox.faults.clear();
      await t.close();
    }
  });

  it('answers /ready 503 naming redis while its Redis is killed, and 200 again once it is back', async () => {
    const redis = await startPrivateRedis();
    const t = await startTestGateway({ env: { REDIS_URL: redis.url } });
    const ready = async () => {
      const response = await t.gateway.yoga.fetch('http://gateway.test/ready');
      return { status: response.status, body: await response.json() };
    };
    try {
      const up = await until(ready, (r) => r.status === 200, '/ready 200 with Redis up');
      expect(up.body.redis).toEqual({ state: 'up' });

      await redis.kill();
      const down = await until(ready, (r) => r.status === 503, '/ready 503 with Redis killed');
      expect(down.body.status).toBe('unready');
      expect(down.body.redis.state).toBe('down');
      expect(down.body.failing).toEqual([
        { dependency: 'redis', reason: expect.stringContaining('redis is down') },
      ]);

      await redis.start();
      const back = await until(ready, (r) => r.status === 200, '/ready 200 with Redis restarted');
      expect(back.body).toMatchObject({ status: 'ready', failing: [], redis: { state: 'up' } });
    } finally {
      await t.close();
      await redis.close();
    }
  });
});

describe('request ids and the log line per operation', () => {
  let t: TestGateway;
  let lines: Line[];
  beforeAll(async () => {
    const captured = capturingLogger();
    lines = captured.lines;
    t = await startTestGateway({ logger: captured.logger });
  });
  afterAll(async () => {
    await t.close();
  });

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    t.gateway.yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...headers,
      },
      body: JSON.stringify(body),
    });
  const linesFor = (requestId: string) => lines.filter((line) => line.requestId === requestId);

  it('echoes a valid x-request-id and writes exactly one info line for the operation, carrying it', async () => {
    const before = lines.length;
    const calls = t.sandbox.count('coingecko');
    const response = await post(
      { query: 'query BitcoinPrice { asset(id: "bitcoin") { price { value } } }' },
      { 'x-request-id': 'trace-42.abc_DEF:1' },
    );
    expect(response.status).toBe(200);
    expect((await response.json()).errors).toBeUndefined();
    expect(response.headers.get('x-request-id')).toBe('trace-42.abc_DEF:1');
    // Nothing else (Yoga's own request logging among it) writes a line for this request at info.
    expect(lines.slice(before)).toHaveLength(1);
    const [line] = linesFor('trace-42.abc_DEF:1');
    expect(line).toMatchObject({
      level: 30,
      msg: 'graphql operation',
      operation: 'BitcoinPrice',
      type: 'query',
      transport: 'http',
      httpStatus: 200,
      status: 'ok',
    });
    expect(line!.durationMs).toBeGreaterThan(0);
    expect(line!.errorCodes).toBeUndefined();
    // The calls this request made, from its upstream budget (src/http/budget.ts): what reached the provider.
    const made = t.sandbox.count('coingecko') - calls;
    expect(made).toBeGreaterThan(0);
    expect(line!.upstreamCalls).toEqual({ coingecko: made });
  });

  it('creates an id when there is none, or when the given one is too long or has other characters', async () => {
    for (const given of [undefined, 'has spaces in it', 'x'.repeat(129), 'quote"d', 'line\u2028break']) {
      const response = await post(
        { query: '{ asset(id: "bitcoin") { id } }' },
        given === undefined ? {} : { 'x-request-id': given },
      );
      const id = response.headers.get('x-request-id');
      expect(id, String(given)).toMatch(UUID);
      await response.text();
      expect(linesFor(id!)).toHaveLength(1);
      expect(linesFor(id!)[0]).toMatchObject({ operation: null, type: 'query' });
    }
    const ids = new Set(lines.slice(-5).map((l) => l.requestId));
    expect(ids.size).toBe(5);
  });

  it('puts the id on errors, on /health, /ready and /metrics too, and logs refused operations with their codes', async () => {
    const parse = await post({ query: '{ asset(' }, { 'x-request-id': 'bad-parse' });
    expect(parse.status).toBe(400);
    expect(parse.headers.get('x-request-id')).toBe('bad-parse');
    expect(linesFor('bad-parse')[0]).toMatchObject({
      type: 'unknown',
      httpStatus: 400,
      status: 'error',
      errorCodes: ['GRAPHQL_PARSE_FAILED'],
    });

    const invalid = await post({ query: 'query Nope { nope }' }, { 'x-request-id': 'bad-field' });
    expect(invalid.status).toBe(400);
    expect(linesFor('bad-field')[0]).toMatchObject({
      operation: 'Nope',
      type: 'query',
      status: 'error',
      errorCodes: ['GRAPHQL_VALIDATION_FAILED'],
    });

    for (const path of ['/health', '/ready', '/metrics']) {
      const response = await t.gateway.yoga.fetch(`http://gateway.test${path}`, {
        headers: { 'x-request-id': `probe${path}` },
      });
      expect(response.headers.get('x-request-id'), path).toBe(`probe${path}`);
      await response.text();
      // Not a GraphQL operation: no line.
      expect(linesFor(`probe${path}`), path).toEqual([]);
    }
    const unknown = await t.gateway.yoga.fetch('http://gateway.test/nowhere', {
      headers: { 'x-request-id': 'lost' },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('x-request-id')).toBe('lost');
  });

  // The fetch ponyfill writes content-length and later headers into a Response's init object: a
  // headers object shared between responses made /health carry a stale length (a hung client).
  it('gives each /health and /ready answer its own headers: its length, its request id', async () => {
    for (const [path, id] of [
      ['/health', 'h-1'],
      ['/ready', 'r-1'],
      ['/health', 'h-2'],
      ['/ready', 'r-2'],
    ] as const) {
      const response = await t.gateway.yoga.fetch(`http://gateway.test${path}`, {
        headers: { 'x-request-id': id },
      });
      const body = await response.text();
      expect(response.headers.get('x-request-id'), path).toBe(id);
      const length = response.headers.get('content-length');
      if (length !== null) expect(Number(length), path).toBe(Buffer.byteLength(body));
    }
  });

  it('moves the per-operation histogram and the error-code counter', async () => {
    const scrape = async () => (await t.gateway.yoga.fetch('http://gateway.test/metrics')).text();
    const ok = { operation: 'EthId', type: 'query', status: 'ok' };
    const failed = { operation: 'Missing', type: 'query' };
    const before = await scrape();

    await (await post({ query: 'query EthId { asset(id: "ethereum") { id } }' })).text();
    await (await post({ query: 'query EthId { asset(id: "ethereum") { id } }' })).text();
    const missing = await post({
      query: 'query Missing { asset(id: "no-such-asset-anywhere") { price { value } } }',
    });
    const body = await missing.json();
    const codes: string[] = (body.errors ?? []).map(
      (e: { extensions?: { code?: string } }) => e.extensions?.code,
    );
    expect(codes.length).toBeGreaterThan(0);
    const after = await scrape();

    const histogram = 'marketgraph_operation_duration_seconds';
    expect(sample(after, `${histogram}_count`, ok)).toBe(sample(before, `${histogram}_count`, ok) + 2);
    expect(sample(after, `${histogram}_bucket`, { ...ok, le: '+Inf' })).toBe(
      sample(after, `${histogram}_count`, ok),
    );
    expect(sample(after, `${histogram}_sum`, ok)).toBeGreaterThan(sample(before, `${histogram}_sum`, ok));
    expect(sample(after, `${histogram}_count`, failed)).toBe(
      sample(before, `${histogram}_count`, failed) + 1,
    );
    for (const code of new Set(codes)) {
      const n = codes.filter((c) => c === code).length;
      expect(sample(after, 'marketgraph_operation_errors_total', { code })).toBe(
        sample(before, 'marketgraph_operation_errors_total', { code }) + n,
      );
    }
  });
});

describe('request ids on the response cache fast path (a socket: the fast path is in front of Yoga)', () => {
  it('gives a hit the id of its own request, never the one of the request whose answer was stored', async () => {
    const captured = capturingLogger();
    const t = await startTestGateway({ logger: captured.logger });
    try {
      const { url } = await t.gateway.start();
      const post = (headers: Record<string, string>) =>
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ query: 'query Names { assets(first: 3) { edges { node { id name } } } }' }),
        });
      const miss = await post({ 'x-request-id': 'first-caller' });
      await miss.text();
      expect(miss.headers.get('x-response-cache')).toBe('miss');
      expect(miss.headers.get('x-request-id')).toBe('first-caller');
      // The execution behind the miss logged under the same id.
      expect(captured.lines.filter((l) => l.requestId === 'first-caller')).toHaveLength(1);

      const hit = await post({ 'x-request-id': 'second-caller' });
      await hit.text();
      expect(hit.headers.get('x-response-cache')).toBe('hit');
      expect(hit.headers.get('x-request-id')).toBe('second-caller');

      const anonymous = await post({ 'x-request-id': 'not a valid id' });
      await anonymous.text();
      expect(anonymous.headers.get('x-response-cache')).toBe('hit');
      expect(anonymous.headers.get('x-request-id')).toMatch(UUID);
    } finally {
      await t.close();
    }
  });
});

describe('active subscriptions by transport', () => {
  let t: TestGateway;
  let lines: Line[];
  let url: string;
  beforeAll(async () => {
    const captured = capturingLogger();
    lines = captured.lines;
    t = await startTestGateway({ logger: captured.logger });
    ({ url } = await t.gateway.start());
  });
  afterAll(async () => {
    await t.close();
  });

  const active = async (transport: string) =>
    sample(
      await (await t.gateway.yoga.fetch('http://gateway.test/metrics')).text(),
      'marketgraph_subscriptions_active',
      {
        transport,
      },
    );
  const SUBSCRIPTION = 'subscription Ticks { priceUpdated(assetIds: ["bitcoin"]) { value } }';

  it('counts an SSE subscription while its stream is open, echoes its request id, logs it when it ends', async () => {
    expect(await active('sse')).toBe(0);
    const response = await t.gateway.yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'x-request-id': 'sse-1' },
      body: JSON.stringify({ query: SUBSCRIPTION }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('sse-1');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let received = '';
    // Past Yoga's keep-alive comments (':') to the first event.
    while (!received.includes('data:')) received += decoder.decode((await reader.read()).value);
    expect(await active('sse')).toBe(1);
    expect(lines.filter((l) => l.requestId === 'sse-1')).toEqual([]);

    await reader.cancel();
    await until(
      () => active('sse'),
      (n) => n === 0,
      'the SSE subscription to end',
    );
    const [line] = lines.filter((l) => l.requestId === 'sse-1');
    expect(line).toMatchObject({
      operation: 'Ticks',
      type: 'subscription',
      transport: 'sse',
      httpStatus: 200,
      status: 'ok',
    });
    expect(line!.durationMs).toBeGreaterThanOrEqual(line!.setupMs as number);
  });

  it('counts a graphql-ws subscription while it runs and logs it when the client completes it', async () => {
    expect(await active('graphql-ws')).toBe(0);
    const client = wsClient(url);
    try {
      const sub = subscribeWs(client, SUBSCRIPTION);
      await waitFor(() => sub.events.length > 0, 10_000, 'a graphql-ws event');
      expect(await active('graphql-ws')).toBe(1);
      expect(await active('sse')).toBe(0);
      sub.stop();
      await until(
        () => active('graphql-ws'),
        (n) => n === 0,
        'the graphql-ws subscription to end',
      );
      const line = lines.find((l) => l.transport === 'graphql-ws' && l.operation === 'Ticks');
      expect(line).toMatchObject({ type: 'subscription', status: 'ok' });
      expect(line!.requestId).toMatch(UUID);
      expect(line!.httpStatus).toBeUndefined();
    } finally {
      await client.dispose();
    }
  });

  it('logs a graphql-ws query and a refused graphql-ws operation, one line each, without counting them active', async () => {
    const client = wsClient(url);
    try {
      const before = lines.length;
      const result = await new Promise<unknown>((resolve, reject) => {
        client.subscribe(
          { query: 'query Btc { asset(id: "bitcoin") { id } }' },
          { next: resolve, error: reject, complete: () => undefined },
        );
      });
      expect(result).toMatchObject({ data: { asset: { id: 'bitcoin' } } });
      const refused = await new Promise<unknown>((resolve) => {
        client.subscribe(
          { query: 'subscription Bad { nope }' },
          { next: () => undefined, error: resolve, complete: () => undefined },
        );
      });
      expect(refused).toBeInstanceOf(Array);
      await waitFor(() => lines.length >= before + 2, 5_000, 'two log lines');
      const mine = lines.slice(before).filter((l) => l.msg === 'graphql operation');
      expect(mine.map((l) => [l.operation, l.type, l.transport, l.status])).toEqual([
        ['Btc', 'query', 'graphql-ws', 'ok'],
        ['Bad', 'subscription', 'graphql-ws', 'error'],
      ]);
      expect(mine[1]!.errorCodes).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect(await active('graphql-ws')).toBe(0);
    } finally {
      await client.dispose();
    }
  });
});
