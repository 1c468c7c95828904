import type { QuoteProvider } from './providers.js';

// The keys of the market data the gateway caches and batches, as objects. Each key type has one
// function that turns it into the string the cache stores it under (and DataLoader memoizes it by);
// nothing takes such a string apart again: a batch keeps the key objects it was given.

/** One asset's market data in one currency. */
export interface MarketKey {
  assetId: string;
  currency: string;
}

/** The AUTO price of one asset in one currency (the first healthy provider's quote). */
export type PriceKey = MarketKey;

/** One provider's quote of one asset in one currency. */
export interface QuoteKey {
  provider: QuoteProvider;
  assetId: string;
  currency: string;
}

/** A page of the market ranking (CoinGecko's order names). */
export interface MarketsPageKey {
  order: string;
  currency: string;
  page: number;
  /** Rank only this category's assets (a category id from the registry's categories()). */
  category?: string;
}

/** A candle window [from, to) of one asset, interval and currency (epoch ms). */
export interface CandleKey {
  assetId: string;
  interval: string;
  from: number;
  to: number;
  currency: string;
}

/** Rows per markets page (CoinGecko's maximum per_page). */
export const MARKETS_PAGE_SIZE = 250;

/** The first ranking page by market cap in USD: the one the registry reads its ranks from too. */
export const TOP_MARKETS_PAGE: MarketsPageKey = { order: 'market_cap_desc', currency: 'usd', page: 1 };

export const marketKey = (k: MarketKey): string => join(k.currency, k.assetId);
export const priceKey: (k: PriceKey) => string = marketKey;
export const quoteKey = (k: QuoteKey): string => join(k.provider, k.currency, k.assetId);
export const marketsPageKey = (k: MarketsPageKey): string =>
  k.category ? join(k.order, k.currency, k.page, k.category) : join(k.order, k.currency, k.page);
export const candleKey = (k: CandleKey): string => join(k.assetId, k.interval, k.currency, k.from, k.to);
/** Windows that may be merged into one fetch share this (see loaders/candles.ts). */
export const candleSeriesKey = (k: CandleKey): string => join(k.assetId, k.interval, k.currency);

function join(...parts: Array<string | number>): string {
  return parts.join(':');
}
