import { createRequire } from 'node:module';
import type { Redis, RedisOptions } from 'ioredis';
import type { Config } from './config.js';

// The gateway's two Redis connections and what every Redis user may assume about them.
//   commands    cache reads and writes, quota buckets, leases, publishing live events
//   subscriber  live events (a subscribed connection can do nothing else)
// Redis is an accelerator, never a dependency: no call waits for a connection (no offline queue),
// every caller bounds its call with `withinBudget` and carries on without Redis past it, and nothing
// a connection emits or rejects can reach an unhandled 'error' event or rejection. Both connections
// reconnect for ever (backoff capped at MAX_RECONNECT_DELAY_MS); `up()` is true while both are ready.
// A server that keeps its connections open but stops answering (hung, overloaded, paused) looks
// ready to ioredis: a caller that missed its budget says so (`reportLate`), and Redis then counts as
// down until a PING answers within the budget again, so only the calls in flight at that moment pay
// the budget, not every call for the length of the hang.

export interface RedisConnection {
  commands: Redis;
  subscriber: Redis;
  /** Budget of one call, ms (config.redis.timeoutMs). */
  timeoutMs: number;
  /** Prefix of every key and channel (config.redis.prefix). */
  prefix: string;
  /** True while both connections are ready and Redis answers within the budget. */
  up(): boolean;
  /** A call did not get its answer within the budget: treat Redis as down until a PING answers in time. */
  reportLate(): void;
  /**
   * Runs one command on `commands` within the budget: its value, or UNAVAILABLE when Redis is down,
   * the command failed, or it was late (reported). Never rejects.
   */
  run<T>(command: (client: Redis) => Promise<T>): Promise<T | typeof UNAVAILABLE>;
  /** 'connecting' until the first connection attempt settled; then 'up' while `up()`, else 'down'. */
  state(): RedisState;
  /** Calls `listener` each time `up()` becomes true; returns the unsubscribe. */
  onUp(listener: () => void): () => void;
  /**
   * Resolves once the first connection attempt has settled (ready or failed) or after `budgetMs`:
   * a process taking traffic the moment it listens should not skip a Redis that is a millisecond away.
   */
  firstConnect(budgetMs: number): Promise<void>;
  close(): Promise<void>;
}

export type RedisState = 'connecting' | 'up' | 'down';

export interface RedisConnectionDeps {
  config: Config;
  /** Told once per change of `up()`; the error is the last one seen when Redis went away. */
  onChange?: (up: boolean, error: Error | undefined) => void;
  /** Every error a connection emits (reconnect attempts included): debug logging at most. */
  onError?: (error: Error) => void;
}

const MAX_RECONNECT_DELAY_MS = 2_000;
const PROBE_EVERY_MS = 500;

// ioredis is loaded by the first connection, not at import, so a gateway without REDIS_URL never holds
// it in memory (docs/benchmarks.md, "Start lighter"). It is a CommonJS package: require loads it
// synchronously, keeping createRedisConnection synchronous.
const requireFromHere = createRequire(import.meta.url);
function loadRedisClient(): typeof Redis {
  return (requireFromHere('ioredis') as typeof import('ioredis')).Redis;
}

export function createRedisConnection(deps: RedisConnectionDeps): RedisConnection {
  const { config } = deps;
  const url = config.redisUrl;
  if (!url) throw new Error('createRedisConnection: config.redisUrl is not set');
  const timeoutMs = config.redis.timeoutMs;
  const options: RedisOptions = {
    connectTimeout: config.redis.connectTimeoutMs,
    // Callers give up after timeoutMs (withinBudget); ioredis's own timeout is only a backstop that
    // reaps commands a connected-but-silent server never answers. It is not the budget itself: after an
    // event-loop stall its timer fires before the answer waiting on the socket is read.
    commandTimeout: Math.max(1_000, 4 * timeoutMs),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt) => Math.min(MAX_RECONNECT_DELAY_MS, 50 * 2 ** Math.min(attempt, 6)),
    // The bus resubscribes its channels itself on 'ready' (see src/live/bus.ts).
    autoResubscribe: false,
  };
  const RedisClient = loadRedisClient();
  const commands = new RedisClient(url, options);
  const subscriber = new RedisClient(url, options);

  /** Undefined until the first connection attempt settled, so the first state is reported too. */
  let up: boolean | undefined;
  let lastError: Error | undefined;
  const upListeners = new Set<() => void>();
  let settled = false;
  let settle: () => void = () => {};
  const firstAttempt = new Promise<void>((resolve) => {
    settle = () => {
      settled = true;
      resolve();
    };
  });
  let closing = false;
  /** Set by reportLate until a probe answers in time. */
  let unresponsive = false;
  let probe: NodeJS.Timeout | undefined;
  const scheduleProbe = () => {
    probe = setTimeout(async () => {
      const answer = await withinBudget(commands.ping(), timeoutMs).catch((): typeof LATE => LATE);
      if (closing) return;
      if (answer === LATE) return scheduleProbe();
      probe = undefined;
      unresponsive = false;
      update();
    }, PROBE_EVERY_MS);
    probe.unref();
  };
  const reportLate = () => {
    if (unresponsive || closing) return;
    unresponsive = true;
    lastError = new Error(`Redis did not answer within ${timeoutMs} ms`);
    update();
    scheduleProbe();
  };
  const update = () => {
    if (!settled || closing) return;
    const now = commands.status === 'ready' && subscriber.status === 'ready' && !unresponsive;
    if (now === up) return;
    up = now;
    guard(() => deps.onChange?.(now, now ? undefined : lastError));
    if (up) for (const listener of upListeners) guard(listener);
  };
  // Listeners run inside ioredis's event handlers, where a throw would be an uncaught exception.
  const guard = (fn: () => void) => {
    try {
      fn();
    } catch (error) {
      report(error instanceof Error ? error : new Error(String(error)));
    }
  };
  const report = (error: Error) => {
    try {
      deps.onError?.(error);
    } catch {
      // The error sink itself failed; there is nowhere left to report to.
    }
  };
  for (const client of [commands, subscriber]) {
    client.on('error', (error: Error) => {
      lastError = error;
      report(error);
    });
    client.on('ready', () => {
      if (commands.status === 'ready' && subscriber.status === 'ready') settle();
      update();
    });
    for (const event of ['close', 'end', 'reconnecting']) {
      client.on(event, () => {
        if (client.status !== 'connecting' && client.status !== 'connect') settle();
        update();
      });
    }
  }

  return {
    commands,
    subscriber,
    timeoutMs,
    prefix: config.redis.prefix,
    up: () => up === true,
    reportLate,
    async run<T>(command: (client: Redis) => Promise<T>): Promise<T | typeof UNAVAILABLE> {
      if (up !== true) return UNAVAILABLE;
      let pending: Promise<T>;
      try {
        pending = command(commands);
      } catch {
        return UNAVAILABLE;
      }
      const answer = await withinBudget(pending, timeoutMs).catch((): typeof UNAVAILABLE => UNAVAILABLE);
      if (answer !== LATE) return answer;
      reportLate();
      return UNAVAILABLE;
    },
    state: () => (up === undefined ? 'connecting' : up ? 'up' : 'down'),
    onUp(listener) {
      const entry = () => listener();
      upListeners.add(entry);
      return () => upListeners.delete(entry);
    },
    firstConnect(budgetMs) {
      if (settled || budgetMs <= 0) return Promise.resolve();
      return withinBudget(firstAttempt, budgetMs).then(() => undefined);
    },
    async close() {
      closing = true;
      clearTimeout(probe);
      subscriber.disconnect();
      await withinBudget(
        commands.quit().catch(() => undefined),
        timeoutMs,
      );
      commands.disconnect();
    },
  };
}

/** What `RedisConnection.run` resolves to when Redis could not give an answer. */
export const UNAVAILABLE: unique symbol = Symbol('unavailable');

/** What `withinBudget` resolves to when the promise did not settle within the budget. */
export const LATE: unique symbol = Symbol('late');

/**
 * Races `promise` against `budgetMs`. Rejections of `promise` are always handled (also when it loses).
 * Timers run before I/O in each event-loop turn: after a stall longer than the budget the timer would
 * win though the answer is already waiting on the socket, so "late" is decided one turn later, after
 * that I/O was read.
 */
export function withinBudget<T>(promise: Promise<T>, budgetMs: number): Promise<T | typeof LATE> {
  promise.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof LATE>((resolve) => {
    timer = setTimeout(() => setImmediate(() => resolve(LATE)), Math.max(0, budgetMs));
    timer.unref();
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
