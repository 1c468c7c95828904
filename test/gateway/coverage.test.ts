import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { shiftedClock } from '../helpers/manual-clock.js';

// Issue #4 acceptance: one schema over every provider, multi-source prices with failover, candles
// assembled across calls, computed and provider signals, on-chain metrics, with batching counted.

const TWENTY = [
  'bitcoin',
  'ethereum',
  'binancecoin',
  'solana',
  'ripple',
  'dogecoin',
  'cardano',
  'tron',
  'avalanche-2',
  'chainlink',
  'polkadot',
  'litecoin',
  'uniswap',
  'near',
  'shiba-inu',
  'bitcoin-cash',
  'stellar',
  'aptos',
  'sui',
  'usd-coin',
];

interface Row {
  id: string;
  price: { value: number; source: string } | null;
  quotes: Array<{ source: string; value: number } | null>;
  candles: { edges: Array<{ node: { openTime: string; close: number } }> };
  signals: Array<{
    kind: string;
    direction: string;
    strength: number;
    source: string;
    rationale: string;
  } | null>;
  onChainMetrics: Array<{ kind: string; value: number; source: string } | null>;
}

describe('full coverage', () => {
  const clock = shiftedClock();
  let t: TestGateway;
  beforeAll(async () => {
    // Everything for 20 assets is estimated above the default cost limit (50): this test is about coverage.
    t = await startTestGateway({
      env: { MARKETGRAPH_TTL_PRICE_MS: '300', MARKETGRAPH_MAX_COST: '200' },
      now: clock.now,
    });
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers 20 assets with prices, quotes, candles, signals and chain metrics, one call per provider per batch', async () => {
    for (const id of TWENTY) expect(t.sandbox.market.byId(id), id).toBeDefined();
    // The asset registry (catalogues and id maps, refreshed hourly) is warm in any running gateway;
    // what this test counts is the per-query batching.
    await t.query('{ asset(symbol: "BTC") { id } }');
    await Promise.all([
      t.gateway.services.registry.coincapId('bitcoin'),
      t.gateway.services.registry.tokenMetricsIds(TWENTY),
    ]);
    t.sandbox.resetCounts();
    const res = await t.query<{ assets: { edges: Array<{ node: Row }> } }>(
      `query ($ids: [ID!]) {
        assets(ids: $ids, first: 20) { edges { node {
          id
          price { value source }
          quotes { source value }
          candles(interval: D1, first: 30) { edges { node { openTime close } } }
          signals { kind direction strength source rationale }
          onChainMetrics { kind value source }
        } } }
      }`,
      { ids: TWENTY },
    );
    expect(res.body.errors).toBeUndefined();
    const rows = res.body.data!.assets.edges.map((e) => e.node);
    expect(rows.map((r) => r.id)).toEqual(TWENTY);
    for (const row of rows) {
      expect(row.price!.value, row.id).toBeGreaterThan(0);
      const sources = new Set(row.quotes.map((q) => q!.source));
      expect(sources.size, `quote providers for ${row.id}`).toBeGreaterThanOrEqual(2);
      expect(row.candles.edges, row.id).toHaveLength(30);
      const kinds = row.signals.map((s) => s!.kind);
      expect(kinds, row.id).toEqual(
        expect.arrayContaining([
          'SMA_CROSSOVER',
          'RSI',
          'MACD_CROSSOVER',
          'RANGE_BREAKOUT',
          'VOLATILITY_REGIME',
        ]),
      );
      for (const s of row.signals) {
        expect(s!.strength).toBeGreaterThanOrEqual(0);
        expect(s!.strength).toBeLessThanOrEqual(1);
        expect(s!.rationale.length).toBeGreaterThan(10);
      }
    }
    // Token Metrics (keyed, on in the sandbox profile) adds its signals where it covers the asset.
    expect(rows[0]!.signals.some((s) => s!.source === 'TOKENMETRICS')).toBe(true);
    const btc = rows[0]!.onChainMetrics.map((m) => m!.kind);
    expect(btc).toEqual(
      expect.arrayContaining([
        'FEE_FASTEST',
        'HASHRATE',
        'BLOCK_HEIGHT',
        'MEMPOOL_SIZE',
        'NEXT_DIFFICULTY_ADJUSTMENT',
        'TVL',
      ]),
    );
    const eth = rows[1]!.onChainMetrics.map((m) => m!.kind);
    expect(eth).toEqual(expect.arrayContaining(['GAS_PROPOSE', 'TVL']));
    expect(rows.find((r) => r.id === 'chainlink')!.onChainMetrics).toEqual([]);

    // Batching: every batchable endpoint is called at most once for the whole query. Klines serve one
    // symbol per call and chain TVL history one chain per call, so those are at most one per asset/chain.
    const perAsset = new Set(['klines', 'v2/historicalChainTvl']);
    for (const [provider, endpoints] of Object.entries(t.sandbox.counts())) {
      for (const [endpoint, n] of Object.entries(endpoints)) {
        const limit = perAsset.has(endpoint) ? TWENTY.length : 1;
        expect(n, `${provider} ${endpoint}`).toBeLessThanOrEqual(limit);
      }
    }
    expect(t.sandbox.count('binance', 'klines')).toBeGreaterThan(0);
  });

  it('gives the median across providers with its spread', async () => {
    const res = await t.query<{
      asset: {
        median: { value: number; spread: number; sources: string[]; source: string };
        quotes: Array<{ value: number }>;
      };
    }>(
      '{ asset(id: "bitcoin") { median: price(aggregate: MEDIAN) { value spread sources source } quotes { value } } }',
    );
    expect(res.body.errors).toBeUndefined();
    const { median, quotes } = res.body.data!.asset;
    expect(median.source).toBe('COMPUTED');
    expect(median.sources.length).toBeGreaterThanOrEqual(3);
    const values = quotes.map((q) => q.value).sort((a, b) => a - b);
    expect(median.value).toBeGreaterThanOrEqual(values[0]!);
    expect(median.value).toBeLessThanOrEqual(values.at(-1)!);
    expect(median.spread).toBeCloseTo(((values.at(-1)! - values[0]!) / median.value) * 100, 6);
  });

  it('converts USD-only providers into other currencies and BTC', async () => {
    const res = await t.query<{
      asset: { usd: { value: number }; eur: { value: number; source: string }; btc: { value: number } };
    }>(
      '{ asset(id: "ethereum") { usd: price(source: BINANCE) { value } eur: price(currency: EUR, source: BINANCE) { value source } btc: price(currency: BTC, source: COINCAP) { value } } }',
    );
    expect(res.body.errors).toBeUndefined();
    const { usd, eur, btc } = res.body.data!.asset;
    expect(eur.source).toBe('BINANCE');
    expect(eur.value / usd.value).toBeGreaterThan(0.8);
    expect(eur.value / usd.value).toBeLessThan(1);
    const truth =
      t.sandbox.market.priceUsd('ethereum', Date.now()) / t.sandbox.market.priceUsd('bitcoin', Date.now());
    expect(Math.abs(btc.value / truth - 1)).toBeLessThan(0.02);
  });

  it('fails over to another provider when CoinGecko is down, and says so', async () => {
    // Warm the metadata (registry, asset info) as any running gateway has it, then stop CoinGecko.
    await t.query(
      '{ asset(symbol: "ETH") { id } assets(ids: ["bitcoin", "ethereum", "solana"]) { edges { node { id } } } }',
    );
    clock.advance(700); // prices (TTL 300 ms) are now past 2 × TTL, on the gateway's clock
    t.sandbox.faults.set('coingecko', '*', { kind: 'down' });
    try {
      const res = await t.query<{
        assets: {
          edges: Array<{ node: { id: string; price: { value: number; source: string; stale: boolean } } }>;
        };
      }>(
        '{ assets(ids: ["bitcoin", "ethereum", "solana"]) { edges { node { id price { value source stale } } } } }',
      );
      expect(res.body.errors).toBeUndefined();
      for (const { node } of res.body.data!.assets.edges) {
        expect(node.price.source).not.toBe('COINGECKO');
        expect(node.price.stale).toBe(false);
        const truth = t.sandbox.market.priceUsd(node.id, Date.now());
        expect(Math.abs(node.price.value / truth - 1)).toBeLessThan(0.01);
      }
      const sources = await t.query<{ sources: Array<{ name: string; healthy: boolean }> }>(
        '{ sources { name healthy } }',
      );
      expect(sources.body.data!.sources.map((s) => s.name)).toEqual(
        expect.arrayContaining([
          'coingecko',
          'binance',
          'defillama',
          'mempool',
          'tokenmetrics',
          'coincap',
          'etherscan',
        ]),
      );
    } finally {
      t.sandbox.faults.clear();
    }
  });

  it('assembles 2160 contiguous H1 candles for 90 days from at least 3 provider calls', async () => {
    t.sandbox.resetCounts();
    const from = new Date(Date.now() - 90 * 86_400_000).toISOString();
    const res = await t.query<{
      asset: {
        candles: { edges: Array<{ node: { openTime: string; closeTime: string } }>; gaps: unknown[] };
      };
    }>(
      `{ asset(id: "bitcoin") { candles(interval: H1, from: "${from}", first: 1000) { edges { node { openTime closeTime } } gaps { from to } } } }`,
    );
    expect(res.body.errors).toBeUndefined();
    // first page: 1000; the window holds 2160 (+1 when `from` is not on an hour boundary).
    expect(res.body.data!.asset.candles.edges).toHaveLength(1000);
    const all: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: {
        body: {
          data?: {
            asset: {
              candles: {
                edges: Array<{ cursor: string; node: { openTime: string } }>;
                pageInfo: { hasNextPage: boolean; endCursor: string };
              };
            };
          };
        };
      } = await t.query(
        `query ($after: String) { asset(id: "bitcoin") { candles(interval: H1, from: "${from}", first: 1000, after: $after) { edges { cursor node { openTime } } pageInfo { hasNextPage endCursor } } } }`,
        { after },
      );
      const c = page.body.data!.asset.candles;
      all.push(...c.edges.map((e) => e.node.openTime));
      if (!c.pageInfo.hasNextPage) break;
      after = c.pageInfo.endCursor;
    }
    expect(all.length).toBeGreaterThanOrEqual(2160);
    expect(all.length).toBeLessThanOrEqual(2161);
    const times = all.map((x) => Date.parse(x));
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBe(3_600_000);
    expect(res.body.data!.asset.candles.gaps).toEqual([]);
    expect(t.sandbox.count('binance', 'klines')).toBeGreaterThanOrEqual(3);
  });

  it('resolves assets by contract and lists same-symbol alternatives', async () => {
    const res = await t.query<{
      usdt: { id: string };
      beam: { id: string; sameSymbol: Array<{ id: string }> };
    }>(
      `{ usdt: asset(contract: { chain: "ethereum", address: "0xDAC17F958D2EE523A2206206994597C13D831EC7" }) { id }
         beam: asset(symbol: "BEAM") { id sameSymbol { id } } }`,
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.usdt.id).toBe('tether');
    expect(res.body.data!.beam.id).toBe('beam-2');
    expect(res.body.data!.beam.sameSymbol.map((a) => a.id)).toEqual(['beam']);
  });

  it('serves on-chain metrics per chain with units and history, and stablecoin supply', async () => {
    const res = await t.query<{
      btc: Array<{ kind: string; unit: string; history: unknown[] | null }>;
      all: Array<{ kind: string; value: number }>;
    }>(
      '{ btc: onChainMetrics(chain: "bitcoin", kinds: [HASHRATE, FEE_FASTEST]) { kind unit history { at value } } all: onChainMetrics(chain: "all") { kind value } }',
    );
    expect(res.body.errors).toBeUndefined();
    const byKind = Object.fromEntries(res.body.data!.btc.map((m) => [m.kind, m]));
    expect(Object.keys(byKind).sort()).toEqual(['FEE_FASTEST', 'HASHRATE']);
    expect(byKind.HASHRATE!.unit).toBe('H/s');
    expect(byKind.HASHRATE!.history!.length).toBeGreaterThan(10);
    expect(byKind.FEE_FASTEST!.unit).toBe('sat/vB');
    expect(res.body.data!.all.map((m) => m.kind)).toEqual(
      expect.arrayContaining(['TVL', 'STABLECOIN_SUPPLY']),
    );
  });

  it('serves a protocol TVL with history, and NOT_FOUND for an unknown protocol', async () => {
    const res = await t.query<{
      lido: { kind: string; unit: string; value: number; source: string; history: unknown[] } | null;
      nope: unknown;
    }>(
      '{ lido: protocolTvl(slug: "lido") { kind unit value source history { at value } } nope: protocolTvl(slug: "no-such-protocol") { value } }',
    );
    expect(res.body.data!.lido).toMatchObject({ kind: 'PROTOCOL_TVL', unit: 'USD', source: 'DEFILLAMA' });
    expect(res.body.data!.lido!.value).toBeGreaterThan(0);
    expect(res.body.data!.lido!.history.length).toBeGreaterThan(30);
    expect(res.body.data!.nope).toBeNull();
    expect(res.body.errors!.map((e) => e.extensions!.code)).toEqual(['NOT_FOUND']);
  });
});
