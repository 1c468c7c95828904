import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

// What the schema now checks before anything runs: metric kinds are an enum (a typo is an error, not
// an empty list) and an asset lookup is a @oneOf input (exactly one way to find the asset). The old
// asset(id:|symbol:|contract:) arguments are deprecated and keep working.

type GqlError = { message: string; path?: unknown[]; extensions?: { code?: string } };

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(async () => {
  await t.close();
});

function codes(errors: unknown): Array<string | undefined> {
  return ((errors ?? []) as GqlError[]).map((e) => e.extensions?.code);
}

describe('OnChainMetricKind', () => {
  it('rejects a misspelt kind when the query is validated, naming the kind it probably meant', async () => {
    for (const query of [
      '{ onChainMetrics(chain: "bitcoin", kinds: [FEE_FASTST]) { value } }',
      '{ asset(by: { id: "bitcoin" }) { onChainMetrics(kinds: [FEE_FASTST]) { value } } }',
      'subscription { onChainMetricUpdated(chain: "bitcoin", kinds: [FEE_FASTST]) { value } }',
    ]) {
      const res = await t.query(query);
      expect(res.body.data, query).toBeUndefined();
      expect(codes(res.body.errors), query).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect((res.body.errors as GqlError[])[0]!.message).toContain(
        'Did you mean the enum value "FEE_FASTEST"',
      );
    }
  });

  it('takes kinds as enum literals in the document and as strings in JSON variables', async () => {
    const literal = await t.query<{ onChainMetrics: Array<{ kind: string }> }>(
      '{ onChainMetrics(chain: "bitcoin", kinds: [BLOCK_HEIGHT, FEE_FASTEST]) { kind } }',
    );
    const variables = await t.query<{ onChainMetrics: Array<{ kind: string }> }>(
      'query ($kinds: [OnChainMetricKind!]) { onChainMetrics(chain: "bitcoin", kinds: $kinds) { kind } }',
      { kinds: ['BLOCK_HEIGHT', 'FEE_FASTEST'] },
    );
    for (const res of [literal, variables]) {
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data!.onChainMetrics.map((m) => m.kind).sort()).toEqual([
        'BLOCK_HEIGHT',
        'FEE_FASTEST',
      ]);
    }
  });

  it('rejects a string literal or an unknown variable value instead of answering []', async () => {
    const literal = await t.query('{ onChainMetrics(chain: "bitcoin", kinds: ["FEE_FASTEST"]) { kind } }');
    expect(codes(literal.body.errors)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    const variable = await t.query(
      'query ($kinds: [OnChainMetricKind!]) { onChainMetrics(chain: "bitcoin", kinds: $kinds) { kind } }',
      { kinds: ['fee_fastest'] },
    );
    expect(variable.body.data).toBeUndefined();
    expect((variable.body.errors as GqlError[])[0]!.message).toMatch(
      /"fee_fastest" does not exist in "OnChainMetricKind" enum/,
    );
  });
});

describe('AssetLookup (@oneOf)', () => {
  it('finds an asset by id, symbol or contract', async () => {
    const res = await t.query<Record<string, { id: string }>>(`{
      byId: asset(by: { id: "ethereum" }) { id }
      bySymbol: asset(by: { symbol: "btc" }) { id }
      byContract: asset(by: { contract: { chain: "ethereum", address: "0xdAC17F958D2ee523a2206206994597C13D831ec7" } }) { id }
    }`);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual({
      byId: { id: 'ethereum' },
      bySymbol: { id: 'bitcoin' },
      byContract: { id: 'tether' },
    });
  });

  it.each([
    ['two ways at once', '{ asset(by: { id: "bitcoin", symbol: "BTC" }) { id } }'],
    ['no way at all', '{ asset(by: {}) { id } }'],
    ['a null way', '{ asset(by: { id: null }) { id } }'],
  ])('rejects %s when the query is validated', async (_what, query) => {
    const res = await t.query(query);
    expect(res.body.data).toBeUndefined();
    expect(codes(res.body.errors)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect((res.body.errors as GqlError[])[0]!.message).toMatch(/AssetLookup/);
  });

  it('rejects two ways at once given as a variable', async () => {
    const res = await t.query('query ($by: AssetLookup!) { asset(by: $by) { id } }', {
      by: { id: 'bitcoin', symbol: 'BTC' },
    });
    expect(res.body.data).toBeUndefined();
    expect((res.body.errors as GqlError[])[0]!.message).toMatch(
      /Exactly one key must be specified for OneOf type "AssetLookup"/,
    );
  });

  it('keeps the deprecated arguments working, and refuses them beside `by` with BAD_USER_INPUT', async () => {
    const old = await t.query<Record<string, { id: string }>>(
      '{ a: asset(id: "ethereum") { id } b: asset(symbol: "btc") { id } }',
    );
    expect(old.body.errors).toBeUndefined();
    expect(old.body.data).toEqual({ a: { id: 'ethereum' }, b: { id: 'bitcoin' } });

    for (const query of ['{ asset(by: { id: "bitcoin" }, id: "ethereum") { id } }', '{ asset { id } }']) {
      const res = await t.query<{ asset: unknown }>(query);
      expect(res.body.data, query).toEqual({ asset: null });
      expect(codes(res.body.errors), query).toEqual(['BAD_USER_INPUT']);
    }
  });

  it('says so in introspection: AssetLookup is oneOf, the old arguments are deprecated', async () => {
    const res = await t.query<{
      lookup: { isOneOf: boolean };
      query: { fields: Array<{ name: string; args: Array<{ name: string; isDeprecated: boolean }> }> };
    }>(`{
      lookup: __type(name: "AssetLookup") { isOneOf }
      query: __type(name: "Query") { fields { name args(includeDeprecated: true) { name isDeprecated } } }
    }`);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.lookup.isOneOf).toBe(true);
    const asset = res.body.data!.query.fields.find((f) => f.name === 'asset')!;
    expect(Object.fromEntries(asset.args.map((a) => [a.name, a.isDeprecated]))).toEqual({
      by: false,
      id: true,
      symbol: true,
      contract: true,
    });
  });
});
