import { afterEach, describe, expect, it } from 'vitest';
import type { Cache } from '../../src/cache.js';
import { createMarketLoaders } from '../../src/loaders/markets.js';
import { createQuoteLoader } from '../../src/loaders/prices.js';
import { createAbsences } from '../../src/market/absences.js';
import { quoteKey } from '../../src/market/keys.js';
import type { QuoteAdapter, QuoteProvider } from '../../src/market/quotes.js';
import type { Sources } from '../../src/sources/index.js';
import { recordCalls } from '../helpers/batches.js';
import { loaderConfig, row, testCache } from './helpers.js';

// Batching of the markets loaders (asset, market, marketsPage), recorded at the CoinGecko source, and
// what a markets call leaves in the cache for other loaders: CoinGecko's quotes among them.

const config = loaderConfig();
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
});

function setUp() {
  const clock = testCache(config);
  close = () => clock.cache.close();
  const asOf = new Date(clock.now());
  let failing = 0;
  const markets = recordCalls(async (ids: readonly string[], currency: string) => {
    if (failing > 0) {
      failing -= 1;
      throw new Error('coins/markets: HTTP 503');
    }
    return ids.filter((id) => id !== 'unknown').map((id, i) => row(id, currency, 100 + i, asOf));
  });
  const topMarkets = recordCalls(async (currency: string, _page: number, _perPage: number, _order?: string) =>
    ['bitcoin', 'ethereum', 'solana'].map((id, i) => row(id, currency, 1000 * (i + 1), asOf)),
  );
  const sources = { coingecko: { markets: markets.fn, topMarkets: topMarkets.fn } } as unknown as Sources;
  // A catalogue that lists nothing the markets calls do not: the fallback is tested in test/gateway/identity.test.ts.
  const identity = { lookup: async (ids: readonly string[]) => new Map(ids.map((id) => [id, undefined])) };
  const absences = createAbsences(clock.cache, config);
  const loaders = () => createMarketLoaders({ config, cache: clock.cache, sources, identity, absences });
  const failNext = (n: number) => {
    failing = n;
  };
  return { clock, markets, topMarkets, loaders, sources, failNext };
}

/** A quote loader over `cache` whose CoinGecko adapter records its calls (and answers nothing). */
function quoteLoaderOver(cache: Cache) {
  const fetch = recordCalls(async (_ids: string[], _currency: string) => new Map());
  const adapters = { coingecko: { provider: 'coingecko', fetch: fetch.fn } } as unknown as Record<
    QuoteProvider,
    QuoteAdapter
  >;
  const quote = createQuoteLoader({
    config,
    cache,
    quotes: () => adapters,
    absences: createAbsences(cache, config),
  });
  return { quote, fetch };
}

describe('asset loader', () => {
  it('sends one markets call per batch with the distinct ids, and none for what the cache holds', async () => {
    const { markets, loaders } = setUp();
    const first = loaders();
    const got = await Promise.all([
      first.asset.load('bitcoin'),
      first.asset.load('ethereum'),
      first.asset.load('bitcoin'),
    ]);
    expect(got.map((c) => c.value.id)).toEqual(['bitcoin', 'ethereum', 'bitcoin']);
    expect(markets.calls).toEqual([[['bitcoin', 'ethereum'], 'usd']]);

    const next = loaders();
    await next.asset.loadMany(['bitcoin', 'ethereum']);
    expect(markets.calls).toHaveLength(1);
  });

  it('answers an id the provider does not list with NOT_FOUND, the others with their values', async () => {
    const { loaders } = setUp();
    const [found, missing] = await loaders().asset.loadMany(['bitcoin', 'unknown']);
    expect(found).toMatchObject({ value: { id: 'bitcoin' } });
    expect(missing).toBeInstanceOf(Error);
    expect((missing as { extensions?: { code?: string } }).extensions?.code).toBe('NOT_FOUND');
  });

  it('asks about an id the markets call left out once per metadata TTL, and keeps answering NOT_FOUND', async () => {
    const { loaders, markets, clock } = setUp();
    for (let i = 0; i < 5; i += 1) {
      const [missing] = await loaders().asset.loadMany(['unknown']);
      expect((missing as { extensions?: { code?: string } }).extensions?.code).toBe('NOT_FOUND');
    }
    expect(markets.calls).toEqual([[['unknown'], 'usd']]);
    // Known ids in the same batch are still asked for; the absent one is not.
    await loaders().asset.loadMany(['unknown', 'solana']);
    expect(markets.calls.at(-1)).toEqual([['solana'], 'usd']);
    clock.advance(config.cache.ttl.metadata);
    await loaders().asset.loadMany(['unknown']);
    expect(markets.calls.at(-1)).toEqual([['unknown'], 'usd']);
  });

  it('never remembers a failed markets call as an absence', async () => {
    const { loaders, markets, failNext } = setUp();
    failNext(1);
    const [failed] = await loaders().asset.loadMany(['solana']);
    expect(failed).toBeInstanceOf(Error);
    expect((failed as { extensions?: { code?: string } }).extensions?.code).not.toBe('NOT_FOUND');
    const [found] = await loaders().asset.loadMany(['solana']);
    expect(found).toMatchObject({ value: { id: 'solana' } });
    expect(markets.calls).toEqual([
      [['solana'], 'usd'],
      [['solana'], 'usd'],
    ]);
  });
});

describe('market loader', () => {
  it('groups one batch by currency: one markets call per currency', async () => {
    const { markets, loaders } = setUp();
    const l = loaders();
    await Promise.all([
      l.market.load({ currency: 'usd', assetId: 'bitcoin' }),
      l.market.load({ currency: 'eur', assetId: 'ethereum' }),
      l.market.load({ currency: 'usd', assetId: 'solana' }),
      l.market.load({ currency: 'usd', assetId: 'bitcoin' }),
    ]);
    expect(markets.calls).toEqual([
      [['bitcoin', 'solana'], 'usd'],
      [['ethereum'], 'eur'],
    ]);
  });
});

describe('marketsPage loader', () => {
  it('fetches one page once per batch, and fills the CoinGecko quote cache from its rows', async () => {
    const { topMarkets, loaders, clock } = setUp();
    const l = loaders();
    const key = { order: 'market_cap_desc', currency: 'usd', page: 1 };
    const [a, b] = await Promise.all([l.marketsPage.load(key), l.marketsPage.load({ ...key })]);
    expect(a.value).toHaveLength(3);
    expect(b).toBe(a);
    expect(topMarkets.calls).toEqual([['usd', 1, 250, 'market_cap_desc', undefined]]);

    const { quote, fetch } = quoteLoaderOver(clock.cache);
    const q = await quote.load({ provider: 'coingecko', currency: 'usd', assetId: 'ethereum' });
    expect(q.value).toMatchObject({ assetId: 'ethereum', value: 2000, source: 'coingecko', change24h: 1.5 });
    expect(fetch.calls).toEqual([]);
  });

  it('fills only quotes that are missing or past their TTL: a fresher quote is kept', async () => {
    const { loaders, clock } = setUp();
    const quotes = clock.cache.namespace<{ value: number }>('quote', config.cache.ttl.price);
    await quotes.prime(
      new Map([[quoteKey({ provider: 'coingecko', currency: 'usd', assetId: 'bitcoin' }), { value: 1 }]]),
    );
    await quotes.prime(
      new Map([[quoteKey({ provider: 'coingecko', currency: 'usd', assetId: 'solana' }), { value: 3 }]]),
      clock.now() - config.cache.ttl.price - 1,
    );
    await loaders().marketsPage.load({ order: 'market_cap_desc', currency: 'usd', page: 1 });

    const { quote, fetch } = quoteLoaderOver(clock.cache);
    const [btc, sol] = await quote.loadMany([
      { provider: 'coingecko', currency: 'usd', assetId: 'bitcoin' },
      { provider: 'coingecko', currency: 'usd', assetId: 'solana' },
    ]);
    expect((btc as { value: { value: number } }).value.value).toBe(1);
    expect((sol as { value: { value: number } }).value.value).toBe(3000);
    expect(fetch.calls).toEqual([]);
  });
});
