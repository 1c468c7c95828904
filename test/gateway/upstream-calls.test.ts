import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

// #9 part 4, counted at the sandbox: the cold 50-asset query costs one upstream call (the markets page
// carries CoinGecko's prices), and a query asking several providers for quotes in two currencies sends
// each distinct upstream request once (the USD-only providers' EUR quotes are the USD ones converted).

let t: TestGateway | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('upstream calls per query', () => {
  it('the cold 50-asset query with prices costs exactly one upstream call', async () => {
    t = await startTestGateway();
    const res = await t.query<{ assets: { edges: Array<{ node: { price: { value: number } | null } }> } }>(
      '{ assets(first: 50) { edges { node { id symbol price { value asOf } } } } }',
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.assets.edges).toHaveLength(50);
    expect(res.body.data!.assets.edges.every((e) => e.node.price!.value > 0)).toBe(true);
    expect(t.sandbox.counts()).toEqual({ coingecko: { 'coins/markets': 1 } });
  });

  it('quotes in USD and EUR from every provider: one ticker/price, one prices/current, one markets page', async () => {
    t = await startTestGateway();
    const res = await t.query<{
      assets: {
        edges: Array<{
          node: { usd: Array<{ source: string } | null>; eur: Array<{ source: string } | null> };
        }>;
      };
    }>(
      '{ assets(first: 5) { edges { node { id usd: quotes { source } eur: quotes(currency: EUR) { source } } } } }',
    );
    expect(res.body.errors).toBeUndefined();
    const sources = new Set(
      res.body.data!.assets.edges.flatMap((e) => [...e.node.usd, ...e.node.eur].map((q) => q!.source)),
    );
    expect([...sources].sort()).toEqual(['BINANCE', 'COINCAP', 'COINGECKO', 'DEFILLAMA']);
    const counts = t.sandbox.counts();
    expect(counts.binance?.['ticker/price']).toBe(1);
    expect(counts.defillama?.['prices/current']).toBe(1);
    // The registry's ranks and the assets connection read the same first page.
    expect(counts.coingecko?.['coins/markets']).toBe(1);
  });
});
