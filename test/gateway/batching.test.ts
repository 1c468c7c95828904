import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type KeysDir, keysDir, keysFileText, newKey } from '../helpers/keys.js';

/** Answers are read as loose JSON: the assertions say what they must hold. */
// biome-ignore lint/suspicious/noExplicitAny: JSON answers in tests
type Json = any;

// Issue #14 part 6: GraphQL over HTTP batching (a JSON array of operations), off unless
// MARKETGRAPH_BATCH_LIMIT is set, capped at that many operations, each operation executed with its
// own context and checked against every limit on its own.

const post = async (url: string, body: unknown) => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Json };
};

describe('batching off (the default)', () => {
  let t: TestGateway;
  let url: string;
  beforeAll(async () => {
    t = await startTestGateway();
    url = (await t.gateway.start()).url;
  });
  afterAll(async () => t?.close());

  it('refuses a batch with a coded error', async () => {
    const answer = await post(url, [{ query: '{ sources { name } }' }]);
    expect(answer.status).toBe(400);
    expect(answer.body.errors[0]).toMatchObject({
      message: 'Batching is not supported.',
      extensions: { code: 'BAD_REQUEST' },
    });
  });
});

describe('batching on', () => {
  let t: TestGateway;
  let url: string;
  beforeAll(async () => {
    t = await startTestGateway({
      env: {
        MARKETGRAPH_BATCH_LIMIT: '3',
        MARKETGRAPH_MAX_COST: '10',
        MARKETGRAPH_MAX_UPSTREAM_CALLS_PER_REQUEST: '3',
      },
    });
    url = (await t.gateway.start()).url;
  });
  afterAll(async () => t?.close());

  it('answers each operation of a batch in order, over a socket (the response-cache fast path) as in process', async () => {
    const batch = [
      { query: 'query A($id: ID!) { asset(by: { id: $id }) { symbol } }', variables: { id: 'bitcoin' } },
      { query: '{ asset(by: { symbol: "eth" }) { id } }' },
    ];
    const expected = [{ asset: { symbol: 'BTC' } }, { asset: { id: 'ethereum' } }];
    const dataOf = (body: Array<{ data: unknown }>) => body.map((answer) => answer.data);
    const overSocket = await post(url, batch);
    expect(overSocket.status).toBe(200);
    expect(dataOf(overSocket.body)).toEqual(expected);
    // Again: a cached single answer must not stand in for the batch, nor the batch for a single one.
    expect(dataOf((await post(url, batch)).body)).toEqual(expected);
    expect((await post(url, batch[0])).body.data).toEqual(expected[0]);
    const inProcess = await t.gateway.yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(batch),
    });
    expect(dataOf((await inProcess.json()) as Array<{ data: unknown }>)).toEqual(expected);
  });

  it('refuses a batch over the limit with 413 before running Json of it', async () => {
    t.sandbox.resetCounts();
    const op = { query: '{ asset(by: { id: "solana" }) { price { value } } }' };
    const answer = await post(url, [op, op, op, op]);
    expect(answer.status).toBe(413);
    expect(answer.body.errors[0]).toMatchObject({
      message: 'Batching is limited to 3 operations per request.',
      extensions: { code: 'BAD_REQUEST' },
    });
    expect(t.sandbox.counts()).toEqual({});
  });

  it('applies the cost limit to each operation: one over it is refused, the others run', async () => {
    const cheap = { query: '{ asset(by: { id: "bitcoin" }) { name } }' };
    const costly = {
      query: '{ assets(first: 50) { edges { node { candles { edges { node { close } } } } } } }',
    };
    const answer = await post(url, [cheap, costly, cheap]);
    expect(answer.body).toHaveLength(3);
    expect(answer.body[0].data).toEqual({ asset: { name: 'Bitcoin' } });
    expect(answer.body[1].errors[0].extensions).toMatchObject({ code: 'COST_LIMIT_EXCEEDED', maxCost: 10 });
    expect(answer.body[2].data).toEqual(answer.body[0].data);
  });
});

describe('batching and the per-request upstream budget', () => {
  let t: TestGateway;
  let url: string;
  beforeAll(async () => {
    t = await startTestGateway({
      env: { MARKETGRAPH_BATCH_LIMIT: '5', MARKETGRAPH_MAX_UPSTREAM_CALLS_PER_REQUEST: '3' },
    });
    url = (await t.gateway.start()).url;
  });
  afterAll(async () => t?.close());

  it('gives each operation its own budget', async () => {
    // At least two provider calls per operation (one price from each of two providers), at most the
    // three one request may make: three of them in one batch make more than three, which only
    // separate budgets allow.
    const op = (id: string) => ({
      query: `{ asset(by: { id: "${id}" }) { a: price(source: COINGECKO) { value } b: price(source: BINANCE) { value } } }`,
    });
    // Warm the catalogue and the symbol maps first (their loads are calls too).
    await post(url, op('cardano'));
    t.sandbox.resetCounts();
    const answer = await post(url, [op('ripple'), op('dogecoin'), op('tron')]);
    for (const one of answer.body) {
      expect(one.errors).toBeUndefined();
      expect(one.data.asset.a.value).toBeGreaterThan(0);
      expect(one.data.asset.b.value).toBeGreaterThan(0);
    }
    const calls = Object.values(t.sandbox.counts())
      .flatMap((e) => Object.values(e))
      .reduce((a, b) => a + b, 0);
    expect(calls).toBeGreaterThanOrEqual(6);
  });
});

describe("batching and the client's request budget", () => {
  let t: TestGateway;
  let url: string;
  let keys: KeysDir;
  // Four requests a minute (leases of one): each operation of a batch is one of them.
  const key = newKey('batcher', { requestsPerMinute: 4 });
  beforeAll(async () => {
    keys = await keysDir(keysFileText([key]));
    t = await startTestGateway({
      env: {
        MARKETGRAPH_BATCH_LIMIT: '3',
        MARKETGRAPH_AUTH: 'required',
        MARKETGRAPH_API_KEYS_FILE: keys.path,
      },
    });
    url = (await t.gateway.start()).url;
  });
  afterAll(async () => {
    await t?.close();
    await keys?.remove();
  });

  it('charges every operation of a batch, not one per HTTP request', async () => {
    const batch = [1, 2, 3].map((n) => ({ query: `{ a${n}: asset(by: { id: "bitcoin" }) { id } }` }));
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        authorization: `Bearer ${key.key}`,
      },
      body: JSON.stringify(batch),
    });
    const first = (await response.json()) as Json[];
    expect(first.map((answer) => answer.errors)).toEqual([undefined, undefined, undefined]);
    const again = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        authorization: `Bearer ${key.key}`,
      },
      body: JSON.stringify(batch),
    });
    const second = (await again.json()) as Json[];
    // One request of the four is left: the first operation runs, the other two are over the budget.
    expect(second[0].errors).toBeUndefined();
    expect(second.slice(1).map((answer) => answer.errors[0].extensions.code)).toEqual([
      'RATE_LIMITED',
      'RATE_LIMITED',
    ]);
  });
});
