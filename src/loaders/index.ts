import type { Cache } from '../cache.js';
import type { Config } from '../config.js';
import type { UpstreamBudget } from '../http/budget.js';
import type { ProviderAbsences } from '../market/absences.js';
import type { CandleKey } from '../market/keys.js';
import type { Candle, Signal } from '../market/model.js';
import type { QuoteAdapter, QuoteProvider } from '../market/quotes.js';
import type { AssetRegistry } from '../market/registry.js';
import type { Sources } from '../sources/index.js';
import { type CandleLoader, createCandleLoader } from './candles.js';
import { createMarketLoaders, type MarketLoaders } from './markets.js';
import { createPriceLoader, createQuoteLoader, type PriceLoader, type QuoteLoader } from './prices.js';
import { createProviderSignalLoader, type ProviderSignalLoader } from './signals.js';

// One DataLoader per batchable upstream call, created fresh for every request (a DataLoader memoizes
// for its whole life, which must not outlive a request). Each batch function reads the shared cache
// first and sends only the misses upstream (the sources split them at the provider's real per-call
// limit); results go back in key order, missing keys as Error values (the DataLoader contract). Keys
// are objects (src/market/keys.ts), each type with one cacheKeyFn.
// With a request's budget, a key whose shared in-flight fetch (singleflight) was refused by another
// request's budget is asked for again, once, on this request's own budget: one request's limits never
// cost another request its fields (loaders/shared.ts).

export type { CandleKey, MarketKey, MarketsPageKey, PriceKey, QuoteKey } from '../market/keys.js';
export { MARKETS_PAGE_SIZE } from '../market/keys.js';
export type { MarketRow } from '../market/markets-pages.js';

export interface Loaders extends MarketLoaders {
  /** One provider's quote. */
  quote: QuoteLoader;
  /** The AUTO price: the first healthy provider that quotes the asset (asks `quote`). */
  price: PriceLoader;
  /** Provider-published signals (Token Metrics) per asset; [] when no provider covers it. */
  providerSignals: ProviderSignalLoader;
  candles: CandleLoader;
}

export interface LoaderDeps {
  config: Config;
  cache: Cache;
  sources: Sources;
  /** Assembles a candle window from whichever providers can serve it (src/market/candles.ts). */
  fetchCandles: (key: CandleKey) => Promise<Candle[]>;
  /** Spot-quote adapters, asked for on cache misses only. */
  quotes: () => Record<QuoteProvider, QuoteAdapter>;
  /** Provider preference for AUTO prices right now (health and quota aware). */
  quoteOrder: () => QuoteProvider[];
  /** What each provider was seen not to list (process-wide, see market/absences.ts). */
  absences: ProviderAbsences;
  /** The providers' catalogues (asset identity when the markets call cannot give it). */
  identity: Pick<AssetRegistry, 'lookup'>;
  /** Signals keyed providers publish, for a batch of assets (one call per provider endpoint). */
  fetchProviderSignals: (assetIds: string[]) => Promise<Map<string, Signal[]>>;
  /** The request's upstream budget, which the sources and fetchCandles above spend; none outside requests. */
  budget?: UpstreamBudget;
}

export function createLoaders(deps: LoaderDeps): Loaders {
  const quote = createQuoteLoader(deps);
  return {
    ...createMarketLoaders(deps),
    quote,
    price: createPriceLoader({ quote, quoteOrder: deps.quoteOrder }),
    candles: createCandleLoader(deps),
    providerSignals: createProviderSignalLoader(deps),
  };
}
