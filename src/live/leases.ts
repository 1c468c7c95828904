import type { Redis } from 'ioredis';
import { LATE, type RedisState, withinBudget } from '../redis.js';

// Who produces a topic (opens its upstream stream or runs its poller). In one process every claim is
// granted at once. Across processes a lease in Redis gives each topic to exactly one holder: the
// holder renews it every `renewMs` (it expires after `ttlMs` unless renewed), and every other process
// that wants the topic (has listeners on it) retries every `retryMs`, so when the holder dies the
// lease expires and one of them takes over within ttlMs + retryMs.
// Contract: `acquired` and `lost` alternate, starting with `acquired`; after `release` neither is
// called again.
// Without Redis a process produces every topic it wants itself: its listeners have no other source,
// since the bus delivers in process then too (bus.ts). So while Redis is down (`state()`), or has
// failed every attempt for longer than ttlMs, a claim is granted locally and a holder keeps its
// lease; when Redis is back (at once, on reconnect) each claim competes as usual and a process that
// Redis does not grant gives the lease up. Before the first connection settled, claims just wait. Between processes that lost Redis, one
// upstream stream per asset becomes one per asset and process until it returns.

export interface LeaseHandlers {
  acquired(): void;
  lost(): void;
}

export interface Leases {
  /** Competes for `key` until the returned release is called (which gives the lease up at once). */
  claim(key: string, handlers: LeaseHandlers): () => void;
  /** Keys this process holds now. */
  held(): string[];
  close(): Promise<void>;
}

export function createLocalLeases(): Leases {
  const held = new Map<string, LeaseHandlers>();
  return {
    claim(key, handlers) {
      if (held.has(key)) throw new Error(`leases: ${key} is already claimed in this process`);
      held.set(key, handlers);
      handlers.acquired();
      return () => {
        if (held.get(key) !== handlers) return;
        held.delete(key);
        handlers.lost();
      };
    },
    held: () => [...held.keys()],
    async close() {
      const all = [...held.values()];
      held.clear();
      for (const handlers of all) handlers.lost();
    },
  };
}

// Takes the lease when it is free or already ours (then extends it); 1 when we hold it afterwards.
const CLAIM = `
local v = redis.call('get', KEYS[1])
if v == false then
  redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
elseif v == ARGV[1] then
  redis.call('pexpire', KEYS[1], ARGV[2])
  return 1
end
return 0`;

const RELEASE = `
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0`;

interface Claim {
  key: string;
  handlers: LeaseHandlers;
  held: boolean;
  /** When the last claim attempt started (performance.now()). */
  triedAt: number;
  /** When attempts started failing (performance.now()); undefined after an answer. */
  failingSince: number | undefined;
  inFlight: boolean;
  released: boolean;
}

export interface RedisLeasesDeps {
  redis: Redis;
  /** Whether Redis can be asked (default: from the client's status); 'down' grants claims locally. */
  state?: () => RedisState;
  /** How long one attempt may take before it counts as failed (default ttlMs / 3). */
  timeoutMs?: number;
  /** Told when an attempt did not get its answer within timeoutMs (RedisConnection.reportLate). */
  onLate?: () => void;
  /** Calls `listener` whenever Redis becomes reachable again (default: the client's 'ready'); returns the unsubscribe. */
  onReachable?: (listener: () => void) => () => void;
  /** Unique per process, e.g. `${hostname}:${pid}:${random}`; stored as the lease's value. */
  owner: string;
  /** Key prefix, e.g. 'marketgraph:live:lease:'. */
  prefix: string;
  ttlMs?: number;
  renewMs?: number;
  /** How often a process that wants a lease held elsewhere tries to take it (default renewMs / 2). */
  retryMs?: number;
  onError?: (error: unknown) => void;
}

export function createRedisLeases(deps: RedisLeasesDeps): Leases {
  const ttlMs = deps.ttlMs ?? 3_000;
  const renewMs = deps.renewMs ?? 1_000;
  const retryMs = Math.min(renewMs, deps.retryMs ?? renewMs / 2);
  if (!(renewMs * 2 <= ttlMs)) {
    throw new RangeError(`leases: renewMs (${renewMs}) must be at most half of ttlMs (${ttlMs})`);
  }
  const state = deps.state ?? (() => clientState(deps.redis));
  const timeoutMs = deps.timeoutMs ?? ttlMs / 3;
  const claims = new Map<string, Claim>();
  let timer: NodeJS.Timeout | undefined;
  let lastError = 0;
  // A reconnect is when processes that produced locally should find out who produces now.
  const onReachable =
    deps.onReachable ??
    ((listener: () => void) => {
      deps.redis.on('ready', listener);
      return () => deps.redis.off('ready', listener);
    });
  const stopWatching = onReachable(() => tick(true));

  function reportError(error: unknown) {
    // One report per renew period is enough to say Redis is unreachable.
    const t = performance.now();
    if (t - lastError < renewMs) return;
    lastError = t;
    deps.onError?.(error);
  }

  async function attempt(claim: Claim) {
    if (claim.inFlight || claim.released) return;
    const started = performance.now();
    claim.triedAt = started;
    const redis = state();
    if (redis !== 'up') {
      if (redis === 'down') grantLocally(claim);
      return;
    }
    claim.inFlight = true;
    let ours: boolean | undefined;
    try {
      const answer = await withinBudget(
        deps.redis.eval(CLAIM, 1, deps.prefix + claim.key, deps.owner, ttlMs),
        timeoutMs,
      );
      if (answer === LATE) {
        deps.onLate?.();
        throw new Error(`leases: Redis did not answer within ${timeoutMs} ms`);
      }
      ours = answer === 1;
    } catch (error) {
      reportError(error);
    } finally {
      claim.inFlight = false;
    }
    if (claim.released) {
      if (ours) void release(claim.key);
      return;
    }
    if (ours === undefined) {
      claim.failingSince ??= started;
      if (performance.now() - claim.failingSince > ttlMs) grantLocally(claim);
      return;
    }
    claim.failingSince = undefined;
    if (ours) {
      if (!claim.held) {
        claim.held = true;
        call(claim.handlers.acquired);
      }
    } else if (claim.held) {
      claim.held = false;
      call(claim.handlers.lost);
    }
  }

  function grantLocally(claim: Claim) {
    if (claim.held) return;
    claim.held = true;
    call(claim.handlers.acquired);
  }

  function call(fn: () => void) {
    try {
      fn();
    } catch (error) {
      deps.onError?.(error);
    }
  }

  async function release(key: string) {
    if (state() !== 'up') return;
    try {
      await withinBudget(deps.redis.eval(RELEASE, 1, deps.prefix + key, deps.owner), timeoutMs);
    } catch (error) {
      reportError(error);
    }
  }

  function tick(all = false) {
    const t = performance.now();
    for (const claim of claims.values()) {
      // A small margin keeps renewals on the renewMs beat despite timer jitter.
      if (all || !claim.held || t - claim.triedAt >= renewMs - retryMs / 2) void attempt(claim);
    }
  }

  return {
    claim(key, handlers) {
      if (claims.has(key)) throw new Error(`leases: ${key} is already claimed in this process`);
      const claim: Claim = {
        key,
        handlers,
        held: false,
        triedAt: 0,
        failingSince: undefined,
        inFlight: false,
        released: false,
      };
      claims.set(key, claim);
      timer ??= setInterval(() => tick(), retryMs);
      void attempt(claim);
      return () => {
        if (claim.released) return;
        claim.released = true;
        claims.delete(key);
        if (claims.size === 0 && timer) {
          clearInterval(timer);
          timer = undefined;
        }
        if (claim.held) {
          claim.held = false;
          call(handlers.lost);
          void release(key);
        }
      };
    },
    held: () => [...claims.values()].filter((c) => c.held).map((c) => c.key),
    async close() {
      stopWatching();
      if (timer) clearInterval(timer);
      timer = undefined;
      const held = [...claims.values()].filter((c) => c.held);
      for (const claim of claims.values()) claim.released = true;
      claims.clear();
      for (const claim of held) call(claim.handlers.lost);
      await Promise.all(held.map((c) => release(c.key)));
    },
  };
}

function clientState(redis: Redis): RedisState {
  if (redis.status === 'ready') return 'up';
  return redis.status === 'wait' || redis.status === 'connecting' || redis.status === 'connect'
    ? 'connecting'
    : 'down';
}
