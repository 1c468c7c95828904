import type { Redis } from 'ioredis';

// Who produces a topic (opens its upstream stream or runs its poller). In one process every claim is
// granted at once. Across processes a lease in Redis gives each topic to exactly one holder: the
// holder renews it every `renewMs` (it expires after `ttlMs` unless renewed), and every other process
// that wants the topic (has listeners on it) retries every `retryMs`, so when the holder dies the
// lease expires and one of them takes over within ttlMs + retryMs.
// Contract: `acquired` and `lost` alternate, starting with `acquired`; after `release` neither is
// called again. A holder that cannot reach Redis for longer than ttlMs assumes the lease lost (someone
// else may hold it by now) and keeps competing.

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
  /** When Redis last confirmed we hold it (performance.now()). */
  confirmedAt: number;
  /** When the last claim attempt started (performance.now()). */
  triedAt: number;
  inFlight: boolean;
  released: boolean;
}

export interface RedisLeasesDeps {
  redis: Redis;
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
  const claims = new Map<string, Claim>();
  let timer: NodeJS.Timeout | undefined;
  let lastError = 0;

  function reportError(error: unknown) {
    // One report per renew period is enough to say Redis is unreachable.
    const t = performance.now();
    if (t - lastError < renewMs) return;
    lastError = t;
    deps.onError?.(error);
  }

  async function attempt(claim: Claim) {
    if (claim.inFlight || claim.released) return;
    claim.inFlight = true;
    const started = performance.now();
    claim.triedAt = started;
    let ours: boolean | undefined;
    try {
      ours = (await deps.redis.eval(CLAIM, 1, deps.prefix + claim.key, deps.owner, ttlMs)) === 1;
    } catch (error) {
      reportError(error);
    } finally {
      claim.inFlight = false;
    }
    if (claim.released) {
      if (ours) void release(claim.key);
      return;
    }
    if (ours === true) {
      claim.confirmedAt = started;
      if (!claim.held) {
        claim.held = true;
        call(claim.handlers.acquired);
      }
    } else if (claim.held && (ours === false || performance.now() - claim.confirmedAt > ttlMs)) {
      claim.held = false;
      call(claim.handlers.lost);
    }
  }

  function call(fn: () => void) {
    try {
      fn();
    } catch (error) {
      deps.onError?.(error);
    }
  }

  async function release(key: string) {
    try {
      await deps.redis.eval(RELEASE, 1, deps.prefix + key, deps.owner);
    } catch (error) {
      reportError(error);
    }
  }

  function tick() {
    const t = performance.now();
    for (const claim of claims.values()) {
      // A small margin keeps renewals on the renewMs beat despite timer jitter.
      if (!claim.held || t - claim.triedAt >= renewMs - retryMs / 2) void attempt(claim);
    }
  }

  return {
    claim(key, handlers) {
      if (claims.has(key)) throw new Error(`leases: ${key} is already claimed in this process`);
      const claim: Claim = {
        key,
        handlers,
        held: false,
        confirmedAt: 0,
        triedAt: 0,
        inFlight: false,
        released: false,
      };
      claims.set(key, claim);
      timer ??= setInterval(tick, retryMs);
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
