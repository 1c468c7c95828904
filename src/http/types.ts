import type { ZodType } from 'zod';
import type { UpstreamName } from '../config.js';
import type { UpstreamCode } from '../errors.js';
import type { RequestTrace } from '../telemetry/tracing.js';
import type { UpstreamBudget } from './budget.js';

// The HTTP client's contract, apart from its implementation (client.ts), so the modules client.ts is
// built from (admission, attempt, breaker, classify) and metrics name these types without importing it.

export interface HttpCall<T> {
  provider: UpstreamName;
  /** Stable endpoint name for metrics, quotas and errors, e.g. 'coins/markets'. */
  endpoint: string;
  /** Path appended to the provider's base URL, e.g. '/coins/markets'. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  /** 'json' (default) parses the body as JSON; 'text' hands the raw text to the schema. */
  parse?: 'json' | 'text';
  /** What the body must look like; a mismatch is UPSTREAM_BAD_RESPONSE. May transform. */
  schema: ZodType<T>;
  /**
   * For providers that answer errors with HTTP 200 (Etherscan status "0", Token Metrics success:false).
   * `message` may quote the provider whole (uncut): it is redacted and logged, and the client gets a
   * fixed reason for `code` instead. `retryable: false` marks an answer no retry can change (a refused
   * key) even under a code that is otherwise retried.
   */
  envelopeError?: (body: unknown) => EnvelopeError | undefined;
  /** Overrides the configured per-call deadline (ms). */
  deadlineMs?: number;
  /** Cost against the provider's quota bucket (Binance weights); 1 by default. */
  cost?: number;
}

/** An error a provider put in a 2xx body, as a source read it. */
export interface EnvelopeError {
  code: UpstreamCode;
  message: string;
  retryAfter?: number;
  /** Defaults to true for rate limits, timeouts and outages, false otherwise. */
  retryable?: boolean;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface LastFailure {
  code: UpstreamCode;
  message: string;
  endpoint: string | null;
  /** HTTP status, when the provider answered. */
  status: number | null;
  /** Epoch ms. */
  at: number;
}

export interface ProviderHealth {
  provider: UpstreamName;
  breaker: BreakerState;
  /** Tokens left in this process's view of the quota bucket. */
  quotaLeft: number;
  /** Latency of the last completed call, ms; null before the first. */
  lastLatencyMs: number | null;
  /** lastFailure's message (kept for `Source.lastError`, deprecated in the schema). */
  lastError: string | null;
  /** The last failed or refused call: the client-facing code and message, never provider text. */
  lastFailure: LastFailure | null;
  /** Epoch ms until which the provider asked us (Retry-After) not to call; 0 when not blocked. */
  blockedUntil: number;
}

export interface Http {
  get<T>(call: HttpCall<T>): Promise<T>;
  health(provider: UpstreamName): ProviderHealth;
  close(): Promise<void>;
}

/** The process's client. */
export interface HttpClient extends Http {
  /** Tokens left in this process's view of the provider's quota bucket (cheaper than health()). */
  quotaLeft(provider: UpstreamName): number;
  /**
   * A view whose calls count against, and are limited by, one request's budget. Same pool, quotas and
   * breakers; its close() does nothing (the pool is the process's). With `trace`, every call is a span.
   */
  forRequest(budget: UpstreamBudget, trace?: RequestTrace): Http;
}
