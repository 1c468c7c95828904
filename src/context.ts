import type { YogaInitialContext } from 'graphql-yoga';
import type { BudgetSnapshot } from './auth/budgets.js';
import type { Client } from './auth/client.js';
import type { Config } from './config.js';
import { createReadLog, type ReadLog } from './cost/read-log.js';
import type { Freshness } from './freshness.js';
import type { UpstreamBudget } from './http/budget.js';
import type { HttpClient } from './http/client.js';
import { lazily, once } from './lazily.js';
import type { Live } from './live/live.js';
import type { PriceFeed } from './live/price-feed.js';
import type { Loaders } from './loaders/index.js';
import type { OnChainService } from './market/onchain.js';
import type { AssetRegistry } from './market/registry.js';
import type { PriceHistory } from './price-history.js';
import type { SignalService } from './signals/service.js';
import type { RequestTrace } from './telemetry/tracing.js';
import type { UpstreamScope } from './upstream-scope.js';

// Per-process services and per-request loaders. Services are built once by createGateway; loaders are
// built for every request so their memoization never outlives it. Each request also gets an upstream
// budget (http/budget.ts) and its own view of the services that call providers (RequestScopes.forRequest:
// loaders and on-chain metrics over sources that spend that budget), so every provider call knows the
// request it is made for through explicit dependencies, with no ambient (AsyncLocalStorage) state.

/** The per-process services resolvers read (through `ctx.services`). */
export interface Services {
  config: Config;
  /** The gateway's clock (GatewayDeps.now): where a field's window ends when the client gives no end. */
  now: () => number;
  /** Provider health and quotas (Query.sources). */
  http: HttpClient;
  registry: AssetRegistry;
  priceFeed: PriceFeed;
  /** Live feeds (metrics, signals), their upstreams and stats. */
  live: Live;
  signals: SignalService;
  onchain: OnChainService;
  /** Past prices (CoinGecko market_chart/range); a request's spends its budget, like onchain. */
  priceHistory: PriceHistory;
}

/** What createContext needs besides the services: how a request gets its budget and upstream scope. */
export interface RequestScopes {
  /** A budget with the configured per-request limits. */
  newBudget: () => UpstreamBudget;
  /**
   * The services that call providers as one request sees them: every provider call spends `budget`.
   * With `freshness`, they read through its recording view of the cache (src/freshness.ts); with
   * `trace`, their provider calls and cache lookups are spans of the request's trace (src/telemetry/);
   * with `reads`, what they read is recorded for extensions.cost and extensions.freshness
   * (src/cost/read-log.ts).
   */
  forRequest: (budget: UpstreamBudget, view?: RequestView) => UpstreamScope;
}

/** How one request sees the process's cache: recorded for the response cache, traced, logged for cost. */
export interface RequestView {
  freshness?: Freshness;
  trace?: RequestTrace;
  reads?: ReadLog;
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
  /** Who is calling (src/auth/); undefined only when MARKETGRAPH_AUTH=off. */
  client?: Client;
  /** The client's budget as of this request's charge (undefined before it, or with auth off). */
  clientBudget?: { remaining(): BudgetSnapshot | undefined };
  /** What this request read from the cache, for extensions.cost and extensions.freshness; none outside requests. */
  reads?: ReadLog;
  /** Upstream calls the operation can cause (src/cost/), set after validation, before execution. */
  costEstimate?: number;
}

/** What a client may still spend in its current window (src/auth/budgets.ts). */
export type ClientBudgetLeft = BudgetSnapshot;

export type Context = YogaInitialContext & AppContext;

/**
 * A request's context. A subscription gets one from Yoga too; plugins/use-upstream-budget.ts exempts it
 * from the limits, since its resolvers run for every event for as long as it lasts. Work outside
 * requests (the live feeds) never builds one: it is handed the loaders it needs.
 * With `freshness`, the loaders record the freshness of every value they read, and any direct use of a
 * per-process service other than config makes the answer unstorable: those services (registry,
 * on-chain, signals, provider health, ...) do not say how fresh their answers are.
 */
export function createContext(
  services: Services,
  scopes: RequestScopes,
  options: {
    freshness?: Freshness;
    trace?: RequestTrace;
    client?: Client;
    clientBudget?: AppContext['clientBudget'];
  } = {},
): AppContext {
  const { freshness, trace } = options;
  const caller = options.client ? { client: options.client, clientBudget: options.clientBudget } : {};
  const upstream = scopes.newBudget();
  const reads = createReadLog();
  const scoped = once(() => scopes.forRequest(upstream, { freshness, trace, reads }));
  const requestServices: Services = {
    ...services,
    onchain: lazily(() => scoped().onchain),
    priceHistory: lazily(() => scoped().priceHistory),
  };
  const loaders = lazily(() => scoped().newLoaders());
  if (!freshness) return { services: requestServices, loaders, upstream, reads, ...caller };
  return {
    services: refusingServices(requestServices, freshness),
    loaders,
    upstream,
    freshness,
    reads,
    ...caller,
  };
}

function refusingServices(services: Services, freshness: Freshness): Services {
  return new Proxy(services, {
    get(target, key) {
      // The clock says nothing about a value's freshness: what a window read is refused by its namespace.
      if (key !== 'config' && key !== 'now') freshness.refuse(`service:${String(key)}`);
      return target[key as keyof Services];
    },
  });
}
