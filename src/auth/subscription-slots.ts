import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { UNAVAILABLE } from '../redis.js';
import type { Client } from './client.js';

// A client's concurrent subscriptions (plan.maxSubscriptions), counted across every process that
// shares Redis. Each open subscription is a member `<process id>:<seq>` of the sorted set
// `<prefix>subs:<client id>`, scored by when its lease runs out; a script drops the expired members,
// counts the rest and adds the new one only below the cap, in one step, so two processes cannot both
// take the last slot. The holder renews its members' leases on a timer and removes a member when its
// stream ends; a process that dies without saying so frees its slots when their leases run out.
// Scores are the processes' own clocks: machines sharing one Redis are assumed to agree on the time to
// well within a lease.
// Redis is never waited on past its budget (RedisConnection.run): while it cannot answer, this
// process's own count decides, as it did before slots were shared. Subscriptions admitted that way
// join the shared set at the next renewal after Redis returns, so a client may briefly hold more than
// its cap across processes then; new ones are refused until it is under again.

export interface SubscriptionSlots {
  /** A slot, or undefined when the client holds plan.maxSubscriptions already. Never rejects. */
  open(client: Client): Promise<(() => void) | undefined>;
  /** Subscriptions the client holds in this process. */
  held(client: Client): number;
  /** Stops renewing leases (members left in Redis expire by themselves). */
  close(): void;
}

/** RedisConnection.run and the key prefix: all the slots need of Redis. */
export interface SlotStore {
  run<T>(command: (client: Redis) => Promise<T>): Promise<T | typeof UNAVAILABLE>;
  keyPrefix: string;
}

/** setTimeout and clearTimeout, injectable so tests renew leases without waiting. */
export interface SlotTimers {
  set(run: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const REAL_TIMERS: SlotTimers = {
  // Renewing leases never keeps the process alive.
  set: (run, ms) => setTimeout(run, ms).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export const SUBSCRIPTION_LEASE_MS = 30_000;

/**
 * KEYS[1] the client's set; ARGV now, lease expiry, cap, member, key TTL (ms). 1 when admitted.
 * The key's own TTL outlives every lease in it, so a client that is gone leaves nothing behind.
 */
export const OPEN_SLOT_SCRIPT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`;

export function createSubscriptionSlots(
  deps: {
    store?: SlotStore;
    now?: () => number;
    leaseMs?: number;
    timers?: SlotTimers;
    /** Names this process's members (default: random). */
    processId?: string;
  } = {},
): SubscriptionSlots {
  const { store } = deps;
  const now = deps.now ?? Date.now;
  const leaseMs = deps.leaseMs ?? SUBSCRIPTION_LEASE_MS;
  const timers = deps.timers ?? REAL_TIMERS;
  const processId = deps.processId ?? randomUUID();
  /** Per client id: the members this process holds. */
  const open = new Map<string, Set<string>>();
  let seq = 0;
  let renewal: unknown;
  let closed = false;

  const keyOf = (clientId: string) => `${store?.keyPrefix ?? ''}subs:${clientId}`;

  function schedule() {
    if (renewal !== undefined || closed || !store || open.size === 0) return;
    renewal = timers.set(() => {
      renewal = undefined;
      void renew().finally(schedule);
    }, leaseMs / 3);
  }

  /** Pushes every held member's lease forward; re-adds any Redis dropped or never saw. */
  async function renew() {
    if (!store || open.size === 0) return;
    const expiry = now() + leaseMs;
    const entries = [...open].map(([clientId, members]) => [keyOf(clientId), [...members]] as const);
    await store.run((redis) => {
      const batch = redis.pipeline();
      for (const [key, members] of entries) {
        batch.zadd(key, ...members.flatMap((m) => [expiry, m]));
        batch.pexpire(key, 2 * leaseMs);
      }
      return batch.exec();
    });
  }

  function hold(clientId: string, member: string): () => void {
    let members = open.get(clientId);
    if (!members) {
      members = new Set();
      open.set(clientId, members);
    }
    members.add(member);
    schedule();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const held = open.get(clientId);
      held?.delete(member);
      if (held?.size === 0) open.delete(clientId);
      if (open.size === 0 && renewal !== undefined) {
        timers.clear(renewal);
        renewal = undefined;
      }
      if (store) void store.run((redis) => redis.zrem(keyOf(clientId), member));
    };
  }

  return {
    async open(client) {
      const max = client.plan.maxSubscriptions;
      const local = open.get(client.id)?.size ?? 0;
      // What this process holds is open whatever Redis says: no need to ask it.
      if (local >= max) return undefined;
      seq += 1;
      const member = `${processId}:${seq}`;
      if (store) {
        const t = now();
        const admitted = await store.run((redis) =>
          redis.eval(OPEN_SLOT_SCRIPT, 1, keyOf(client.id), t, t + leaseMs, max, member, 2 * leaseMs),
        );
        if (admitted === 0) return undefined;
        // Redis could not answer: this process's count decides. Count again, another open may have
        // taken the last local slot while this one waited.
        if (admitted !== 1 && (open.get(client.id)?.size ?? 0) >= max) return undefined;
      }
      return hold(client.id, member);
    },
    held: (client) => open.get(client.id)?.size ?? 0,
    close() {
      closed = true;
      if (renewal !== undefined) timers.clear(renewal);
      renewal = undefined;
    },
  };
}
