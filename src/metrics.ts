import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { UpstreamName } from './config.js';
import type { BreakerState } from './http/types.js';

// Prometheus metrics of one gateway process, served by GET /metrics through `registry`.
// Names and labels are a public contract (dashboards and alerts key on them): add, never rename.
//
//   marketgraph_upstream_requests_total{provider,endpoint,outcome}      counter
//       One per attempt that left the process (ok, rate_limited, unavailable, timeout, bad_response),
//       plus one per call refused before leaving it (shed: quota or Retry-After; breaker_open;
//       over_budget: the request's own upstream limits, see http/budget.ts).
//   marketgraph_upstream_request_duration_seconds{provider,endpoint}     histogram
//       Wall time of each attempt that left the process, until its body was read or it failed.
//   marketgraph_cache_events_total{namespace,event}                     counter
//       event: hit, miss, stale (served past its TTL), refresh (background revalidation), error.
//   marketgraph_breaker_state{provider}                                  gauge  0 closed, 1 half-open, 2 open
//   marketgraph_quota_tokens_left{provider}                              gauge  this process's view of the bucket
//   marketgraph_quota_tokens_limit{provider}                             gauge  the bucket's size (tokens per minute), enabled providers
//   marketgraph_operation_duration_seconds{operation,type,status}        histogram
//       One per GraphQL operation, until its response was ready (a subscription: until its stream
//       started). operation: the operation's name while fewer than `maxOperationNames` distinct names
//       were seen, then `other`; `unnamed` for anonymous ones. type: query, mutation, subscription,
//       unknown (the document did not parse). status: ok (no errors), partial (data and errors), error.
//   marketgraph_operation_errors_total{code}                             counter  one per error sent, by extensions.code
//   marketgraph_subscriptions_active{transport}                          gauge  sse, multipart, graphql-ws
//   marketgraph_response_cache_events_total{event,reason}                counter
//       event: hit (answered from the response cache, 200 or 304), miss (looked up, executed), store,
//       skip (executed, not stored; reason says why: errors, stale, unobserved, ...), invalidate (an
//       entry dropped because a value it read was rewritten), evict (dropped for room). reason is '' except for skip.
//   marketgraph_response_cache_bytes / marketgraph_response_cache_entries  gauges  what the response cache holds
//   marketgraph_redis_up                                                 gauge  1 while both Redis connections are ready, 0 otherwise (only with REDIS_URL)
//   marketgraph_cache_memory_bytes / marketgraph_cache_memory_entries    gauge  the in-process cache tier (estimated bytes)
//
// With `defaultMetrics: true`, prom-client's process/runtime metrics are added under their standard
// names (process_*, nodejs_*), without the prefix, so stock Node.js dashboards read them.

export type UpstreamOutcome =
  | 'ok'
  | 'rate_limited'
  | 'unavailable'
  | 'timeout'
  | 'bad_response'
  | 'shed'
  | 'breaker_open'
  | 'over_budget';

export type CacheEvent = 'hit' | 'miss' | 'stale' | 'refresh' | 'error';

export type OperationType = 'query' | 'mutation' | 'subscription' | 'unknown';
export type OperationStatus = 'ok' | 'partial' | 'error';
export type SubscriptionTransport = 'sse' | 'multipart' | 'graphql-ws';

export interface OperationSample {
  /** The operation's name; undefined for an anonymous operation. */
  name: string | undefined;
  type: OperationType;
  status: OperationStatus;
  seconds: number;
  /** extensions.code of every error sent, one entry per error. */
  errorCodes: readonly string[];
}
export type ResponseCacheEvent = 'hit' | 'miss' | 'store' | 'skip' | 'invalidate' | 'evict';

export interface Metrics {
  readonly registry: Registry;
  /** Counts one upstream outcome; `seconds` is given for attempts that left the process. */
  recordUpstream(sample: {
    provider: UpstreamName;
    endpoint: string;
    outcome: UpstreamOutcome;
    seconds?: number;
  }): void;
  cacheEvent(namespace: string, event: CacheEvent): void;
  setBreakerState(provider: UpstreamName, state: BreakerState): void;
  setQuotaLeft(provider: UpstreamName, tokens: number): void;
  /** The bucket's size, so quota left can be read as a share of it. */
  setQuotaLimit(provider: UpstreamName, tokens: number): void;
  /** `reason` only for skip. */
  responseCacheEvent(event: ResponseCacheEvent, reason?: string): void;
  /** What the response cache holds, read when /metrics is scraped. */
  observeResponseCacheSize(read: () => { bytes: number; entries: number }): void;
  setRedisUp(up: boolean): void;
  /** Reads the in-process cache tier's size at each scrape. */
  observeCache(cache: { size(): number; bytes(): number }): void;
  recordOperation(sample: OperationSample): void;
  /** +1 when a subscription's stream starts, -1 when it ends. */
  addActiveSubscriptions(transport: SubscriptionTransport, delta: 1 | -1): void;
}

export interface MetricsOptions {
  defaultMetrics?: boolean;
  /** Distinct operation names kept as label values; later names are counted as `other` (default 100). */
  maxOperationNames?: number;
}

export const METRIC_PREFIX = 'marketgraph_';

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

export function createMetrics(registry: Registry = new Registry(), options: MetricsOptions = {}): Metrics {
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  const maxOperationNames = options.maxOperationNames ?? 100;

  const requests = new Counter({
    name: `${METRIC_PREFIX}upstream_requests_total`,
    help: 'Upstream provider calls by outcome (attempts that left the process, plus calls shed or refused by an open breaker).',
    labelNames: ['provider', 'endpoint', 'outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: `${METRIC_PREFIX}upstream_request_duration_seconds`,
    help: 'Duration of upstream attempts that left the process, in seconds.',
    labelNames: ['provider', 'endpoint'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const cacheEvents = new Counter({
    name: `${METRIC_PREFIX}cache_events_total`,
    help: 'Cache events by namespace: hit, miss, stale, refresh, error.',
    labelNames: ['namespace', 'event'] as const,
    registers: [registry],
  });
  const breaker = new Gauge({
    name: `${METRIC_PREFIX}breaker_state`,
    help: 'Circuit breaker state per provider: 0 closed, 1 half-open, 2 open.',
    labelNames: ['provider'] as const,
    registers: [registry],
  });
  const quotaLeft = new Gauge({
    name: `${METRIC_PREFIX}quota_tokens_left`,
    help: "Tokens left in this process's view of the provider's quota bucket.",
    labelNames: ['provider'] as const,
    registers: [registry],
  });

  const quotaLimit = new Gauge({
    name: `${METRIC_PREFIX}quota_tokens_limit`,
    help: "Size of the provider's quota bucket: tokens per minute (MARKETGRAPH_<PROVIDER>_RPM).",
    labelNames: ['provider'] as const,
    registers: [registry],
  });
  const operationDuration = new Histogram({
    name: `${METRIC_PREFIX}operation_duration_seconds`,
    help: 'GraphQL operations: time until the response was ready (a subscription: until its stream started), in seconds.',
    labelNames: ['operation', 'type', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const operationErrors = new Counter({
    name: `${METRIC_PREFIX}operation_errors_total`,
    help: 'GraphQL errors sent to clients, by extensions.code.',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const activeSubscriptions = new Gauge({
    name: `${METRIC_PREFIX}subscriptions_active`,
    help: 'Subscriptions whose stream is open, by transport (sse, multipart, graphql-ws).',
    labelNames: ['transport'] as const,
    registers: [registry],
  });
  for (const transport of ['sse', 'multipart', 'graphql-ws'] as const)
    activeSubscriptions.set({ transport }, 0);
  // Label values must stay few: operation names are the client's choice.
  const operationNames = new Set<string>();
  const operationLabel = (name: string | undefined): string => {
    if (name === undefined) return 'unnamed';
    if (operationNames.has(name)) return name;
    if (operationNames.size >= maxOperationNames) return 'other';
    operationNames.add(name);
    return name;
  };
  const responseCacheEvents = new Counter({
    name: `${METRIC_PREFIX}response_cache_events_total`,
    help: 'Response cache events: hit, miss, store, skip (with the reason), invalidate, evict.',
    labelNames: ['event', 'reason'] as const,
    registers: [registry],
  });
  // Bound children for the per-request events, so a hit pays no label lookup.
  const hits = responseCacheEvents.labels('hit', '');
  const misses = responseCacheEvents.labels('miss', '');
  let readResponseCacheSize: () => { bytes: number; entries: number } = () => ({ bytes: 0, entries: 0 });
  new Gauge({
    name: `${METRIC_PREFIX}response_cache_bytes`,
    help: 'Bytes held by the response cache (answer bodies plus their bookkeeping).',
    registers: [registry],
    collect() {
      this.set(readResponseCacheSize().bytes);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}response_cache_entries`,
    help: 'Answers held by the response cache.',
    registers: [registry],
    collect() {
      this.set(readResponseCacheSize().entries);
    },
  });
  // Registered on first use: a gateway without Redis must not report Redis as down.
  let redisUp: Gauge | undefined;
  let cacheSource: { size(): number; bytes(): number } | undefined;
  new Gauge({
    name: `${METRIC_PREFIX}cache_memory_bytes`,
    help: 'Estimated bytes held by the in-process cache tier (bounded by MARKETGRAPH_CACHE_MAX_BYTES).',
    registers: [registry],
    collect() {
      if (cacheSource) this.set(cacheSource.bytes());
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}cache_memory_entries`,
    help: 'Entries held by the in-process cache tier.',
    registers: [registry],
    collect() {
      if (cacheSource) this.set(cacheSource.size());
    },
  });

  return {
    registry,
    recordUpstream({ provider, endpoint, outcome, seconds }) {
      requests.inc({ provider, endpoint, outcome });
      if (seconds !== undefined) duration.observe({ provider, endpoint }, seconds);
    },
    cacheEvent(namespace, event) {
      cacheEvents.inc({ namespace, event });
    },
    setBreakerState(provider, state) {
      breaker.set({ provider }, BREAKER_VALUE[state]);
    },
    setQuotaLeft(provider, tokens) {
      quotaLeft.set({ provider }, tokens);
    },
    setQuotaLimit(provider, tokens) {
      quotaLimit.set({ provider }, tokens);
    },
    recordOperation({ name, type, status, seconds, errorCodes }) {
      operationDuration.observe({ operation: operationLabel(name), type, status }, seconds);
      for (const code of errorCodes) operationErrors.inc({ code });
    },
    addActiveSubscriptions(transport, delta) {
      activeSubscriptions.inc({ transport }, delta);
    },
    responseCacheEvent(event, reason = '') {
      if (event === 'hit') hits.inc();
      else if (event === 'miss') misses.inc();
      else responseCacheEvents.inc({ event, reason });
    },
    observeResponseCacheSize(read) {
      readResponseCacheSize = read;
    },
    setRedisUp(up) {
      redisUp ??= new Gauge({
        name: `${METRIC_PREFIX}redis_up`,
        help: 'Whether Redis is usable: 1 while both connections (commands, events) are ready, 0 otherwise.',
        registers: [registry],
      });
      redisUp.set(up ? 1 : 0);
    },
    observeCache(cache) {
      cacheSource = cache;
    },
  };
}
