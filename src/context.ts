import type { YogaInitialContext } from 'graphql-yoga';
import type { Cache } from './cache.js';
import type { CandleService } from './candles.js';
import type { Config } from './config.js';
import type { Freshness } from './freshness.js';
import type { Fx } from './fx.js';
import type { Http } from './http.js';
import type { Live } from './live/live.js';
import type { PriceFeed } from './live/price-feed.js';
import type { Loaders } from './loaders.js';
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
  /** Live feeds (metrics, signals), their upstreams and stats. */
  live: Live;
  candles: CandleService;
  signals: SignalService;
  onchain: OnChainService;
  fx: Fx;
  /**
   * A fresh set of DataLoaders (never shared between requests). With `freshness`, they read through
   * its recording view of the cache and report the process state they depend on.
   */
  newLoaders: (freshness?: Freshness) => Loaders;
}

/** What marketgraph adds to Yoga's initial context. */
export interface AppContext {
  services: Services;
  loaders: Loaders;
  /** Present when the response cache may store this execution's answer (src/response-cache.ts). */
  freshness?: Freshness;
}

export type Context = YogaInitialContext & AppContext;

/**
 * With `freshness`, the loaders read through a view that records the freshness of every value, and
 * any direct use of a per-process service other than config makes the answer unstorable: those
 * services (registry, on-chain, signals, provider health, ...) do not say how fresh their answers are.
 */
export function createContext(services: Services, freshness?: Freshness): AppContext {
  if (!freshness) return { services, loaders: lazyLoaders(() => services.newLoaders()) };
  return {
    services: refusingServices(services, freshness),
    loaders: lazyLoaders(() => services.newLoaders(freshness)),
    freshness,
  };
}

function refusingServices(services: Services, freshness: Freshness): Services {
  return new Proxy(services, {
    get(target, key) {
      if (key !== 'config') freshness.refuse(`service:${String(key)}`);
      return target[key as keyof Services];
    },
  });
}

/**
 * The request's loaders, built on first use: a context that never loads anything (a subscription
 * whose events carry their data, a request rejected early) never pays for a set of DataLoaders.
 * A Proxy rather than a getter, because Yoga copies contexts with Object.assign, which reads getters.
 */
function lazyLoaders(create: () => Loaders): Loaders {
  let loaders: Loaders | undefined;
  return new Proxy({} as Loaders, {
    get(_target, key) {
      loaders ??= create();
      return loaders[key as keyof Loaders];
    },
  });
}
