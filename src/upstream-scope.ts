import type { Cache } from './cache.js';
import { type CandleService, createCandleService } from './candles.js';
import type { Config } from './config.js';
import { createFx, type Fx } from './fx.js';
import type { UpstreamBudget } from './http/budget.js';
import { createLoaders, type Loaders } from './loaders.js';
import { createOnChainService, type OnChainService } from './onchain.js';
import { createQuoteAdapters, type QuoteProvider } from './quotes.js';
import type { AssetRegistry } from './registry.js';
import { fetchTokenMetricsSignals } from './signals/provider-signals.js';
import type { Sources } from './sources/index.js';

// The services that call providers, built over one set of sources: the process's own once (live feeds,
// no budget), or a request's over http.forRequest(budget), so every call they make is made for, and
// counted against, the request that asked. Building a scope makes no call and holds no data: it is a
// handful of closures over the process-wide cache, registry and connection pool.
// The asset registry stays process-wide (its catalogues are fetched at most once per metadata TTL,
// whoever asks), so its calls are not attributed to a request.

export interface UpstreamScope {
  sources: Sources;
  candles: CandleService;
  fx: Fx;
  onchain: OnChainService;
  /** A fresh set of DataLoaders over this scope (never shared between requests). */
  newLoaders(): Loaders;
}

export function createUpstreamScope(deps: {
  config: Config;
  cache: Cache;
  sources: Sources;
  registry: AssetRegistry;
  /** Provider preference for AUTO prices right now (health and quota aware). */
  quoteOrder: () => QuoteProvider[];
  budget?: UpstreamBudget;
}): UpstreamScope {
  const { config, cache, sources, registry, budget } = deps;
  const candles = createCandleService({ config, sources, registry, budget });
  const fx = createFx({ config, cache, sources });
  const quotes = createQuoteAdapters({ sources, registry, fx });
  const onchain = createOnChainService({ config, cache, sources });
  return {
    sources,
    candles,
    fx,
    onchain,
    newLoaders: () =>
      createLoaders({
        config,
        cache,
        sources,
        fetchCandles: (key) => candles.fetch(key),
        quotes,
        quoteOrder: deps.quoteOrder,
        fetchProviderSignals: (assetIds) => fetchTokenMetricsSignals({ config, sources, registry }, assetIds),
        budget,
      }),
  };
}
