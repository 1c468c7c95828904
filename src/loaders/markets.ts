import DataLoader from 'dataloader';
import type { Cache, Cached, FetchResult } from '../cache.js';
import type { Config } from '../config.js';
import { notFound } from '../errors.js';
import type { UpstreamBudget } from '../http/budget.js';
import {
  type MarketKey,
  type MarketsPageKey,
  marketKey,
  marketsPageKey,
  type QuoteKey,
  quoteKey,
} from '../market/keys.js';
import { fetchMarketsPage, type MarketRow, marketsPageCache } from '../market/markets-pages.js';
import type { AssetInfo, MarketData, Price } from '../market/model.js';
import type { Sources } from '../sources/index.js';
import { groupBy, ownView, unwrap } from './shared.js';

// Asset metadata, market data and ranking pages: all from CoinGecko's coins/markets, whose rows carry
// an asset, its market data and its price at once. Whatever a markets call returns is kept under every
// namespace it answers (asset, market, and CoinGecko's quote, the latter only where nothing fresher is
// held), so a later field of the same assets costs no call of its own.

export interface MarketLoaders {
  asset: DataLoader<string, Cached<AssetInfo>>;
  market: DataLoader<MarketKey, Cached<MarketData>, string>;
  marketsPage: DataLoader<MarketsPageKey, Cached<MarketRow[]>, string>;
}

export interface MarketLoaderDeps {
  config: Config;
  cache: Cache;
  sources: Sources;
  budget?: UpstreamBudget;
}

export function createMarketLoaders(deps: MarketLoaderDeps): MarketLoaders {
  const { config, cache, sources, budget } = deps;
  const ttl = config.cache.ttl;
  const assets = ownView(cache.namespace<AssetInfo>('asset', ttl.metadata), budget);
  const markets = ownView(cache.namespace<MarketData>('market', ttl.market), budget);
  const quotes = ownView(cache.namespace<Price>('quote', ttl.price), budget);
  const pages = ownView(marketsPageCache(cache, config), budget);
  const cg = sources.coingecko;

  /** Keeps what a markets call returned under the asset, market and (CoinGecko) quote namespaces. */
  async function keepMarkets(rows: MarketRow[], currency: string) {
    const quote = (assetId: string): QuoteKey => ({ provider: 'coingecko', currency, assetId });
    await Promise.all([
      assets.prime(new Map(rows.map((r) => [r.asset.id, r.asset]))),
      markets.prime(new Map(rows.map((r) => [marketKey({ currency, assetId: r.asset.id }), r.market]))),
      quotes.fill(new Map(rows.map((r) => [quoteKey(quote(r.asset.id)), priceOf(r.market)]))),
    ]);
  }

  async function fetchMarkets(ids: string[], currency: string) {
    const rows = await cg.markets(ids, currency);
    await keepMarkets(rows, currency);
    return rows;
  }

  const asset = new DataLoader<string, Cached<AssetInfo>>(async (ids) =>
    unwrap(
      await assets.getMany(
        ids,
        async (missing) => {
          const rows = await fetchMarkets(missing, 'usd');
          return new Map(rows.map((r) => [r.asset.id, r.asset]));
        },
        (id) => notFound('asset', id),
      ),
    ),
  );

  const market = new DataLoader<MarketKey, Cached<MarketData>, string>(
    async (keys) => {
      const byString = new Map(keys.map((k) => [marketKey(k), k]));
      return unwrap(
        await markets.getMany(
          keys.map(marketKey),
          async (missing) => {
            const out: FetchResult<MarketData> = new Map();
            const wanted = missing.map((s) => byString.get(s)!);
            for (const [currency, group] of groupBy(wanted, (k) => k.currency)) {
              const rows = await fetchMarkets(
                group.map((k) => k.assetId),
                currency,
              );
              for (const row of rows) out.set(marketKey({ currency, assetId: row.asset.id }), row.market);
            }
            return out;
          },
          (s) => notFound('asset', byString.get(s)!.assetId),
        ),
      );
    },
    { cacheKeyFn: marketKey },
  );

  const marketsPage = new DataLoader<MarketsPageKey, Cached<MarketRow[]>, string>(
    async (keys) => {
      const byString = new Map(keys.map((k) => [marketsPageKey(k), k]));
      return unwrap(
        await pages.getMany(
          keys.map(marketsPageKey),
          async (missing) => {
            const out: FetchResult<MarketRow[]> = new Map();
            await Promise.all(
              missing.map(async (s) => {
                const key = byString.get(s)!;
                const rows = await fetchMarketsPage(sources, key);
                await keepMarkets(rows, key.currency);
                out.set(s, rows);
              }),
            );
            return out;
          },
          (s) => notFound('markets page', s),
        ),
      );
    },
    { cacheKeyFn: marketsPageKey },
  );

  return { asset, market, marketsPage };
}

/** The quote a markets row carries: CoinGecko's price, as simple/price would give it. */
function priceOf(m: MarketData): Price {
  return {
    assetId: m.assetId,
    currency: m.currency,
    value: m.price,
    change24h: m.change24h,
    asOf: m.asOf,
    source: 'coingecko',
    stale: false,
  };
}
