import type { Config, UpstreamName } from '../config.js';
import { type BudgetReason, UpstreamError } from '../errors.js';

// What one request may spend upstream, and what it spent. One budget per request (src/context.ts),
// handed explicitly to that request's view of Http (http.forRequest) and to its candle service, so a
// call knows the request it is made for without ambient state. Three limits:
//   UPSTREAM_CALLS  attempts that leave the process, all providers together (retries count; a call
//                   refused before leaving does not);
//   QUOTA_SHARE     quota tokens (Binance weights) per provider, as a share of its per-minute bucket, so
//                   one request never empties a provider's quota for everyone else; a request's first
//                   call to a provider always passes this one; at 100 % the quota bucket alone decides;
//   CANDLE_ROWS     candle rows asked of providers, counted per window fetched (after merging).
// Attribution: a call counts for the request whose loaders started it. A fetch shared through the
// cache's singleflight counts once, for the request that started it; requests that join it wait for
// free. A background refresh counts for the request that triggered it. Work outside requests (live
// feeds and subscriptions, the process-wide asset registry) has no budget.

export interface Spend {
  /** Gives the reservation back: the attempt did not leave the process. */
  release(): void;
}

/** Why the process refused a call (a budget refusal is counted by the budget itself). */
export type Refusal = 'shed' | 'breaker_open';

export interface ProviderSpend {
  /** Attempts that left the process. */
  calls: number;
  /** Quota tokens those attempts took. */
  tokens: number;
  /** Calls refused by this request's limits. */
  overBudget: number;
  /** Calls shed by the process's own quota or a Retry-After block. */
  shed: number;
  /** Calls refused by an open circuit breaker. */
  breakerOpen: number;
}

export interface BudgetSummary {
  providers: Partial<Record<UpstreamName, ProviderSpend>>;
  candleRows: number;
  /** Refusals by this request's limits, by reason. */
  overBudget: Partial<Record<BudgetReason, number>>;
  /** Calls refused for any reason (limits, quota, Retry-After, breaker). */
  refusals: number;
}

export interface UpstreamBudget {
  /** Reserves one attempt costing `cost` quota tokens, or answers the UPSTREAM_BUDGET_EXCEEDED error. */
  reserve(provider: UpstreamName, endpoint: string, cost: number): Spend | UpstreamError;
  /** Takes `rows` candle rows for a window `provider` is to be asked for, or answers the error. */
  takeCandleRows(provider: UpstreamName, endpoint: string, rows: number): UpstreamError | undefined;
  /** Counts a call the process refused (quota, Retry-After, breaker), for the request's summary. */
  noteRefused(provider: UpstreamName, refusal: Refusal): void;
  /** Whether this budget refused with `error` (rather than another request's budget). */
  refused(error: unknown): boolean;
  /** Upstream attempts that left the process for this request, per provider. */
  calls(): Partial<Record<UpstreamName, number>>;
  summary(): BudgetSummary;
  /** Stops enforcing the limits (a subscription is not a request); counting goes on. */
  exempt(): void;
}

export interface BudgetLimits {
  maxCalls: number;
  maxCandleRows: number;
  /** Percent of each provider's per-minute bucket. */
  quotaSharePercent: number;
  /** Per-minute bucket size per provider. */
  rpm: (provider: UpstreamName) => number;
}

export function budgetLimits(config: Config): BudgetLimits {
  return {
    maxCalls: config.limits.maxUpstreamCallsPerRequest,
    maxCandleRows: config.limits.maxCandleRowsPerRequest,
    quotaSharePercent: config.limits.maxQuotaSharePerRequest,
    rpm: (provider) => config.providers[provider].rpm,
  };
}

export function createUpstreamBudget(limits: BudgetLimits): UpstreamBudget {
  const spent = new Map<UpstreamName, ProviderSpend>();
  const overBudget: Partial<Record<BudgetReason, number>> = {};
  const mine = new WeakSet<object>();
  let calls = 0;
  let candleRows = 0;
  let refusals = 0;
  let enforce = true;

  function of(provider: UpstreamName): ProviderSpend {
    let s = spent.get(provider);
    if (!s) {
      s = { calls: 0, tokens: 0, overBudget: 0, shed: 0, breakerOpen: 0 };
      spent.set(provider, s);
    }
    return s;
  }

  function refuse(
    provider: UpstreamName,
    endpoint: string,
    reason: BudgetReason,
    limit: number,
    what: string,
  ): UpstreamError {
    const error = new UpstreamError(
      'UPSTREAM_BUDGET_EXCEEDED',
      provider,
      `${provider} ${endpoint}: not called, ${what}`,
      { endpoint, reason, limit },
    );
    mine.add(error);
    of(provider).overBudget++;
    overBudget[reason] = (overBudget[reason] ?? 0) + 1;
    refusals++;
    return error;
  }

  /** A request may take this many of a provider's tokens; always at least one. */
  const shareOf = (provider: UpstreamName) =>
    Math.max(1, Math.floor((limits.rpm(provider) * limits.quotaSharePercent) / 100));

  return {
    reserve(provider, endpoint, cost) {
      const s = of(provider);
      // As the quota bucket does: a call heavier than the whole bucket takes the whole bucket.
      const tokens = Math.max(1, Math.min(cost, limits.rpm(provider)));
      if (enforce && calls >= limits.maxCalls) {
        return refuse(
          provider,
          endpoint,
          'UPSTREAM_CALLS',
          limits.maxCalls,
          `this request made its ${limits.maxCalls} upstream calls (MARKETGRAPH_MAX_UPSTREAM_CALLS_PER_REQUEST)`,
        );
      }
      const share = shareOf(provider);
      if (enforce && limits.quotaSharePercent < 100 && s.tokens > 0 && s.tokens + tokens > share) {
        return refuse(
          provider,
          endpoint,
          'QUOTA_SHARE',
          share,
          `this request spent its share of ${provider}'s quota, ${share} of ${limits.rpm(provider)} per minute (MARKETGRAPH_MAX_QUOTA_SHARE_PER_REQUEST=${limits.quotaSharePercent}%)`,
        );
      }
      calls++;
      s.calls++;
      s.tokens += tokens;
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          calls--;
          s.calls--;
          s.tokens -= tokens;
        },
      };
    },
    takeCandleRows(provider, endpoint, rows) {
      if (enforce && candleRows + rows > limits.maxCandleRows) {
        return refuse(
          provider,
          endpoint,
          'CANDLE_ROWS',
          limits.maxCandleRows,
          `${rows} more candle rows would pass this request's ${limits.maxCandleRows} (MARKETGRAPH_MAX_CANDLE_ROWS_PER_REQUEST), ${candleRows} taken`,
        );
      }
      candleRows += rows;
      return undefined;
    },
    noteRefused(provider, refusal) {
      const s = of(provider);
      if (refusal === 'shed') s.shed++;
      else s.breakerOpen++;
      refusals++;
    },
    refused: (error) => typeof error === 'object' && error !== null && mine.has(error),
    calls() {
      const out: Partial<Record<UpstreamName, number>> = {};
      for (const [provider, s] of spent) if (s.calls > 0) out[provider] = s.calls;
      return out;
    },
    summary() {
      return {
        providers: Object.fromEntries([...spent].map(([p, s]) => [p, { ...s }])),
        candleRows,
        overBudget: { ...overBudget },
        refusals,
      };
    },
    exempt() {
      enforce = false;
    },
  };
}
