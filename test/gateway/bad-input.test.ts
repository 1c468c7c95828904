import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

// Issue #2 acceptance: bad input gets a clear, coded error; never a crash, a hang or a stack trace.

describe('bad input', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway();
  });
  afterAll(async () => {
    await t.close();
  });

  it('unknown asset id: null plus NOT_FOUND', async () => {
    const res = await t.query('{ asset(id: "no-such-coin") { id price { value } } }');
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ asset: null });
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors![0]!.extensions!.code).toBe('NOT_FOUND');
    expect(res.body.errors![0]!.message).toContain('no-such-coin');
    expect(res.body.errors![0]!.path).toEqual(['asset']);
  });

  it('unknown asset beside a known one keeps the known one', async () => {
    const res = await t.query<{ a: { id: string } | null; b: { id: string } | null }>(
      '{ a: asset(id: "bitcoin") { id } b: asset(id: "nope-coin") { id } }',
    );
    expect(res.body.data).toEqual({ a: { id: 'bitcoin' }, b: null });
    expect(res.body.errors!.map((e) => e.extensions!.code)).toEqual(['NOT_FOUND']);
  });

  it.each([-1, 0, 100_000])('first: %i is BAD_USER_INPUT naming the allowed range', async (first) => {
    const res = await t.query(`{ assets(first: ${first}) { edges { node { id } } } }`);
    expect(res.body.data ?? null).toBeNull();
    const error = res.body.errors![0]!;
    expect(error.extensions!.code).toBe('BAD_USER_INPUT');
    expect(error.message).toContain('between 1 and 250');
    expect(error.message).toContain(String(first));
  });

  it('a made-up cursor is BAD_USER_INPUT', async () => {
    const res = await t.query('{ assets(first: 2, after: "bogus") { edges { node { id } } } }');
    expect(res.body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
  });

  it('asset() with no selector or two selectors is BAD_USER_INPUT', async () => {
    for (const args of ['', '(id: "bitcoin", symbol: "BTC")']) {
      const res = await t.query(`{ asset${args} { id } }`);
      expect(res.body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    }
  });

  it('malformed JSON body: HTTP 400 with a GraphQL error', async () => {
    const response = await t.gateway.yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: '{"query": "{ assets { edges',
    });
    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.errors[0].message).toMatch(/JSON/i);
    expect(JSON.stringify(body)).not.toMatch(/\bat .+\.(ts|js):\d+/);
  });

  it('syntax error: HTTP 400 with a GraphQL error and its location', async () => {
    const response = await t.gateway.yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query: '{ assets(first: 5 { id }' }),
    });
    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.errors[0].message).toMatch(/Syntax Error/);
    expect(body.errors[0].locations).toBeDefined();
    expect(JSON.stringify(body)).not.toMatch(/\bat .+\.(ts|js):\d+/);
  });

  it('an unknown field: validation error, and the server keeps serving', async () => {
    const bad = await t.query('{ asset(id: "bitcoin") { nonsense } }');
    expect(bad.body.errors![0]!.message).toContain('nonsense');
    const good = await t.query<{ asset: { id: string } }>('{ asset(id: "bitcoin") { id } }');
    expect(good.body.data!.asset.id).toBe('bitcoin');
  });
});

describe('query limits', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ env: { MARKETGRAPH_MAX_COMPLEXITY: '3000' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('rejects a query that would fan out into hundreds of upstream calls, before calling anyone', async () => {
    t.sandbox.resetCounts();
    const res = await t.query(
      '{ assets(first: 250) { edges { node { id candles(interval: D1) { edges { node { close } } } signals { kind } } } } }',
    );
    expect(res.body.data ?? null).toBeNull();
    const error = res.body.errors![0]!;
    expect(error.extensions!.code).toBe('COST_LIMIT_EXCEEDED');
    expect(error.extensions!.maxCost).toBe(3000);
    expect(error.message).toMatch(/exceeds the limit of 3000/);
    expect(t.sandbox.counts()).toEqual({});
  });

  it('lets an ordinary dashboard query through', async () => {
    const res = await t.query(
      '{ assets(first: 50) { edges { node { id price { value } market { marketCap } } } } }',
    );
    expect(res.body.errors).toBeUndefined();
  });

  it('rejects absurd nesting depth', async () => {
    const deep = `{ asset(id: "bitcoin") { ${'price { asset { '.repeat(8)} id ${'} } '.repeat(8)} } }`;
    const res = await t.query(deep);
    expect(res.body.errors![0]!.message).toMatch(/depth/i);
  });
});
