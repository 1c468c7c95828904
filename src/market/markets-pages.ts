import type { Cache, CacheNamespace } from '../cache.js';
import type { Config } from '../config.js';
import type { Sources } from '../sources/index.js';
import { MARKETS_PAGE_SIZE, type MarketsPageKey } from './keys.js';
import type { AssetInfo, MarketData } from './model.js';

// Pages of the market ranking, cached under one namespace whoever reads them: the assets connection
// (loaders/markets.ts) and the registry's ranks (registry.ts) share the first page, and its fetch.

export interface MarketRow {
  asset: AssetInfo;
  market: MarketData;
}

export function marketsPageCache(cache: Cache, config: Config): CacheNamespace<MarketRow[]> {
  return cache.namespace<MarketRow[]>('markets-page', config.cache.ttl.market);
}

export function fetchMarketsPage(sources: Sources, key: MarketsPageKey): Promise<MarketRow[]> {
  return sources.coingecko.topMarkets(key.currency, key.page, MARKETS_PAGE_SIZE, key.order, key.category);
}
