import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../src/sandbox/market/catalogue.js';
import { CATEGORIES } from '../../src/sandbox/market/categories.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

// Issue #14 part 3: Query.searchAssets, by name or ticker prefix, with market-figure ranges and
// ordering by 24 h change, by CoinGecko category, at most one markets call per search.

interface Row {
  id: string;
  symbol: string;
  name: string;
  rank: number | null;
  market: {
    marketCap: number | null;
    volume24h: number | null;
    change24h: number | null;
    source: string;
  } | null;
}
type Answer = { searchAssets: Row[] };
const SEARCH = `query S($query: String, $filter: AssetFilter, $orderBy: AssetSearchOrder, $first: Int) {
  searchAssets(query: $query, filter: $filter, orderBy: $orderBy, first: $first) {
    id symbol name rank market { marketCap volume24h change24h source }
  }
}`;

describe('Query.searchAssets', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway();
  });
  afterAll(async () => t?.close());

  const search = async (variables: Record<string, unknown>) => {
    const answer = await t.query<Answer>(SEARCH, variables);
    expect(answer.body.errors).toBeUndefined();
    return answer.body.data!.searchAssets;
  };

  it('finds assets by ticker or name prefix in any case, an exact ticker first, then by rank', async () => {
    const eth = await search({ query: 'ETH', first: 5 });
    expect(eth[0]).toMatchObject({ id: 'ethereum', symbol: 'ETH' });
    for (const row of eth) expect(`${row.symbol} ${row.name}`.toLowerCase()).toMatch(/(^|\s|-)eth/);
    const expected = CATALOGUE.filter(
      (a) =>
        a.symbol.toLowerCase().startsWith('bit') ||
        a.name
          .toLowerCase()
          .split(/[\s-]+/)
          .some((w) => w.startsWith('bit')),
    ).map((a) => a.id);
    const bit = await search({ query: 'bit', first: 250 });
    expect(bit.map((r) => r.id).sort()).toEqual([...expected].sort());
    expect(bit[0]!.id).toBe('bitcoin');
    expect(await search({ query: 'zzzznothing' })).toEqual([]);
  });

  it('keeps assets within the ranges and orders by 24 h change, over the top of the ranking', async () => {
    t.sandbox.resetCounts();
    const rising = await search({
      filter: { minMarketCap: 1e9, minChange24h: 0 },
      orderBy: 'CHANGE_24H_DESC',
      first: 250,
    });
    expect(rising.length).toBeGreaterThan(0);
    for (const row of rising) {
      expect(row.market!.marketCap!).toBeGreaterThanOrEqual(1e9);
      expect(row.market!.change24h!).toBeGreaterThanOrEqual(0);
    }
    const changes = rising.map((r) => r.market!.change24h!);
    expect(changes).toEqual([...changes].sort((a, b) => b - a));
    // The complement: every top asset left out breaks one of the ranges.
    const all = await search({ first: 250 });
    const kept = new Set(rising.map((r) => r.id));
    for (const row of all.filter((r) => !kept.has(r.id)))
      expect(
        row.market!.marketCap === null || row.market!.marketCap < 1e9 || (row.market!.change24h ?? -1) < 0,
      ).toBe(true);
    const falling = await search({ orderBy: 'CHANGE_24H_ASC', first: 3 });
    expect(falling[0]!.market!.change24h!).toBeLessThanOrEqual(falling[2]!.market!.change24h!);
    expect(falling[0]!.market!.change24h!).toBe(Math.min(...all.map((r) => r.market!.change24h ?? Infinity)));
    // One markets page at most for all of it (none when the asset registry already read it).
    expect(t.sandbox.count('coingecko', 'coins/markets')).toBeLessThanOrEqual(1);
  });

  it('filters the matches of a query by their market figures', async () => {
    const big = await search({
      query: 'b',
      filter: { minVolume24h: 1e8 },
      orderBy: 'VOLUME_DESC',
      first: 10,
    });
    const volumes = big.map((r) => r.market!.volume24h!);
    expect(volumes.every((v) => v >= 1e8)).toBe(true);
    expect(volumes).toEqual([...volumes].sort((a, b) => b - a));
  });

  it('refuses a bad page size or query with BAD_USER_INPUT', async () => {
    for (const variables of [
      { first: 0 },
      { first: 251 },
      { query: 'a'.repeat(51) },
      { query: '<script>' },
    ]) {
      const answer = await t.query(SEARCH, variables);
      expect(answer.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });

  const members = (id: string) => new Set(CATEGORIES.find((c) => c.id === id)!.assets);

  it("lists the categories, and keeps only a category's assets, in one markets call", async () => {
    t.sandbox.resetCounts();
    const listed = await t.query<{ assetCategories: Array<{ id: string; name: string }> }>(
      '{ assetCategories { id name } }',
    );
    expect(listed.body.errors).toBeUndefined();
    expect(listed.body.data!.assetCategories).toEqual(CATEGORIES.map(({ id, name }) => ({ id, name })));
    expect(t.sandbox.count('coingecko', 'coins/categories/list')).toBe(1);

    t.sandbox.resetCounts();
    const stable = await search({ filter: { category: 'stablecoins' }, first: 250 });
    expect(stable.map((r) => r.id).sort()).toEqual([...members('stablecoins')].sort());
    const ranks = stable.map((r) => r.rank!);
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(t.sandbox.count('coingecko', 'coins/markets')).toBe(1);
    expect(t.sandbox.count('coingecko', 'coins/categories/list')).toBe(0);

    // Asked again: the page and the category list come from the cache.
    t.sandbox.resetCounts();
    await search({ filter: { category: 'stablecoins' }, first: 5 });
    expect(t.sandbox.count('coingecko', 'coins/markets')).toBe(0);
    expect(t.sandbox.count('coingecko', 'coins/categories/list')).toBe(0);
  });

  it('combines a category with ranges, an order and a name query', async () => {
    const layer1 = members('layer-1');
    const all = await search({ filter: { category: 'layer-1' }, first: 250 });
    expect(all.map((r) => r.id).sort()).toEqual([...layer1].sort());
    const threshold = [...all.map((r) => r.market!.marketCap!)].sort((a, b) => b - a)[3]!;
    const big = await search({
      filter: { category: 'layer-1', minMarketCap: threshold },
      orderBy: 'CHANGE_24H_DESC',
    });
    expect(big).toHaveLength(4);
    for (const row of big) {
      expect(layer1.has(row.id)).toBe(true);
      expect(row.market!.marketCap!).toBeGreaterThanOrEqual(threshold);
    }
    const changes = big.map((r) => r.market!.change24h!);
    expect(changes).toEqual([...changes].sort((a, b) => b - a));
    // 'sol' matches Solana (layer 1), not the layer-1 list's other assets.
    const named = await search({ query: 'sol', filter: { category: 'layer-1' } });
    expect(named.map((r) => r.id)).toEqual(['solana']);
    expect(await search({ query: 'doge', filter: { category: 'layer-1' } })).toEqual([]);
  });

  it('refuses an unknown or malformed category with BAD_USER_INPUT naming it', async () => {
    t.sandbox.resetCounts();
    const unknown = await t.query(SEARCH, { filter: { category: 'layer-one' } });
    expect(unknown.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(unknown.body.errors?.[0]?.message).toContain('"layer-one"');
    expect(unknown.body.data?.searchAssets ?? null).toBeNull();
    expect(t.sandbox.count('coingecko', 'coins/markets')).toBe(0);
    for (const category of ['x'.repeat(101), 'layer 1; drop']) {
      const answer = await t.query(SEARCH, { filter: { category } });
      expect(answer.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });

  it('reports a category list it could not load as an upstream error, not as an unknown category', async () => {
    const own = await startTestGateway();
    try {
      own.sandbox.faults.set('coingecko', 'coins/categories/list', { kind: 'server-error', status: 503 });
      const failed = await own.query(SEARCH, { filter: { category: 'layer-1' } });
      const code = failed.body.errors?.[0]?.extensions?.code;
      expect(code).toMatch(/^UPSTREAM_/);
      own.sandbox.faults.clear();
      // Nothing was cached from the failure (one failure, so the endpoint's breaker is still closed): the
      // next search asks again and succeeds.
      const answer = await own.query<Answer>(SEARCH, { filter: { category: 'layer-1' }, first: 3 });
      expect(answer.body.errors).toBeUndefined();
      expect(answer.body.data!.searchAssets).toHaveLength(3);
    } finally {
      await own.close();
    }
  });
});
