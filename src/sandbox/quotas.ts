import type { ProviderName } from '../market/model.js';
import type { Dialect, SandboxRequest, SandboxResponse } from './dialect.js';

// Each provider's quota, enforced the way the provider does: a fixed window of `limit` weight, the
// provider's own 429 with Retry-After once it is spent, and its ban for a client that keeps calling.

export interface Quota {
  limit: number;
  windowMs: number;
}

export interface Quotas {
  /** The response that replaces the normal one when the quota is spent; undefined to serve it. */
  enforce(dialect: Dialect, request: SandboxRequest, endpoint: string): SandboxResponse | undefined;
  /** Weight spent in the current window (what Binance reports in X-MBX-USED-WEIGHT-1M). */
  used(provider: ProviderName): number;
  /** Replaces a provider's quota and starts a fresh window; null turns enforcement off. */
  set(provider: ProviderName, quota: Quota | null): void;
}

interface QuotaState extends Quota {
  windowStart: number;
  used: number;
  /** Set once a 429 was sent; a call before it elapses is "ignoring the 429". */
  blockedUntil: number;
}

export function createQuotas(now: () => number): Quotas {
  const states = new Map<ProviderName, QuotaState | null>();
  return {
    enforce(dialect, request, endpoint) {
      const q = states.get(dialect.provider);
      if (!q) return undefined;
      const t = now();
      if (t - q.windowStart >= q.windowMs) {
        q.windowStart = t - ((t - q.windowStart) % q.windowMs);
        q.used = 0;
      }
      const retryAfter = Math.max(1, Math.ceil((q.windowStart + q.windowMs - t) / 1000));
      if (t < q.blockedUntil && dialect.banned) return dialect.banned(retryAfter);
      q.used += dialect.weight?.(endpoint, request) ?? 1;
      if (q.used <= q.limit) return undefined;
      q.blockedUntil = q.windowStart + q.windowMs;
      return dialect.rateLimited(retryAfter);
    },
    used(provider) {
      return states.get(provider)?.used ?? 0;
    },
    set(provider, quota) {
      states.set(provider, quota ? { ...quota, windowStart: now(), used: 0, blockedUntil: 0 } : null);
    },
  };
}

/** The quota a dialect runs with: off, the caller's override, or the provider's documented one. */
export function chooseQuota(
  dialect: Dialect,
  option: boolean | Partial<Record<ProviderName, Quota>> | undefined,
): Quota | null {
  if (option === false) return null;
  const override = typeof option === 'object' ? option[dialect.provider] : undefined;
  return override ?? dialect.quota;
}
