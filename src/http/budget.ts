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
// free. A background refresh counts for the request that triggered it. A subscription's budget is
// exempt (counts only). The live feeds' work has the live budget (createLiveBudget): no limits, but a
// request's share of each bucket is left to requests; the process-wide asset registry has none.

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
  /** Calls refused for any reason so far (cheap: read once per request). */
  refusals(): number;
  summary(): BudgetSummary;
  /** Stops enforcing the limits (a subscription is not a request); counting goes on. */
  exempt(): void;
  /** The request gave up (its execution timed out): every later call is refused, exempt or not. */
  abandon(): void;
  /** Quota tokens a call for this budget must leave in the provider's bucket (0: none). */
  quotaFloor(provider: UpstreamName): number;
  /** The refusal of a call that would have taken the bucket below quotaFloor. */
  refuseBelowFloor(provider: UpstreamName, endpoint: string): UpstreamError;
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
  return new RequestBudget(limits);
}

/** A request's share of a provider's bucket, in tokens (at least one). */
function shareOf(limits: BudgetLimits, provider: UpstreamName): number {
  return Math.max(1, Math.floor((limits.rpm(provider) * limits.quotaSharePercent) / 100));
}

/**
 * The budget of work outside requests (the live feeds' polls, a subscription's first event): no
 * per-request limits, but every call leaves a request's share of the provider's bucket to requests, so
 * a subscription over many assets never empties a quota for everyone else. Off at a 100 % share.
 */
export function createLiveBudget(limits: BudgetLimits): UpstreamBudget {
  const budget = new RequestBudget(limits, limits.quotaSharePercent < 100);
  budget.exempt();
  return budget;
}

/** A class, not a closure factory: one is built per request, and its methods live on the prototype. */
class RequestBudget implements UpstreamBudget {
  /** Per provider; made on the first call (a request served from the cache makes none). */
  private spent: Map<UpstreamName, ProviderSpend> | undefined;
  private readonly overBudget: Partial<Record<BudgetReason, number>> = {};
  /**
   * The errors this budget refused with; made on the first refusal (most requests have none). Weak:
   * the live budget lives as long as the process and refuses again and again under quota pressure.
   */
  private mine: WeakSet<object> | undefined;
  private callCount = 0;
  private candleRows = 0;
  private refusalCount = 0;
  private enforce = true;
  private abandoned = false;

  constructor(
    private readonly limits: BudgetLimits,
    /** Leaves a request's share of each bucket to requests (the live budget). */
    private readonly floor = false,
  ) {}

  quotaFloor(provider: UpstreamName): number {
    return this.floor ? shareOf(this.limits, provider) : 0;
  }

  refuseBelowFloor(provider: UpstreamName, endpoint: string): UpstreamError {
    const floor = this.quotaFloor(provider);
    return this.refuse(
      provider,
      endpoint,
      'QUOTA_RESERVE',
      floor,
      `work outside requests leaves the last ${floor} of ${provider}'s ${this.limits.rpm(provider)} quota tokens per minute to requests (MARKETGRAPH_MAX_QUOTA_SHARE_PER_REQUEST=${this.limits.quotaSharePercent}%)`,
    );
  }

  reserve(provider: UpstreamName, endpoint: string, cost: number): Spend | UpstreamError {
    const { limits } = this;
    const s = this.of(provider);
    if (this.abandoned) {
      return this.refuse(
        provider,
        endpoint,
        'ABANDONED',
        0,
        'the request was abandoned (MARKETGRAPH_EXECUTION_TIMEOUT_MS)',
      );
    }
    if (this.enforce && this.callCount >= limits.maxCalls) {
      return this.refuse(
        provider,
        endpoint,
        'UPSTREAM_CALLS',
        limits.maxCalls,
        `this request made its ${limits.maxCalls} upstream calls (MARKETGRAPH_MAX_UPSTREAM_CALLS_PER_REQUEST)`,
      );
    }
    // As the quota bucket does: a call heavier than the whole bucket takes the whole bucket.
    const rpm = limits.rpm(provider);
    const tokens = Math.max(1, Math.min(cost, rpm));
    const share = shareOf(limits, provider);
    if (this.enforce && limits.quotaSharePercent < 100 && s.tokens > 0 && s.tokens + tokens > share) {
      return this.refuse(
        provider,
        endpoint,
        'QUOTA_SHARE',
        share,
        `this request spent its share of ${provider}'s quota, ${share} of ${rpm} per minute (MARKETGRAPH_MAX_QUOTA_SHARE_PER_REQUEST=${limits.quotaSharePercent}%)`,
      );
    }
    this.callCount++;
    s.calls++;
    s.tokens += tokens;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.callCount--;
        s.calls--;
        s.tokens -= tokens;
      },
    };
  }

  takeCandleRows(provider: UpstreamName, endpoint: string, rows: number): UpstreamError | undefined {
    const { maxCandleRows } = this.limits;
    if (this.enforce && this.candleRows + rows > maxCandleRows) {
      return this.refuse(
        provider,
        endpoint,
        'CANDLE_ROWS',
        maxCandleRows,
        `${rows} more candle rows would pass this request's ${maxCandleRows} (MARKETGRAPH_MAX_CANDLE_ROWS_PER_REQUEST), ${this.candleRows} taken`,
      );
    }
    this.candleRows += rows;
    return undefined;
  }

  noteRefused(provider: UpstreamName, refusal: Refusal): void {
    const s = this.of(provider);
    if (refusal === 'shed') s.shed++;
    else s.breakerOpen++;
    this.refusalCount++;
  }

  refused(error: unknown): boolean {
    return typeof error === 'object' && error !== null && (this.mine?.has(error) ?? false);
  }

  calls(): Partial<Record<UpstreamName, number>> {
    const out: Partial<Record<UpstreamName, number>> = {};
    for (const [provider, s] of this.spent ?? []) if (s.calls > 0) out[provider] = s.calls;
    return out;
  }

  refusals(): number {
    return this.refusalCount;
  }

  summary(): BudgetSummary {
    return {
      providers: Object.fromEntries([...(this.spent ?? [])].map(([p, s]) => [p, { ...s }])),
      candleRows: this.candleRows,
      overBudget: { ...this.overBudget },
      refusals: this.refusalCount,
    };
  }

  exempt(): void {
    this.enforce = false;
  }

  abandon(): void {
    this.abandoned = true;
  }

  private of(provider: UpstreamName): ProviderSpend {
    this.spent ??= new Map();
    let s = this.spent.get(provider);
    if (!s) {
      s = { calls: 0, tokens: 0, overBudget: 0, shed: 0, breakerOpen: 0 };
      this.spent.set(provider, s);
    }
    return s;
  }

  private refuse(
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
    this.mine ??= new WeakSet();
    this.mine.add(error);
    this.of(provider).overBudget++;
    this.overBudget[reason] = (this.overBudget[reason] ?? 0) + 1;
    this.refusalCount++;
    return error;
  }
}
