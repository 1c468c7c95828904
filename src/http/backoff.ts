// Exponential backoff with full jitter: a uniform delay in [0, min(cap, base * 2^attempt)).
// Full jitter spreads concurrent retriers the most, which matters when they all hit the same 429.

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 250, capMs: 4_000 };

export function computeBackoffMs(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

/** Resolves after `ms` (immediately for ms ≤ 0); the timer never keeps the process alive. */
export function waitFor(ms: number): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
