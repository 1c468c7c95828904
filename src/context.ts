import type { YogaInitialContext } from 'graphql-yoga';
import type { Cache } from './cache.js';
import type { Config } from './config.js';
import type { Freshness } from './freshness.js';
import type { UpstreamBudget } from './http/budget.js';
import type { HttpClient } from './http/client.js';
import { lazily, once } from './lazily.js';
import type { Live } from './live/live.js';
import type { PriceFeed } from './live/price-feed.js';
import type { Loaders } from './loaders/index.js';
import type { CandleService } from './market/candles.js';
import type { Fx } from './market/fx.js';
import type { OnChainService } from './market/onchain.js';
import type { AssetRegistry } from './market/registry.js';
import type { SignalService } from './signals/service.js';
import type { Sources } from './sources/index.js';
import type { UpstreamScope } from './upstream-scope.js';

// Per-process services and per-request loaders. Services are built once by createGateway; loaders are
// built for every request so their memoization never outlives it. Each request also gets an upstream
// budget (http/budget.ts) and its own view of the services that call providers (services.forRequest:
// loaders and on-chain metrics over sources that spend that budget), so every provider call knows the
// request it is made for through explicit dependencies, with no ambient (AsyncLocalStorage) state.

export interface Services {
  config: Config;
  cache: Cache;
  http: HttpClient;
  sources: Sources;
  registry: AssetRegistry;
  priceFeed: PriceFeed;
  /** Live feeds (metrics, signals), their upstreams and stats. */
  live: Live;
  candles: CandleService;
  signals: SignalService;
  onchain: OnChainService;
  fx: Fx;
  /** A fresh set of DataLoaders outside any request (no budget: the live feeds). */
  newLoaders: () => Loaders;
  /** A budget with the configured per-request limits. */
  newBudget: () => UpstreamBudget;
  /**
   * The services that call providers as one request sees them: every provider call spends `budget`.
   * With `freshness`, they read through its recording view of the cache (src/freshness.ts).
   */
  forRequest: (budget: UpstreamBudget, freshness?: Freshness) => UpstreamScope;
}

/** What marketgraph adds to Yoga's initial context. */
export interface AppContext {
  /** The process's services, except `onchain`, which is the request's (see createContext). */
  services: Services;
  loaders: Loaders;
  /** What this request may still spend upstream, and what it spent; none outside requests. */
  upstream?: UpstreamBudget;
  /** Present when the response cache may store this execution's answer (src/response-cache.ts). */
  freshness?: Freshness;
}

export type Context = YogaInitialContext & AppContext;

/**
 * A request's context, or with `outsideRequests` one for the live feeds' own work (process-wide
 * services, no budget). A subscription gets a request's context from Yoga; plugins/use-upstream-budget.ts
 * exempts it from the limits, since its resolvers run for every event for as long as it lasts.
 * With `freshness`, the loaders record the freshness of every value they read, and any direct use of a
 * per-process service other than config makes the answer unstorable: those services (registry,
 * on-chain, signals, provider health, ...) do not say how fresh their answers are.
 */
export function createContext(
  services: Services,
  options: { outsideRequests?: boolean; freshness?: Freshness } = {},
): AppContext {
  if (options.outsideRequests) return { services, loaders: lazily(services.newLoaders) };
  const { freshness } = options;
  const upstream = services.newBudget();
  const scoped = once(() => services.forRequest(upstream, freshness));
  const requestServices: Services = { ...services, onchain: lazily(() => scoped().onchain) };
  const loaders = lazily(() => scoped().newLoaders());
  if (!freshness) return { services: requestServices, loaders, upstream };
  return { services: refusingServices(requestServices, freshness), loaders, upstream, freshness };
}

function refusingServices(services: Services, freshness: Freshness): Services {
  return new Proxy(services, {
    get(target, key) {
      if (key !== 'config') freshness.refuse(`service:${String(key)}`);
      return target[key as keyof Services];
    },
  });
}
