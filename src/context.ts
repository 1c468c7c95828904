import type { YogaInitialContext } from 'graphql-yoga';
import type { Cache } from './cache.js';
import type { CandleService } from './candles.js';
import type { Config } from './config.js';
import type { Http } from './http.js';
import type { PriceFeed } from './live/price-feed.js';
import { createLoaders, type Loaders } from './loaders.js';
import type { OnChainService } from './onchain.js';
import type { AssetRegistry } from './registry.js';
import type { SignalService } from './signals/service.js';
import type { Sources } from './sources/index.js';

// Per-process services and per-request loaders. Services are built once by createGateway; loaders are
// built for every request so their memoization never outlives it.

export interface Services {
  config: Config;
  cache: Cache;
  http: Http;
  sources: Sources;
  registry: AssetRegistry;
  priceFeed: PriceFeed;
  candles: CandleService;
  signals: SignalService;
  onchain: OnChainService;
}

/** What marketgraph adds to Yoga's initial context. */
export interface AppContext {
  services: Services;
  loaders: Loaders;
}

export type Context = YogaInitialContext & AppContext;

export function createContext(services: Services): AppContext {
  return {
    services,
    loaders: createLoaders({
      config: services.config,
      cache: services.cache,
      sources: services.sources,
      fetchCandles: (key) => services.candles.fetch(key),
    }),
  };
}
