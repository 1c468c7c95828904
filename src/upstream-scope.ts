import type { Cache } from './cache.js';
import type { Config } from './config.js';
import type { UpstreamBudget } from './http/budget.js';
import { createLoaders, type Loaders } from './loaders/index.js';
import type { ProviderAbsences } from './market/absences.js';
import { type CandleService, createCandleService } from './market/candles.js';
import { createFx, type Fx } from './market/fx.js';
import { createOnChainService, type OnChainService } from './market/onchain.js';
import { createQuoteAdapters, type QuoteAdapter, type QuoteProvider } from './market/quotes.js';
import type { AssetRegistry } from './market/registry.js';
import { createPriceHistory, type PriceHistory } from './price-history.js';
import { fetchTokenMetricsSignals } from './signals/provider-signals.js';
import type { Sources } from './sources/index.js';

// The services that call providers, built over one set of sources: the process's own once (live feeds,
// no budget), or a request's over http.forRequest(budget), so every call they make is made for, and
// counted against, the request that asked. A scope makes no call and holds no data: it is closures over
// the process-wide cache, registry and connection pool, each built on first use, so a request served
// from the cache builds its loaders and little else. (A class, for the same reason: one per request.)
// The asset registry stays process-wide (its catalogues are fetched at most once per metadata TTL,
// whoever asks), so its calls are not attributed to a request.

export interface UpstreamScopeDeps {
  config: Config;
  cache: Cache;
  sources: Sources;
  registry: AssetRegistry;
  /** What each quote provider was seen not to list: process-wide, outside any request's cache view. */
  absences: ProviderAbsences;
  /** Provider preference for AUTO prices right now (health and quota aware). */
  quoteOrder: () => QuoteProvider[];
  budget?: UpstreamBudget;
}

export interface UpstreamScope {
  readonly sources: Sources;
  readonly candles: CandleService;
  readonly fx: Fx;
  readonly onchain: OnChainService;
  readonly priceHistory: PriceHistory;
  /** A fresh set of DataLoaders over this scope (never shared between requests). */
  newLoaders(): Loaders;
}

export function createUpstreamScope(deps: UpstreamScopeDeps): UpstreamScope {
  return new Scope(deps);
}

class Scope implements UpstreamScope {
  private candleService: CandleService | undefined;
  private fxService: Fx | undefined;
  private onchainService: OnChainService | undefined;
  private priceHistoryService: PriceHistory | undefined;
  private quoteAdapters: Record<QuoteProvider, QuoteAdapter> | undefined;

  constructor(private readonly deps: UpstreamScopeDeps) {}

  get sources(): Sources {
    return this.deps.sources;
  }
  get candles(): CandleService {
    this.candleService ??= createCandleService(this.deps);
    return this.candleService;
  }
  get fx(): Fx {
    this.fxService ??= createFx(this.deps);
    return this.fxService;
  }
  get onchain(): OnChainService {
    this.onchainService ??= createOnChainService(this.deps);
    return this.onchainService;
  }
  get priceHistory(): PriceHistory {
    this.priceHistoryService ??= createPriceHistory(this.deps);
    return this.priceHistoryService;
  }
  /** Read by the loaders only for cache misses. */
  get quotes(): Record<QuoteProvider, QuoteAdapter> {
    this.quoteAdapters ??= createQuoteAdapters({ ...this.deps, fx: this.fx });
    return this.quoteAdapters;
  }

  newLoaders(): Loaders {
    const { config, cache, sources, registry, budget, quoteOrder, absences } = this.deps;
    return createLoaders({
      config,
      cache,
      sources,
      fetchCandles: (key) => this.candles.fetch(key),
      quotes: () => this.quotes,
      quoteOrder,
      identity: registry,
      absences,
      fetchProviderSignals: (assetIds) => fetchTokenMetricsSignals({ config, sources, registry }, assetIds),
      budget,
    });
  }
}
