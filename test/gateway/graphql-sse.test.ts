import { type Client, createClient, type ExecutionResult, NetworkError } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STREAM_TOKEN_HEADER } from '../../src/transport/use-graphql-sse.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { manualClock } from '../helpers/manual-clock.js';

// The graphql-sse client library against the gateway on a socket, in both of its modes: "distinct
// connections" (Yoga's own SSE) and "single connection" (PUT a reservation, GET one event stream, POST
// each operation with the stream's token), which Yoga alone answered with 405.

interface Call {
  method: string;
  status: number;
}

/**
 * A fetch that records the method and status of every request the client makes, and the body of each
 * refusal (the client aborts its request once it has the status, so the test could not read it).
 */
function recordingFetch(calls: Call[], headers: Record<string, string> = {}, refusals: unknown[] = []) {
  const recording: typeof fetch = async (input, init) => {
    const response = await fetch(input, { ...init, headers: { ...(init?.headers ?? {}), ...headers } });
    calls.push({ method: init?.method ?? 'GET', status: response.status });
    if (response.status >= 400) {
      const text = await response.text();
      refusals.push(JSON.parse(text));
      return new Response(text, { status: response.status, headers: response.headers });
    }
    return response;
  };
  return recording;
}

/** The first `count` results of an operation, then stops it (a DELETE in single-connection mode). */
async function take(client: Client, query: string, count: number): Promise<ExecutionResult[]> {
  const results: ExecutionResult[] = [];
  const iterator = client.iterate({ query });
  for await (const result of iterator) {
    results.push(result as ExecutionResult);
    if (results.length >= count) break;
  }
  return results;
}

const PRICES = 'subscription { priceUpdated(assetIds: ["bitcoin"]) { assetId value } }';

describe('graphql-sse client', () => {
  let t: TestGateway;
  let url: string;
  const clients: Client[] = [];
  beforeAll(async () => {
    t = await startTestGateway();
    ({ url } = await t.gateway.start());
  });
  afterAll(async () => {
    for (const client of clients) client.dispose();
    await t.close();
  });

  const client = (options: {
    singleConnection: boolean;
    calls: Call[];
    headers?: Record<string, string>;
    refusals?: unknown[];
  }) => {
    const made = createClient({
      url,
      singleConnection: options.singleConnection,
      fetchFn: recordingFetch(options.calls, options.headers, options.refusals),
      retryAttempts: 0,
    });
    clients.push(made);
    return made;
  };

  it('single-connection mode: a subscription and a query share one event stream', async () => {
    const calls: Call[] = [];
    const sse = client({ singleConnection: true, calls });
    const [prices, asset] = await Promise.all([
      take(sse, PRICES, 2),
      take(sse, '{ asset(by: { id: "ethereum" }) { id symbol } }', 1),
    ]);
    expect(prices.map((r) => r.errors)).toEqual([undefined, undefined]);
    expect(prices.map((r) => (r.data as { priceUpdated: { assetId: string } }).priceUpdated.assetId)).toEqual(
      ['bitcoin', 'bitcoin'],
    );
    expect(asset).toMatchObject([{ data: { asset: { id: 'ethereum', symbol: 'ETH' } } }]);
    expect(asset[0]!.errors).toBeUndefined();
    // One reservation, one stream, and each operation posted to it (202) and the subscription stopped.
    expect(calls.filter((c) => c.method === 'PUT')).toEqual([{ method: 'PUT', status: 201 }]);
    expect(calls.filter((c) => c.method === 'GET')).toEqual([{ method: 'GET', status: 200 }]);
    expect(calls.filter((c) => c.method === 'POST')).toEqual([
      { method: 'POST', status: 202 },
      { method: 'POST', status: 202 },
    ]);
    await expect
      .poll(() => calls.filter((c) => c.method === 'DELETE'))
      .toEqual([{ method: 'DELETE', status: 200 }]);
  });

  it('single-connection mode: a refused operation answers its coded errors on the stream', async () => {
    const calls: Call[] = [];
    const refusals: Array<{ errors: Array<{ extensions: { code: string } }> }> = [];
    const sse = client({ singleConnection: true, calls, refusals });
    const [unknown] = await take(
      sse,
      'subscription { priceUpdated(assetIds: ["no-such-coin"]) { value } }',
      1,
    );
    expect(unknown!.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    // A document that does not validate is answered 400 with coded errors, as graphql-sse's own
    // handler answers it; the stream carries on.
    const invalid = await take(sse, '{ asset(by: { id: "bitcoin" }) { nope } }', 1).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(NetworkError);
    expect((invalid as NetworkError).response?.status).toBe(400);
    const tooDeep = `{ asset(by: { id: "bitcoin" }) ${'{ sameSymbol '.repeat(20)}{ id }${' }'.repeat(20)} }`;
    expect(await take(sse, tooDeep, 1).catch((e: unknown) => e)).toBeInstanceOf(NetworkError);
    const syntax = await take(sse, '{ asset(by: { id: "bitcoin" }) { id }', 1).catch((e: unknown) => e);
    expect(syntax).toBeInstanceOf(NetworkError);
    expect(refusals.map((r) => r.errors[0]!.extensions.code)).toEqual([
      'GRAPHQL_VALIDATION_FAILED',
      'DEPTH_LIMIT_EXCEEDED',
      'GRAPHQL_PARSE_FAILED',
    ]);
    const [after] = await take(sse, '{ asset(by: { id: "bitcoin" }) { id } }', 1);
    expect(after!.data).toEqual({ asset: { id: 'bitcoin' } });
  });

  it('single-connection mode: a wrong API key is refused with 401 before any stream', async () => {
    const calls: Call[] = [];
    const sse = client({ singleConnection: true, calls, headers: { 'x-api-key': 'mg_wrong' } });
    const failure = await take(sse, PRICES, 1).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(NetworkError);
    expect((failure as NetworkError).response?.status).toBe(401);
    expect(calls).toEqual([{ method: 'PUT', status: 401 }]);
  });

  it('distinct-connections mode still goes to Yoga: one event stream per operation', async () => {
    const calls: Call[] = [];
    const sse = client({ singleConnection: false, calls });
    const prices = await take(sse, PRICES, 2);
    expect(prices.every((r) => r.errors === undefined)).toBe(true);
    expect(calls).toEqual([{ method: 'POST', status: 200 }]);
  });
});

describe('graphql-sse single-connection mode: bounds', () => {
  const clock = manualClock();
  let t: TestGateway;
  let url: string;
  // The open streams' responses are held, not only their aborts: an unreferenced Response whose body
  // is never read can be garbage-collected, and undici then cancels its body, which closes the stream.
  const opened: Array<{ abort: AbortController; response?: Response }> = [];
  beforeAll(async () => {
    t = await startTestGateway({ now: clock.now, env: { MARKETGRAPH_MAX_BODY_BYTES: '2048' } });
    ({ url } = await t.gateway.start());
  });
  afterAll(async () => {
    for (const stream of opened) stream.abort.abort();
    await t.close();
  });

  const reserve = (headers: Record<string, string> = {}) =>
    fetch(url, { method: 'PUT', headers: { accept: '*/*', ...headers } });
  const codes = async (response: Response) =>
    ((await response.json()) as { errors: Array<{ extensions?: { code?: string } }> }).errors.map(
      (e) => e.extensions?.code,
    );
  /** Opens the stream (the response stays open until the test's end). */
  const open = async (token: string) => {
    const stream: { abort: AbortController; response?: Response } = { abort: new AbortController() };
    opened.push(stream);
    stream.response = await fetch(url, {
      headers: { accept: 'text/event-stream', [STREAM_TOKEN_HEADER]: token },
      signal: stream.abort.signal,
    });
    return stream.response;
  };
  const post = (token: string, body: BodyInit, headers: Record<string, string> = {}) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [STREAM_TOKEN_HEADER]: token, ...headers },
      body,
      duplex: 'half',
    } as RequestInit);
  const operation = (id: string) =>
    JSON.stringify({ query: '{ asset(by: { id: "bitcoin" }) { id } }', extensions: { operationId: id } });

  it('a token that names no stream is answered 404 NOT_FOUND, before its body is read', async () => {
    const big = post('no-such-token', `{"query":"${'a'.repeat(3_000_000)}"}`);
    expect((await big).status).toBe(404);
    expect(await codes(await big)).toEqual(['NOT_FOUND']);
    const streamed = await fetch(`${url}?token=no-such-token`, { headers: { accept: 'text/event-stream' } });
    expect([streamed.status, await codes(streamed)]).toEqual([404, ['NOT_FOUND']]);
    const stopped = await fetch(`${url}?token=no-such-token&operationId=1`, { method: 'DELETE' });
    expect([stopped.status, await codes(stopped)]).toEqual([404, ['NOT_FOUND']]);
  });

  it('an operation for a stream reserved but not opened is refused (409), and runs once it is open', async () => {
    const token = await (await reserve()).text();
    const early = await post(token, operation('1'));
    expect([early.status, await codes(early)]).toEqual([409, ['BAD_REQUEST']]);
    expect((await open(token)).status).toBe(200);
    expect((await post(token, operation('1'))).status).toBe(202);
    const prices = JSON.stringify({ query: PRICES, extensions: { operationId: 'prices' } });
    expect((await post(token, prices)).status).toBe(202);
    // The handler's own refusals carry a code too: a second event stream for the token, an id in use.
    const again = await fetch(url, {
      headers: { accept: 'text/event-stream', [STREAM_TOKEN_HEADER]: token },
    });
    expect([again.status, await codes(again)]).toEqual([409, ['BAD_REQUEST']]);
    const reused = await post(token, prices);
    expect([reused.status, await codes(reused)]).toEqual([409, ['BAD_REQUEST']]);
  });

  it('only GET opens a stream: PUT or DELETE asking for an event stream is refused 405, the stream stays reserved', async () => {
    const token = await (await reserve()).text();
    for (const method of ['DELETE', 'PUT']) {
      // The handler would open the stream for them, outside the gateway's count of open streams.
      const answer = await fetch(`${url}?operationId=1`, {
        method,
        headers: { accept: 'text/event-stream', [STREAM_TOKEN_HEADER]: token },
        signal: AbortSignal.timeout(5_000),
      });
      expect([method, answer.status, answer.headers.get('allow')]).toEqual([method, 405, 'GET']);
      expect(await codes(answer)).toEqual(['BAD_REQUEST']);
    }
    const early = await post(token, operation('1'));
    expect([early.status, await codes(early)]).toEqual([409, ['BAD_REQUEST']]);
  });

  it('a token the client chose is at most 128 characters: a longer one is refused, not echoed back', async () => {
    const long = 'k'.repeat(8_000);
    const refused = await reserve({ [STREAM_TOKEN_HEADER]: long });
    const text = await refused.text();
    expect(refused.status).toBe(400);
    expect(text.length).toBeLessThan(300);
    expect(
      (JSON.parse(text) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code,
    ).toBe('BAD_REQUEST');
    const chosen = 'c'.repeat(128);
    const reserved = await reserve({ [STREAM_TOKEN_HEADER]: chosen });
    expect([reserved.status, await reserved.text()]).toEqual([201, chosen]);
  });

  it('a body over MARKETGRAPH_MAX_BODY_BYTES is refused 413, by its Content-Length or, chunked, once over', async () => {
    const token = await (await reserve()).text();
    expect((await open(token)).status).toBe(200);
    const declared = await post(token, `{"query":"${'a'.repeat(3_000)}"}`);
    expect([declared.status, await codes(declared)]).toEqual([413, ['REQUEST_ENTITY_TOO_LARGE']]);
    // No Content-Length: a body that would go on for 3 MB is cut once it passes the limit.
    let sent = 0;
    const chunk = new TextEncoder().encode(`${' '.repeat(1023)}\n`);
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 3_000_000) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const chunked = await post(token, endless);
    expect([chunked.status, await codes(chunked)]).toEqual([413, ['REQUEST_ENTITY_TOO_LARGE']]);
    // Under the limit, the same stream takes operations.
    expect((await post(token, operation('small'))).status).toBe(202);
  });

  it('a reservation not opened in time expires: its token is 404 and the handler forgets it', async () => {
    const token = await (await reserve()).text();
    clock.advance(5_001);
    const late = await open(token);
    expect([late.status, await codes(late)]).toEqual([404, ['NOT_FOUND']]);
    // The handler's table no longer holds it: reserving the same token again is not a conflict (409).
    const again = await reserve({ [STREAM_TOKEN_HEADER]: token });
    expect([again.status, await again.text()]).toEqual([201, token]);
  });

  it('a stream whose client went away is forgotten: its token is 404 and its slot is free', async () => {
    const token = await (await reserve()).text();
    const abort = new AbortController();
    const stream = await fetch(url, {
      headers: { accept: 'text/event-stream', [STREAM_TOKEN_HEADER]: token },
      signal: abort.signal,
    });
    expect(stream.status).toBe(200);
    abort.abort();
    await expect.poll(async () => (await post(token, operation('after'))).status).toBe(404);
  });

  it('reservations are bounded per client: past the bound, 503 CONNECTION_LIMIT_EXCEEDED with Retry-After', async () => {
    clock.advance(5_001); // earlier tests' unopened reservations expire (their open streams still count)
    const answers: number[] = [];
    for (let i = 0; i < 32; i++) answers.push((await reserve()).status);
    const refused = await reserve();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await codes(refused)).toEqual(['CONNECTION_LIMIT_EXCEEDED']);
    // Two streams are open from the tests above (the one whose client went away no longer counts), so
    // 30 reservations fit beside them.
    expect(answers.filter((s) => s === 201)).toHaveLength(30);
    expect(answers.slice(30)).toEqual([503, 503]);
    clock.advance(5_001);
    expect((await reserve()).status).toBe(201);
  });
});

describe("graphql-sse single-connection mode: another caller's token", () => {
  let t: TestGateway;
  let url: string;
  beforeAll(async () => {
    // Behind a trusted (loopback) proxy, X-Forwarded-For tells two anonymous callers apart.
    t = await startTestGateway({ env: { MARKETGRAPH_TRUST_PROXY: 'loopback' } });
    ({ url } = await t.gateway.start());
  });
  afterAll(async () => {
    await t.close();
  });

  it('is answered as no stream: 404 NOT_FOUND on open, operation and stop', async () => {
    const alice = { 'x-forwarded-for': '203.0.113.7' };
    const mallory = { 'x-forwarded-for': '198.51.100.9' };
    const token = await (await fetch(url, { method: 'PUT', headers: { accept: '*/*', ...alice } })).text();
    const codeOf = async (r: Response) => [
      r.status,
      ((await r.json()) as { errors: Array<{ extensions?: { code?: string } }> }).errors[0]?.extensions?.code,
    ];
    const opened = await fetch(url, {
      headers: { accept: 'text/event-stream', [STREAM_TOKEN_HEADER]: token, ...mallory },
    });
    expect(await codeOf(opened)).toEqual([404, 'NOT_FOUND']);
    const posted = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [STREAM_TOKEN_HEADER]: token, ...mallory },
      body: JSON.stringify({ query: '{ sources { name } }', extensions: { operationId: 'x' } }),
    });
    expect(await codeOf(posted)).toEqual([404, 'NOT_FOUND']);
    const stopped = await fetch(`${url}?token=${token}&operationId=x`, {
      method: 'DELETE',
      headers: mallory,
    });
    expect(await codeOf(stopped)).toEqual([404, 'NOT_FOUND']);
    // Its owner still opens it.
    const abort = new AbortController();
    const own = await fetch(url, {
      headers: { accept: 'text/event-stream', [STREAM_TOKEN_HEADER]: token, ...alice },
      signal: abort.signal,
    });
    expect(own.status).toBe(200);
    abort.abort();
  });
});

describe('graphql-sse single-connection mode: the gateway-wide bound', () => {
  let t: TestGateway;
  afterAll(async () => {
    await t?.close();
  });

  it('reservations beyond MARKETGRAPH_MAX_CONNECTIONS in all are refused 503 CONNECTION_LIMIT_EXCEEDED', async () => {
    t = await startTestGateway({ env: { MARKETGRAPH_MAX_CONNECTIONS: '3', MARKETGRAPH_AUTH: 'off' } });
    const { url } = await t.gateway.start();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(url, { method: 'PUT' })).status);
    expect(statuses).toEqual([201, 201, 201, 503]);
  });
});
