import type { ZodType } from 'zod';
import type { UpstreamName } from './config.js';
import type { UpstreamCode } from './errors.js';

// The one way to call a provider. INTERFACE ONLY for now: the implementation (createHttp) is being
// written; sources code against these types.

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
  /** For providers that answer errors with HTTP 200 (Etherscan status "0", Token Metrics success:false). */
  envelopeError?: (body: unknown) => { code: UpstreamCode; message: string; retryAfter?: number } | undefined;
  /** Overrides the configured per-call deadline (ms). */
  deadlineMs?: number;
  /** Cost against the provider's quota bucket (Binance weights); 1 by default. */
  cost?: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface ProviderHealth {
  provider: UpstreamName;
  breaker: BreakerState;
  /** Tokens left in this process's view of the quota bucket. */
  quotaLeft: number;
  /** Latency of the last completed call, ms; null before the first. */
  lastLatencyMs: number | null;
  lastError: string | null;
  /** Epoch ms until which the provider asked us (Retry-After) not to call; 0 when not blocked. */
  blockedUntil: number;
}

export interface Http {
  get<T>(call: HttpCall<T>): Promise<T>;
  health(provider: UpstreamName): ProviderHealth;
  close(): Promise<void>;
}
