import { type FragmentDefinitionNode, Kind, type OperationDefinitionNode, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { estimateCost } from '../../src/cost/estimate.js';
import { upstreamCostTable } from '../../src/cost/upstream-cost.js';
import { EXAMPLES } from '../../src/examples.js';
import { buildSchema } from '../../src/schema/index.js';

const schema = buildSchema();
const config = loadConfig({ env: {} });
const table = upstreamCostTable({ config, defaultPageSize: 50, maxPageSize: 250 });

function estimate(document: string, variables: Record<string, unknown> = {}, maxNodes = 1_000) {
  const parsed = parse(document);
  const operation = parsed.definitions.find(
    (d) => d.kind === Kind.OPERATION_DEFINITION,
  ) as OperationDefinitionNode;
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const d of parsed.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
  return estimateCost({ schema, operation, fragments, variables, table, maxNodes });
}

describe('the upstream cost table', () => {
  it('names only fields the schema has', () => {
    for (const coordinate of table.keys()) {
      const [type, field] = coordinate.split('.') as [string, string];
      const named = schema.getType(type) as { getFields?: () => Record<string, unknown> } | undefined;
      expect(named?.getFields?.()[field], coordinate).toBeDefined();
    }
  });
});

describe('estimateCost', () => {
  it('counts one markets call per 250 assets and one candle window call per asset', () => {
    const q = '{ assets(first: 250) { edges { node { candles { edges { node { close } } } } } } }';
    expect(estimate(q).calls).toBe(1 + 250);
    expect(estimate('{ assets(first: 250) { edges { node { id price { value } } } } }').calls).toBe(2);
  });

  it('counts one markets call for a search that reads figures or a category, none for a bare name search', () => {
    expect(estimate('{ searchAssets(filter: { category: "layer-1" }) { id } }').calls).toBe(1);
    expect(estimate('{ searchAssets(query: "bit", filter: { category: "layer-1" }) { id } }').calls).toBe(1);
    expect(estimate('{ searchAssets { id } }').calls).toBe(1);
    expect(estimate('{ searchAssets(query: "bit") { id } }').calls).toBe(0);
    expect(
      estimate('query($f: AssetFilter) { searchAssets(query: "bit", filter: $f) { id } }', {
        f: { minVolume24h: 1 },
      }).calls,
    ).toBe(1);
  });

  it('counts a window longer than one klines call as several calls', () => {
    const from = new Date(Date.now() - 2_500 * 3_600_000).toISOString();
    const q = `{ asset(by: { id: "bitcoin" }) { candles(interval: H1, from: "${from}") { edges { node { close } } } } }`;
    expect(estimate(q).calls).toBe(3);
  });

  it('counts one batch set per currency, and every provider for quotes', () => {
    const q =
      '{ assets(first: 10) { edges { node { usd: price { value } eur: price(currency: EUR) { value } } } } }';
    expect(estimate(q).calls).toBe(1 + 1 + 1);
    const enabledQuoteProviders = ['coingecko', 'binance', 'coincap', 'defillama'].filter(
      (p) => config.providers[p as 'coingecko'].enabled,
    ).length;
    expect(estimate('{ asset(by: { id: "bitcoin" }) { quotes { value } } }').calls).toBe(
      enabledQuoteProviders,
    );
  });

  it('reads variables, skips what @skip leaves out, and merges fields with one response key', () => {
    const q =
      'query($n: Int, $no: Boolean!) { assets(first: $n) { edges { node { candles @skip(if: $no) { gaps { from } } } } } }';
    expect(estimate(q, { n: 20, no: false }).calls).toBe(21);
    expect(estimate(q, { n: 20, no: true }).calls).toBe(1);
    const merged =
      '{ assets(first: 5) { edges { node { id } } } assets(first: 5) { edges { node { name } } } }';
    expect(estimate(merged).calls).toBe(1);
  });

  it('costs fields selected in fragments on a concrete type of an abstract one', () => {
    const q = '{ nodes(ids: ["bitcoin", "ethereum"]) { ... on Asset { candles { gaps { from } } } } }';
    expect(estimate(q).calls).toBe(2);
    expect(estimate('{ nodes(ids: ["bitcoin", "Signal:bitcoin:RSI:1d"]) { id } }').calls).toBe(1);
  });

  it('stops counting nodes past the limit, however the fragments nest', () => {
    const fragments = Array.from(
      { length: 12 },
      (_, i) =>
        `fragment F${i} on Asset { a: id b: symbol ${i < 11 ? `s1: sameSymbol { ...F${i + 1} } s2: sameSymbol { ...F${i + 1} }` : ''} }`,
    ).join('\n');
    const result = estimate(`{ asset(by: { id: "bitcoin" }) { ...F0 } }\n${fragments}`, {}, 1_000);
    expect(result.nodes).toBeGreaterThan(1_000);
    expect(result.calls).toBe(0);
  });

  it('lets every README query example through the default limit', () => {
    for (const example of EXAMPLES) {
      const { calls } = estimate(example.document);
      expect(calls, example.title).toBeLessThanOrEqual(config.limits.maxCost);
    }
    expect(config.limits.maxCost).toBeLessThan(251);
  });
});
