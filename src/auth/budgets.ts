import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import { once } from '../lazily.js';
import { LATE, withinBudget } from '../redis.js';
import type { Client } from './client.js';
import { createSubscriptionSlots, type SubscriptionSlots } from './subscription-slots.js';

// Per-client budgets: requests per minute and estimated upstream cost per minute, one bucket of each
// per client id (a key's id, a JWT's issuer and subject, an anonymous caller's address), with
// rate-limiter-flexible. With Redis the buckets live there under one prefix, so every process sharing
// it enforces one budget; when Redis is not ready, fails or is late (past config.redis.timeoutMs), a
// per-process bucket answers instead, and the caller never waits on a dead store. Concurrent
// subscriptions are counted per client by src/auth/subscription-slots.ts (across processes with Redis).

export type BudgetSnapshot = { requests: number; cost: number; resetMs: number };

export type ChargeOutcome =
  | { ok: true; snapshot: BudgetSnapshot }
  | { ok: false; limit: 'requests' | 'cost'; retryAfterMs: number; snapshot: BudgetSnapshot }
  /** The request alone costs more than the plan allows per minute: waiting would not help. */
  | { ok: false; limit: 'plan'; costPerMinute: number };

export interface ClientBudgets {
  /** Charges one request (or none, when the gate charged it) and `cost` (a refused cost is handed back). */
  charge(client: Client, amounts: { requests: 0 | 1; cost: number }): Promise<ChargeOutcome>;
  /**
   * Charges one request; synchronous while the process holds leased requests of the client (see
   * LEASE_SHARE), so a response-cache hit does not wait on the limiter.
   */
  chargeRequest(client: Client): ChargeOutcome | Promise<ChargeOutcome>;
  /** A subscription slot, or undefined when the client holds plan.maxSubscriptions already. */
  openSubscription(client: Client): Promise<(() => void) | undefined>;
  /** Subscriptions the client holds in this process. */
  subscriptions(client: Client): number;
  /** Stops the timers (subscription leases). */
  close(): void;
}

export interface BudgetStore {
  redis: Redis;
  /** Every process that should share budgets uses the same prefix. */
  keyPrefix: string;
  timeoutMs: number;
  /** False skips Redis (the per-process buckets answer). */
  available: () => boolean;
  onLate?: () => void;
}

const WINDOW_SECONDS = 60;

/**
 * Requests are taken from a client's bucket a lease at a time, a hundredth of its plan (at least one):
 * the process then spends the lease without asking the limiter (or Redis) per request. A lease is taken
 * whole or not at all, so a client never gets more than its plan; near the end of its budget, when a
 * whole lease no longer fits, requests are charged one by one. What a process leased and did not spend
 * by the end of the window is lost, so N processes may refuse a client up to N leases early.
 */
const LEASE_SHARE = 100;

interface Bucket {
  limiter: RateLimiterAbstract;
  fallback: RateLimiterAbstract;
}

export function createClientBudgets(
  deps: {
    store?: BudgetStore;
    now?: () => number;
    windowSeconds?: number;
    /** Default: counted in this process only. */
    slots?: SubscriptionSlots;
  } = {},
): ClientBudgets {
  const { store } = deps;
  const slots = deps.slots ?? createSubscriptionSlots({ now: deps.now });
  const now = deps.now ?? Date.now;
  const duration = deps.windowSeconds ?? WINDOW_SECONDS;
  /** One limiter per (kind, points): plans differ per client, the stored counts do not. */
  const buckets = new Map<string, Bucket>();
  // Made on the first charge: an LRU allocates its slots for `max` entries up front, and a gateway
  // without auth never charges.
  const views = once(
    () => new LRUCache<string, { requests: number; cost: number; resetAt: number }>({ max: 50_000 }),
  );
  const leases = once(() => new LRUCache<string, { left: number; resetAt: number }>({ max: 50_000 }));

  function bucket(kind: 'req' | 'cost', points: number): Bucket {
    const name = `${kind}:${points}`;
    let found = buckets.get(name);
    if (!found) {
      const keyPrefix = `${store?.keyPrefix ?? 'marketgraph:'}budget:${kind}`;
      const fallback = new RateLimiterMemory({ points, duration, keyPrefix });
      const limiter = store
        ? new RateLimiterRedis({
            storeClient: store.redis,
            points,
            duration,
            keyPrefix,
            rejectIfRedisNotReady: true,
            insuranceLimiter: fallback,
          })
        : fallback;
      found = { limiter, fallback };
      buckets.set(name, found);
    }
    return found;
  }

  /**
   * Consumes, never waiting past the store's budget. Says which limiter answered, so a refused cost is
   * handed back to the one that counted it.
   */
  async function consume(
    b: Bucket,
    key: string,
    points: number,
  ): Promise<{ granted: boolean; res: RateLimiterRes; used: RateLimiterAbstract }> {
    let used = b.limiter;
    try {
      if (b.limiter === b.fallback || !store)
        return { granted: true, res: await used.consume(key, points), used };
      if (!store.available()) {
        used = b.fallback;
        return { granted: true, res: await used.consume(key, points), used };
      }
      const answer = await withinBudget(b.limiter.consume(key, points), store.timeoutMs);
      if (answer !== LATE) return { granted: true, res: answer, used };
      store.onLate?.();
      used = b.fallback;
      return { granted: true, res: await used.consume(key, points), used };
    } catch (error) {
      if (error instanceof RateLimiterRes) return { granted: false, res: error, used };
      throw error;
    }
  }

  /** What the limiters last said was left (leases counted as spent). */
  function limiterView(client: Client): BudgetSnapshot {
    const view = views().get(client.id);
    const t = now();
    if (!view || t >= view.resetAt)
      return { requests: client.plan.requestsPerMinute, cost: client.plan.costPerMinute, resetMs: 0 };
    return { requests: view.requests, cost: view.cost, resetMs: view.resetAt - t };
  }

  function snapshotOf(client: Client): BudgetSnapshot {
    const view = views().get(client.id);
    const t = now();
    if (!view || t >= view.resetAt)
      return { requests: client.plan.requestsPerMinute, cost: client.plan.costPerMinute, resetMs: 0 };
    // The limiter counts a lease as spent when it is taken; what is left of it is the client's still.
    const lease = leases().get(client.id);
    const leased = lease && t < lease.resetAt ? lease.left : 0;
    return { requests: view.requests + leased, cost: view.cost, resetMs: view.resetAt - t };
  }

  async function chargeOne(client: Client): Promise<ChargeOutcome> {
    const { plan } = client;
    const b = bucket('req', plan.requestsPerMinute);
    const size = Math.max(1, Math.floor(plan.requestsPerMinute / LEASE_SHARE));
    if (size > 1) {
      const lease = await consume(b, client.id, size);
      if (lease.granted) {
        leases().set(client.id, { left: size - 1, resetAt: now() + lease.res.msBeforeNext });
        remember(client, 'requests', lease.res);
        return { ok: true, snapshot: snapshotOf(client) };
      }
      // A whole lease no longer fits: give it back and charge this one request alone.
      const reward = lease.used.reward(client.id, size).catch(() => undefined);
      await (store && lease.used !== b.fallback ? withinBudget(reward, store.timeoutMs) : reward);
    }
    const { granted, res } = await consume(b, client.id, 1);
    remember(client, 'requests', res);
    if (!granted)
      return {
        ok: false,
        limit: 'requests',
        retryAfterMs: Math.max(1, res.msBeforeNext),
        snapshot: snapshotOf(client),
      };
    return { ok: true, snapshot: snapshotOf(client) };
  }

  /** A lease being taken per client: concurrent requests wait for it rather than each taking one. */
  const taking = new Map<string, Promise<ChargeOutcome>>();

  function chargeRequest(client: Client): ChargeOutcome | Promise<ChargeOutcome> {
    const lease = leases().get(client.id);
    if (lease && lease.left > 0 && now() < lease.resetAt) {
      lease.left -= 1;
      return { ok: true, snapshot: snapshotOf(client) };
    }
    const inFlight = taking.get(client.id);
    if (inFlight) return inFlight.then(() => chargeRequest(client));
    const charged = chargeOne(client).finally(() => taking.delete(client.id));
    taking.set(client.id, charged);
    return charged;
  }

  function remember(client: Client, kind: 'requests' | 'cost', res: RateLimiterRes) {
    const previous = limiterView(client);
    const resetAt = now() + res.msBeforeNext;
    views().set(client.id, {
      ...previous,
      [kind]: Math.max(0, res.remainingPoints),
      resetAt: Math.max(resetAt, now() + previous.resetMs),
    });
  }

  return {
    async charge(client, { requests, cost }) {
      const { plan } = client;
      if (cost > plan.costPerMinute) return { ok: false, limit: 'plan', costPerMinute: plan.costPerMinute };
      if (requests === 1) {
        const charged = await chargeRequest(client);
        if (!charged.ok) return charged;
      }
      if (cost > 0) {
        const b = bucket('cost', plan.costPerMinute);
        const { granted, res, used } = await consume(b, client.id, cost);
        if (!granted) {
          // Hand the refused cost back, so a cheaper request can still spend what is left.
          const reward = used.reward(client.id, cost).catch(() => undefined);
          await (store && used !== b.fallback ? withinBudget(reward, store.timeoutMs) : reward);
          remember(
            client,
            'cost',
            new RateLimiterRes(
              Math.max(0, plan.costPerMinute - (res.consumedPoints - cost)),
              res.msBeforeNext,
            ),
          );
          return {
            ok: false,
            limit: 'cost',
            retryAfterMs: Math.max(1, res.msBeforeNext),
            snapshot: snapshotOf(client),
          };
        }
        remember(client, 'cost', res);
      }
      return { ok: true, snapshot: snapshotOf(client) };
    },
    chargeRequest,
    openSubscription: (client) => slots.open(client),
    subscriptions: (client) => slots.held(client),
    close: () => slots.close(),
  };
}
