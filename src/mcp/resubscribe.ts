import { type BackoffPolicy, computeBackoffMs } from '../http/backoff.js';

// When a live price subscription fails after it started: which failures another try can fix, and how
// long to wait before it. The wait is exponential with full jitter, so the sessions of a gateway that
// lost every stream at once (a drain, a provider outage) do not all come back in the same instant,
// and never shorter than a Retry-After the gateway gave.

export const RESUBSCRIBE_BACKOFF: BackoffPolicy = { baseMs: 1_000, capMs: 30_000 };

/** Codes about the request or the caller: the same subscription again gets the same answer. */
const TERMINAL = new Set([
  'NOT_FOUND',
  'FORBIDDEN',
  'UNAUTHENTICATED',
  'BAD_USER_INPUT',
  'NOT_AVAILABLE',
  'COST_LIMIT_EXCEEDED',
  'TRUSTED_DOCUMENT_REQUIRED',
  'PERSISTED_QUERY_NOT_FOUND',
  'GRAPHQL_VALIDATION_FAILED',
  'GRAPHQL_PARSE_FAILED',
]);

export function isRetryable(code: string): boolean {
  return !TERMINAL.has(code);
}

export function resubscribeDelayMs(
  attempt: number,
  retryAfterSeconds: number | undefined,
  random: () => number,
  policy: BackoffPolicy = RESUBSCRIBE_BACKOFF,
): number {
  return Math.max((retryAfterSeconds ?? 0) * 1_000, computeBackoffMs(attempt, policy, random));
}

/** setTimeout and clearTimeout, injectable so tests move time instead of sleeping. */
export interface Timers {
  set(run: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const REAL_TIMERS: Timers = {
  // A pending re-subscription never keeps the process alive.
  set: (run, ms) => setTimeout(run, ms).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
