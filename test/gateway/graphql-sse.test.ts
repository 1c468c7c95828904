import { type Client, createClient, type ExecutionResult, NetworkError } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

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
