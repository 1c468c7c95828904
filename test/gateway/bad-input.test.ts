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
    // The root field is nullable: its refusal nulls it alone.
    expect(res.body.data).toEqual({ assets: null });
    const error = res.body.errors![0]!;
    expect(error.extensions!.code).toBe('BAD_USER_INPUT');
    expect(error.path).toEqual(['assets']);
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
    t = await startTestGateway();
  });
  afterAll(async () => {
    await t.close();
  });

  it('refuses candles for 250 assets at the default limit, before calling anyone', async () => {
    t.sandbox.resetCounts();
    const res = await t.query(
      '{ assets(first: 250) { edges { node { candles { edges { node { close } } } } } } }',
    );
    expect(res.status).toBe(400);
    expect(res.body.data ?? null).toBeNull();
    const error = res.body.errors![0]!;
    expect(error.extensions!.code).toBe('COST_LIMIT_EXCEEDED');
    // One markets page and one klines window per asset.
    expect(error.extensions!.cost).toBe(251);
    expect(error.extensions!.maxCost).toBe(t.config.limits.maxCost);
    expect(error.message).toMatch(/could make 251 upstream calls, more than the limit of 50/);
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
    expect(res.body.errors![0]!.extensions!.code).toBe('DEPTH_LIMIT_EXCEEDED');
  });
});

/** POSTs a raw body (or GETs a query string) through yoga.fetch; the body is read as text first. */
async function send(
  t: TestGateway,
  init: { body?: string; search?: string; accept?: string },
): Promise<{ status: number; text: string; body: { data?: unknown; errors?: ClientError[] } }> {
  const response = await t.gateway.yoga.fetch(`http://gateway.test/graphql${init.search ?? ''}`, {
    method: init.body === undefined ? 'GET' : 'POST',
    headers: {
      'content-type': 'application/json',
      accept: init.accept ?? 'application/graphql-response+json',
    },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) };
}

interface ClientError {
  message: string;
  path?: unknown[];
  extensions?: Record<string, unknown>;
}

const codes = (body: { errors?: ClientError[] }) => (body.errors ?? []).map((e) => e.extensions?.code);

describe('document limits: refused with a coded 400 before anything runs', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway();
  });
  afterAll(async () => {
    await t.close();
  });

  const post = (query: string, variables?: Record<string, unknown>) =>
    send(t, { body: JSON.stringify({ query, variables }) });

  it('depth over 12: DEPTH_LIMIT_EXCEEDED, not an uncoded "Syntax Error"', async () => {
    const res = await post(
      `{ asset(id: "bitcoin") { ${'price { asset { '.repeat(6)} id ${'} } '.repeat(6)} } }`,
    );
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ extensions: { code: 'DEPTH_LIMIT_EXCEEDED', limit: 12 } }),
    ]);
    expect(res.body.errors![0]!.message).not.toMatch(/Syntax Error/);
  });

  it.each([
    ['selection sets', `{${'a{'.repeat(3000)}b${'}'.repeat(3001)}`],
    ['list values', `{ nodes(ids: ${'['.repeat(3000)}${']'.repeat(3000)}) { id } }`],
    ['object values', `{ asset(contract: ${'{a:'.repeat(3000)}1${'}'.repeat(3000)}) { id } }`],
  ])('3,000 nested %s: DEPTH_LIMIT_EXCEEDED, not a parser stack overflow (HTTP 500)', async (_, query) => {
    const res = await post(query);
    expect(res.status).toBe(400);
    expect(codes(res.body)).toEqual(['DEPTH_LIMIT_EXCEEDED']);
  });

  it('more than 2,000 tokens: TOKEN_LIMIT_EXCEEDED', async () => {
    const res = await post(`{ ${'__typename '.repeat(2001)}}`);
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions).toEqual({ code: 'TOKEN_LIMIT_EXCEEDED', limit: 2000 });
  });

  it('a document over 32768 bytes: DOCUMENT_TOO_LARGE, measured in UTF-8 bytes', async () => {
    // 11,000 characters, 33,000 bytes: under the limit in characters, over it in bytes.
    const res = await post(`# ${'€'.repeat(11_000)}\n{ __typename }`);
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions).toEqual({ code: 'DOCUMENT_TOO_LARGE', limit: 32768 });
    expect(res.body.errors![0]!.message).toMatch(/33\d{3} bytes, more than the limit of 32768/);
    const fits = await post(`# ${'€'.repeat(10_000)}\n{ __typename }`);
    expect(fits.body.data).toEqual({ __typename: 'Query' });
  });

  it('more than 30 aliases or 50 directives: ALIAS_LIMIT_EXCEEDED, DIRECTIVE_LIMIT_EXCEEDED', async () => {
    const aliases = await post(
      `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: sources { name }`).join(' ')} }`,
    );
    expect(aliases.status).toBe(400);
    expect(aliases.body.errors![0]!.extensions).toEqual({ code: 'ALIAS_LIMIT_EXCEEDED', limit: 30 });
    const directives = await post(`{ sources { name ${'@include(if: true) '.repeat(51)}} }`);
    expect(directives.status).toBe(400);
    expect(directives.body.errors![0]!.extensions).toEqual({ code: 'DIRECTIVE_LIMIT_EXCEEDED', limit: 50 });
  });

  it('a fragment fan-out selecting 30^4 fields: NODE_LIMIT_EXCEEDED, no upstream call', async () => {
    let fragments = 'fragment F0 on Asset { id symbol }';
    for (let i = 1; i <= 4; i++) fragments += ` fragment F${i} on Asset { ${`...F${i - 1} `.repeat(30)}}`;
    t.sandbox.resetCounts();
    const res = await post(`{ asset(id: "bitcoin") { ...F4 } } ${fragments}`);
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions).toEqual({ code: 'NODE_LIMIT_EXCEEDED', limit: 1000 });
    expect(t.sandbox.counts()).toEqual({});
  });

  it('a mutation on a schema without mutations: a coded validation error', async () => {
    const res = await post('mutation { anything }');
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      expect.objectContaining({
        message: 'this API has no mutation operations',
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
      }),
    ]);
  });

  it('Int overflow: a literal fails validation, a variable is BAD_USER_INPUT', async () => {
    const literal = await post('{ assets(first: 99999999999) { edges { node { id } } } }');
    expect(codes(literal.body)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    const variable = await post('query($n: Int) { assets(first: $n) { edges { node { id } } } }', {
      n: 1e12,
    });
    expect(variable.status).toBe(400);
    expect(codes(variable.body)).toEqual(['BAD_USER_INPUT']);
    const missing = await post('query($n: Int!) { assets(first: $n) { edges { node { id } } } }');
    expect(codes(missing.body)).toEqual(['BAD_USER_INPUT']);
  });

  it('malformed node ids: BAD_USER_INPUT', async () => {
    const unknownType = await post('{ node(id: "Foo:bar") { id } }');
    expect(unknownType.body).toMatchObject({ data: { node: null } });
    expect(codes(unknownType.body)).toEqual(['BAD_USER_INPUT']);
    const malformed = await post('{ node(id: ":::") { id } }');
    expect(malformed.status).toBe(400);
    expect(codes(malformed.body)).toEqual(['BAD_USER_INPUT']);
    const mixed = await post('{ nodes(ids: ["bitcoin", "Foo:bar"]) { id } }');
    expect(mixed.body.errors).toEqual([
      expect.objectContaining({
        message: `"Foo:bar" is not a node id this API issued (an asset slug, or one of OnChainMetric, Signal followed by ':')`,
        path: ['nodes'],
        extensions: { code: 'BAD_USER_INPUT', argument: 'id' },
      }),
    ]);
  });

  it.each([
    ['variables', '?query=%7B__typename%7D&variables=%7Bbad'],
    ['extensions', '?query=%7B__typename%7D&extensions=%7Bbad'],
  ])('malformed GET %s: 400 BAD_REQUEST, not 500', async (_, search) => {
    const res = await send(t, { search });
    expect(res.status).toBe(400);
    expect(codes(res.body)).toEqual(['BAD_REQUEST']);
  });

  it('a body over 1 MB: 413 REQUEST_ENTITY_TOO_LARGE, before it is parsed', async () => {
    const res = await send(t, {
      body: JSON.stringify({ query: `{ asset(id: "${'a'.repeat(1_100_000)}") { id } }` }),
    });
    expect(res.status).toBe(413);
    expect(codes(res.body)).toEqual(['REQUEST_ENTITY_TOO_LARGE']);
  });
});

describe('argument limits: lists and strings checked before they reach a cost estimate, a URL or a message', () => {
  let t: TestGateway;
  beforeAll(async () => {
    // A body limit far above the default, so that the argument limits are what refuses.
    t = await startTestGateway({ env: { MARKETGRAPH_MAX_BODY_BYTES: '16000000' } });
  });
  afterAll(async () => {
    await t.close();
  });

  const post = (query: string, variables?: Record<string, unknown>) =>
    send(t, { body: JSON.stringify({ query, variables }) });

  it('nodes(ids: $ids) with 1,000,000 ids (a 10 MB body): BAD_USER_INPUT and no upstream call', async () => {
    const ids = Array.from({ length: 1_000_000 }, (_, i) => `coin-${i}`);
    t.sandbox.resetCounts();
    const started = performance.now();
    const res = await post('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids });
    const ms = performance.now() - started;
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      {
        message: 'nodes(ids:) takes at most 250 items, got 1000000',
        extensions: { code: 'BAD_USER_INPUT', argument: 'ids' },
      },
    ]);
    expect(t.sandbox.counts()).toEqual({});
    console.info(`1,000,000 ids refused in ${Math.round(ms)} ms`);
  });

  it.each([
    ['assets(ids:)', 'query($v: [ID!]) { assets(ids: $v) { edges { node { id } } } }', 251, 250],
    ['signals(assetIds:)', 'query($v: [ID!]!) { signals(assetIds: $v) { kind } }', 51, 50],
    [
      'signals(kinds:)',
      'query($v: [SignalKind!]) { signals(assetIds: ["bitcoin"], kinds: $v) { kind } }',
      51,
      50,
    ],
    [
      'onChainMetrics(kinds:)',
      'query($v: [OnChainMetricKind!]) { onChainMetrics(chain: "bitcoin", kinds: $v) { kind } }',
      51,
      50,
    ],
  ])('%s over its cap, from a variable or a literal: BAD_USER_INPUT', async (field, query, count, cap) => {
    const item = field.includes('kinds') ? (field.startsWith('signals') ? 'RSI' : 'FEE_FASTEST') : 'bitcoin';
    const items = Array.from({ length: count }, () => item);
    t.sandbox.resetCounts();
    const fromVariable = await post(query, { v: items });
    expect(codes(fromVariable.body)).toEqual(['BAD_USER_INPUT']);
    expect(fromVariable.body.errors![0]!.message).toBe(`${field} takes at most ${cap} items, got ${count}`);
    const literalValue = field.includes('(kinds') ? items.join(', ') : items.map((i) => `"${i}"`).join(', ');
    const literal = await post(query.replace(/^query\([^)]*\) /, '').replace('$v', `[${literalValue}]`));
    expect(literal.status).toBe(400);
    expect(literal.body.errors![0]!.message).toBe(`${field} takes at most ${cap} items, got ${count}`);
    expect(t.sandbox.counts()).toEqual({});
  });

  it('a 5 MB asset id is neither sent upstream nor echoed back', async () => {
    t.sandbox.resetCounts();
    const res = await post('query($id: ID) { asset(id: $id) { id } }', { id: 'a'.repeat(5_000_000) });
    expect(codes(res.body)).toEqual(['BAD_USER_INPUT']);
    expect(res.body.errors![0]!.message).toMatch(
      /^asset\(id:\) takes an asset id .*got \(a 5000000-character string\)$/,
    );
    expect(res.text.length).toBeLessThan(1_000);
    expect(t.sandbox.counts()).toEqual({});
  });

  it.each([
    ['asset(id:)', '{ asset(id: "bit coin/../../x") { id } }'],
    ['asset(symbol:)', '{ asset(symbol: "<script>") { id } }'],
    ['asset(contract.address:)', '{ asset(contract: { chain: "ethereum", address: "0xabc?key=1" }) { id } }'],
    ['asset(contract.chain:)', '{ asset(contract: { chain: "../eth", address: "0xabc" }) { id } }'],
    ['protocolTvl(slug:)', '{ protocolTvl(slug: "Aave V3") { value } }'],
    ['onChainMetrics(chain:)', '{ onChainMetrics(chain: "bitcoin%2F..") { kind } }'],
    ['candles(from:)', `{ asset(id: "bitcoin") { candles(from: "${'9'.repeat(300)}") { gaps { from } } } }`],
  ])('%s outside its charset or length: BAD_USER_INPUT, no upstream call', async (place, query) => {
    t.sandbox.resetCounts();
    const res = await post(query);
    expect(res.status).toBe(400);
    expect(codes(res.body)).toEqual(['BAD_USER_INPUT']);
    expect(res.body.errors![0]!.message.startsWith(`${place} takes `)).toBe(true);
    expect(res.body.errors![0]!.message.length).toBeLessThan(200);
    expect(t.sandbox.counts()).toEqual({});
  });

  // A slug of dots only is a path segment the URL parser resolves: "/protocol/.." is DefiLlama's "/".
  it.each(['.', '..', '...'])('protocol slug %j never reaches a URL', async (slug) => {
    t.sandbox.resetCounts();
    const literal = await post(`{ protocolTvl(slug: ${JSON.stringify(slug)}) { value } }`);
    expect(codes(literal.body)).toEqual(['BAD_USER_INPUT']);
    expect(literal.body.errors![0]!.message.startsWith('protocolTvl(slug:) takes ')).toBe(true);
    const node = await post('query($id: ID!) { node(id: $id) { id } }', {
      id: `OnChainMetric:PROTOCOL_TVL:${slug}`,
    });
    expect(codes(node.body)).toEqual(['BAD_USER_INPUT']);
    expect(t.sandbox.counts()).toEqual({});
  });

  it('a variable inside an input object is checked like a literal', async () => {
    const res = await post(
      'query($a: String!) { asset(contract: { chain: "ethereum", address: $a }) { id } }',
      {
        a: 'x'.repeat(201),
      },
    );
    expect(res.body.errors![0]!.message).toBe(
      'asset(contract.address:) takes a contract address (letters, digits, ".", "-", "_", ":"; at most 200), got (a 201-character string)',
    );
  });

  it('an invalid 2 MB JSON body is not echoed back', async () => {
    const res = await send(t, { body: `{"query": "${'x'.repeat(2_000_000)}` });
    expect(res.status).toBe(400);
    expect(codes(res.body)).toEqual(['BAD_REQUEST']);
    expect(res.text.length).toBeLessThan(1_000);
  });

  it('ordinary arguments still pass', async () => {
    const res = await post(
      'query($ids: [ID!]!) { nodes(ids: $ids) { id } eth: asset(symbol: "ETH") { id } usdt: asset(contract: { chain: "ethereum", address: "0xdac17f958d2ee523a2206206994597c13d831ec7" }) { id } }',
      { ids: ['bitcoin', 'ethereum'] },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual({
      nodes: [{ id: 'bitcoin' }, { id: 'ethereum' }],
      eth: { id: 'ethereum' },
      usdt: { id: 'tether' },
    });
  });
});
