import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Agent, type Dispatcher } from 'undici';
import type { Config, UpstreamName } from '../config.js';
import { UpstreamError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { createQuietRepeats, type QuietRepeats } from '../telemetry/quiet-repeats.js';
import type { RequestTrace, UpstreamSpan } from '../telemetry/tracing.js';
import { createAdmission, type ProviderState } from './admission.js';
import { sendAttempt } from './attempt.js';
import { type BackoffPolicy, computeBackoffMs, DEFAULT_BACKOFF, waitFor } from './backoff.js';
import { createBreaker } from './breaker.js';
import type { UpstreamBudget } from './budget.js';
import type { Failure, Verdict } from './classify.js';
import { createQuota, type QuotaStore } from './quota.js';
import { collectSecrets } from './redact.js';
import type { HttpCall, HttpClient } from './types.js';

// The one way to call a provider. Per call: a deadline (config.http.deadlineMs or call.deadlineMs)
// bounds everything — quota waits, Retry-After waits, every attempt and every backoff — so no caller
// ever waits past it. Per attempt, in order: circuit breaker, provider-wide Retry-After block, quota
// token, then one GET over a pooled keep-alive connection, its body classified and validated.
// Retries (GET is idempotent) follow network errors, timeouts before the deadline, 429 and 5xx, with
// full-jitter exponential backoff; a Retry-After blocks every call to that provider, not just this one.
// Error messages and logs name provider, endpoint, status and latency, never URLs, keys or stacks.
// forRequest(budget) is the same client seen by one request: every attempt is reserved against the
// request's budget before its quota token (http/budget.ts), so a call knows which request it is for.
// With the request's trace as well, each call is one span under the request's operation
// (telemetry/upstream-span.ts): its attempts, its waits to be let out and how it ended.

export type { BackoffPolicy } from './backoff.js';
export type { UpstreamBudget } from './budget.js';
export type { QuotaStore } from './quota.js';
export type {
  BreakerState,
  EnvelopeError,
  Http,
  HttpCall,
  HttpClient,
  LastFailure,
  ProviderHealth,
} from './types.js';

export interface HttpDeps {
  config: Config;
  metrics: Metrics;
  logger: Logger;
  /** Shares quota buckets through Redis across processes; per-process memory buckets otherwise. */
  quotaStore?: QuotaStore;
  /** Shorthand for `quotaStore: { redis }`. */
  redis?: Redis;
  /** Clock for deadlines, Retry-After and the breaker (waits themselves use real timers). */
  now?: () => number;
  /** Source of jitter, [0, 1). */
  random?: () => number;
  backoff?: BackoffPolicy;
  /** Replaces the pooled Agent (which is then not closed by close()). */
  dispatcher?: Dispatcher;
  /** Keeps a failing provider to one warning per kind of failure and summaries further and further apart (its own by default). */
  quiet?: QuietRepeats;
}

const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** A wait (backoff, Retry-After, quota) must leave at least this much of the deadline for the request. */
const MIN_ATTEMPT_MS = 50;

export function createHttp(deps: HttpDeps): HttpClient {
  const { config, metrics, logger } = deps;
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const backoff = deps.backoff ?? DEFAULT_BACKOFF;
  // A provider's failures are the provider's news, not any one request's: one warning per kind of
  // failure of each endpoint until it answers again, summaries further and further apart while it lasts, one info
  // line when it recovers. The breaker and Retry-After lines likewise, per provider.
  const quiet = deps.quiet ?? createQuietRepeats({ logger, now });
  const agent = deps.dispatcher
    ? undefined
    : new Agent({
        connect: { timeout: config.http.connectTimeoutMs },
        keepAliveTimeout: 10_000,
        keepAliveMaxTimeout: 60_000,
        connections: 64,
        maxResponseSize: MAX_BODY_BYTES,
      });
  const dispatcher = deps.dispatcher ?? (agent as Dispatcher);
  const quotaStore = deps.quotaStore ?? (deps.redis ? { redis: deps.redis } : undefined);
  const quota = createQuota({
    config,
    store: quotaStore,
    now,
    onLeft: (provider, tokens) => metrics.setQuotaLeft(provider, tokens),
  });
  const admit = createAdmission({ quota, metrics, logger, quiet, now, minAttemptMs: MIN_ATTEMPT_MS });
  const states = new Map<UpstreamName, ProviderState>();

  function stateOf(provider: UpstreamName): ProviderState {
    let state = states.get(provider);
    if (!state) {
      const breaker = createBreaker({
        threshold: config.http.breakerThreshold,
        halfOpenAfterMs: config.http.breakerHalfOpenAfterMs,
        now,
        onChange(next) {
          metrics.setBreakerState(provider, next);
          // Open, then half-open and open again every halfOpenAfterMs while the provider stays down:
          // the first open is news, the probes that fail are repeats, closing is the recovery.
          const key = `breaker ${provider}`;
          const line = { provider, breaker: next };
          if (next === 'open') quiet.failed(key, next, line, 'circuit breaker changed state');
          // Closing is always told: its episode may have been forgotten among many failing keys.
          else if (next === 'closed' && !quiet.recovered(key, line, 'circuit breaker changed state'))
            logger.info(line, 'circuit breaker changed state');
          else logger.debug(line, 'circuit breaker changed state');
        },
      });
      state = { breaker, blockedUntil: 0, lastLatencyMs: null, lastFailure: null };
      states.set(provider, state);
      metrics.setBreakerState(provider, 'closed');
    }
    return state;
  }

  async function get<T>(call: HttpCall<T>, budget?: UpstreamBudget, trace?: RequestTrace): Promise<T> {
    if (!trace) return attempts(call, budget, undefined);
    const span = trace.upstream(call);
    try {
      const value = await attempts(call, budget, span);
      span.end();
      return value;
    } catch (error) {
      span.end(error);
      throw error;
    }
  }

  async function attempts<T>(call: HttpCall<T>, budget?: UpstreamBudget, span?: UpstreamSpan): Promise<T> {
    const { provider, endpoint } = call;
    const state = stateOf(provider);
    const deadlineMs = call.deadlineMs ?? config.http.deadlineMs;
    const deadlineAt = now() + deadlineMs;
    const settings = config.providers[provider];
    const secrets = collectSecrets(settings.key, call.query, call.headers, settings.url);
    if (!settings.url) {
      const message = `${provider} ${endpoint}: no base URL configured`;
      const error = new UpstreamError('UPSTREAM_UNAVAILABLE', provider, message, { endpoint });
      state.lastFailure = { error, at: now() };
      throw error;
    }
    const url = buildUrl(settings.url, call.path, call.query);

    for (let attempt = 0, last: Failure | undefined; ; attempt++) {
      const admitStarted = span ? performance.now() : 0;
      const ticket = await admit(call, state, deadlineAt, last, budget);
      span?.waited(performance.now() - admitStarted);
      const verdict = await send(call, url, { deadlineAt, deadlineMs, secrets, attempt, state, span });
      state.breaker.record(ticket, verdict.breaker);
      if (verdict.ok) return verdict.value;
      last = verdict;
      if (verdict.retryAfter) blockProvider(provider, state, verdict.retryAfter);
      if (!verdict.retryable || attempt >= config.http.maxRetries) throw verdict.error;
      const wait = Math.max(state.blockedUntil - now(), computeBackoffMs(attempt, backoff, random));
      if (now() + wait + MIN_ATTEMPT_MS > deadlineAt) throw verdict.error;
      await waitFor(wait);
    }
  }

  async function send<T>(
    call: HttpCall<T>,
    url: string,
    context: {
      deadlineAt: number;
      deadlineMs: number;
      secrets: string[];
      attempt: number;
      state: ProviderState;
      span: UpstreamSpan | undefined;
    },
  ): Promise<Verdict<T>> {
    const { provider, endpoint } = call;
    const { state, attempt, span, ...budget } = context;
    const { verdict, status, latencyMs } = await sendAttempt({ dispatcher, call, url, now, ...budget });
    span?.attempt({ attempt, status, outcome: verdict.outcome, latencyMs });
    state.lastLatencyMs = latencyMs;
    metrics.recordUpstream({ provider, endpoint, outcome: verdict.outcome, seconds: latencyMs / 1000 });
    const line = { provider, endpoint, status, latencyMs, attempt, outcome: verdict.outcome };
    const key = `${provider} ${endpoint}`;
    if (verdict.ok) {
      logger.debug(line, 'upstream call');
      quiet.recovered(key, { provider, endpoint }, 'upstream calls recovered');
      quiet.recovered(`retry-after ${provider}`, { provider }, 'provider answers again after Retry-After');
      return verdict;
    }
    state.lastFailure = { error: verdict.error, at: now() };
    const { code, message: reason } = verdict.error;
    quiet.failed(
      key,
      `${verdict.outcome} ${status ?? ''} ${code}`,
      { ...line, code, reason, detail: verdict.detail },
      'upstream call failed',
    );
    return verdict;
  }

  function blockProvider(provider: UpstreamName, state: ProviderState, seconds: number): void {
    const until = now() + seconds * 1000;
    if (until <= state.blockedUntil) return;
    state.blockedUntil = until;
    quiet.failed(
      `retry-after ${provider}`,
      'retry-after',
      { provider, retryAfter: seconds },
      'provider asked us to wait; holding every call until then',
    );
  }

  const client: HttpClient = {
    get: (call) => get(call),
    quotaLeft: (provider) => quota.left(provider),
    health(provider) {
      const state = stateOf(provider);
      const breaker = state.breaker.state();
      metrics.setBreakerState(provider, breaker);
      // A request's own budget refusal says nothing about the provider and is never recorded here.
      const last = state.lastFailure;
      const code = last?.error.code;
      return {
        provider,
        breaker,
        quotaLeft: quota.left(provider),
        lastLatencyMs: state.lastLatencyMs,
        lastError: last?.error.message ?? null,
        lastFailure:
          last && code && code !== 'UPSTREAM_BUDGET_EXCEEDED'
            ? {
                code,
                message: last.error.message,
                endpoint: last.error.details.endpoint ?? null,
                status: last.error.details.status ?? null,
                at: last.at,
              }
            : null,
        blockedUntil: state.blockedUntil > now() ? state.blockedUntil : 0,
      };
    },
    forRequest: (budget, trace) => ({
      get: (call) => get(call, budget, trace),
      health: (provider) => client.health(provider),
      close: async () => {},
    }),
    async close() {
      // By now every request was answered or cut: a call still in flight (a cut request's, a background
      // refresh) is aborted, not waited for until its deadline.
      await agent?.destroy();
    },
  };
  return client;
}

function buildUrl(base: string, path: string, query: HttpCall<unknown>['query']): string {
  const url = new URL(base + path);
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined) url.searchParams.append(name, String(value));
  }
  return url.toString();
}
