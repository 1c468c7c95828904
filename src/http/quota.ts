import type { Redis } from 'ioredis';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import type { Config, UpstreamName } from '../config.js';
import { LATE, withinBudget } from '../redis.js';
import { waitFor } from './backoff.js';

// One quota bucket per provider: `rpm` tokens per 60 s window, `cost` tokens per attempt. The bucket
// queues or sheds before the provider has to answer 429: a caller waits for the window that frees
// its tokens when that is within its deadline, and is refused at once otherwise, never left hanging.
//
// With a Redis client the bucket lives in Redis (one key per provider under `keyPrefix`), so every
// gateway process sharing the prefix draws from the same tokens. If Redis is not ready, fails, or does
// not answer within config.redis.timeoutMs, the bucket falls back to a per-process memory bucket
// instead of blocking calls on a dead store; it uses Redis again as soon as Redis answers.

export interface QuotaStore {
  redis: Redis;
  /** Key prefix shared by every process that should draw from the same buckets. */
  keyPrefix?: string;
  /** False skips the store altogether (the per-process bucket answers); default: always try it. */
  available?: () => boolean;
  /** Told when the store did not answer within its budget (RedisConnection.reportLate). */
  onLate?: () => void;
}

/** `reserved`: refused because the call would have taken the bucket below its `floor`. */
export type QuotaGrant = { ok: true } | { ok: false; retryAfterMs: number; reserved?: boolean };

export interface Quota {
  /**
   * Takes `cost` tokens, waiting for them within `deadlineAt`. With a `floor`, the call takes them only
   * while at least `floor` tokens stay in the window for other callers, and is refused at once
   * (`reserved`) otherwise: what work outside requests gets, so that it never empties a bucket.
   */
  acquire(provider: UpstreamName, cost: number, deadlineAt: number, floor?: number): Promise<QuotaGrant>;
  /** Tokens left in this process's view of the current window. */
  left(provider: UpstreamName): number;
}

const WINDOW_SECONDS = 60;

interface Bucket {
  limiter: RateLimiterAbstract;
  /** The per-process bucket used when the shared store is not ready or too slow. */
  fallback: RateLimiterAbstract;
}
export const DEFAULT_QUOTA_PREFIX = 'marketgraph:quota';

export function createQuota(deps: {
  config: Config;
  store?: QuotaStore;
  now: () => number;
  /** Bucket window; 60 s (requests per minute) unless a test needs it short. */
  windowSeconds?: number;
  onLeft?: (provider: UpstreamName, tokens: number) => void;
}): Quota {
  const { config, store, now, onLeft } = deps;
  const duration = deps.windowSeconds ?? WINDOW_SECONDS;
  const storeTimeoutMs = config.redis.timeoutMs;
  const limiters = new Map<UpstreamName, Bucket>();
  const views = new Map<UpstreamName, { remaining: number; resetAt: number }>();

  function bucketFor(provider: UpstreamName): Bucket {
    let bucket = limiters.get(provider);
    if (!bucket) {
      const points = config.providers[provider].rpm;
      const keyPrefix = store?.keyPrefix ?? DEFAULT_QUOTA_PREFIX;
      const memory = new RateLimiterMemory({ points, duration, keyPrefix });
      const limiter = store
        ? new RateLimiterRedis({
            storeClient: store.redis,
            points,
            duration,
            keyPrefix,
            rejectIfRedisNotReady: true,
            insuranceLimiter: memory,
          })
        : memory;
      bucket = { limiter, fallback: memory };
      limiters.set(provider, bucket);
    }
    return bucket;
  }

  /** A store that is up but does not answer in time must not hold the caller: use the memory bucket. */
  /** The bucket's answer, and the limiter that gave it (a floor gives the tokens back to it). */
  async function consume(
    bucket: Bucket,
    provider: UpstreamName,
    tokens: number,
    deadlineAt: number,
    /** Told which limiter is asked, before it answers (a refusal rejects: see acquire). */
    asking: (limiter: RateLimiterAbstract) => void = () => undefined,
  ): Promise<[RateLimiterRes, RateLimiterAbstract]> {
    const from = async (limiter: RateLimiterAbstract) => {
      asking(limiter);
      return [await limiter.consume(provider, tokens), limiter] as [RateLimiterRes, RateLimiterAbstract];
    };
    if (bucket.limiter === bucket.fallback || !store) return from(bucket.limiter);
    // A ready client that the connection counts as down is a hung server: skip it. A client that is
    // not ready is handled below (first connection) and by rejectIfRedisNotReady.
    if (store.available && !store.available() && store.redis.status === 'ready') {
      return from(bucket.fallback);
    }
    await waitWhileConnecting(store.redis, Math.min(storeTimeoutMs, deadlineAt - now()));
    // The store's budget starts when the command is sent. Measured from before the await above, it
    // also counted whatever kept this process busy meanwhile (a stall longer than the budget left 0 ms
    // for a store that answers in 1 ms), and the per-process fallback then granted a token the shared
    // bucket had refused. withinBudget also lets an answer already on the socket win after a stall.
    const budget = Math.max(0, Math.min(storeTimeoutMs, deadlineAt - now()));
    asking(bucket.limiter);
    const result = await withinBudget(bucket.limiter.consume(provider, tokens), budget);
    if (result !== LATE) return [result, bucket.limiter];
    store.onLate?.();
    return from(bucket.fallback);
  }

  function remember(provider: UpstreamName, res: RateLimiterRes): void {
    const remaining = Math.max(0, res.remainingPoints);
    views.set(provider, { remaining, resetAt: now() + res.msBeforeNext });
    onLeft?.(provider, remaining);
  }

  return {
    async acquire(provider, cost, deadlineAt, floor = 0) {
      const bucket = bucketFor(provider);
      // A call heavier than the whole bucket could never pass; let it take the whole bucket instead.
      const tokens = Math.max(1, Math.min(cost, bucket.limiter.points));
      // Under a floor the tokens are taken, then given back when too few stay (the bucket counts a
      // refused take too): check and take are one step of the bucket, so concurrent calls cannot all
      // pass a check made before any of them took its tokens.
      const giveBack = async (limiter: RateLimiterAbstract, res: RateLimiterRes): Promise<QuotaGrant> => {
        remember(provider, await limiter.reward(provider, tokens).catch(() => res));
        return { ok: false, retryAfterMs: Math.max(1, res.msBeforeNext), reserved: true };
      };
      for (;;) {
        let limiter: RateLimiterAbstract | undefined;
        try {
          const [res, from] = await consume(bucket, provider, tokens, deadlineAt, (l) => {
            limiter = l;
          });
          if (floor > 0 && res.remainingPoints < floor) return giveBack(from, res);
          remember(provider, res);
          return { ok: true };
        } catch (error) {
          if (!(error instanceof RateLimiterRes)) throw error;
          if (floor > 0 && limiter) return giveBack(limiter, error);
          remember(provider, error);
          const wait = Math.max(1, error.msBeforeNext);
          if (now() + wait > deadlineAt) return { ok: false, retryAfterMs: wait };
          await waitFor(wait);
        }
      }
    },
    left(provider) {
      const view = views.get(provider);
      if (!view || now() >= view.resetAt) return config.providers[provider].rpm;
      return view.remaining;
    },
  };
}

/**
 * A client still making its first connection is a slow store, not a dead one: without this wait, a
 * process that takes traffic the moment it listens would spend its first calls from the per-process
 * fallback bucket, unseen by the shared one. A client that lost its connection ('reconnecting') or
 * was never told to connect ('wait') is not waited for.
 */
function waitWhileConnecting(redis: Redis, budgetMs: number): Promise<void> {
  if ((redis.status !== 'connecting' && redis.status !== 'connect') || budgetMs <= 0)
    return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      redis.off('end', done);
      resolve();
    };
    const timer = setTimeout(done, budgetMs).unref();
    redis.once('ready', done);
    redis.once('end', done);
  });
}
