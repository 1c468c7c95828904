import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createRedisBus } from '../../src/live/bus.js';
import { createChannels } from '../../src/live/channels.js';
import { createRedisLeases, type Leases } from '../../src/live/leases.js';
import { createRedisConnection, type RedisConnection } from '../../src/redis.js';
import { waitFor } from '../helpers/clients.js';
import { deleteKeys, redisTestUrl, testPrefix } from '../helpers/redis.js';
import { startPrivateRedis } from '../helpers/redis-server.js';

// Leases and the bus over a real Redis: one producer per topic among several "processes" (each its
// own connections, as src/redis.ts makes them), takeover after the holder dies, and events reaching
// every process. The shared Redis (REDIS_TEST_URL, default 127.0.0.1:6379) under a prefix of this run,
// whose keys it deletes; and a private redis-server the last test kills and restarts.

const prefix = testPrefix('live');
const connections: RedisConnection[] = [];
const opened: Leases[] = [];

function connect(url = redisTestUrl()) {
  const config = loadConfig({
    env: { REDIS_URL: url, MARKETGRAPH_REDIS_PREFIX: prefix, MARKETGRAPH_REDIS_TIMEOUT_MS: '200' },
  });
  const connection = createRedisConnection({ config });
  connections.push(connection);
  return connection;
}

/** One simulated gateway process: its own connections, leases and bus (wired as src/live/live.ts does). */
function process(name: string, options: { ttlMs?: number; renewMs?: number; url?: string } = {}) {
  const redis = connect(options.url);
  // Counts the lease script calls (claims and renewals) this process sends, per key: the tests wait
  // for renew periods to go by, counted, instead of sleeping.
  const evals = new Map<string, number>();
  const commands = new Proxy(redis.commands, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (property !== 'eval' || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const key = String(args[2]).slice(`${prefix}lease:`.length);
        evals.set(key, (evals.get(key) ?? 0) + 1);
        return value.apply(target, args);
      };
    },
  });
  const leases = createRedisLeases({
    redis: commands,
    state: redis.state,
    onReachable: redis.onUp,
    onLate: redis.reportLate,
    timeoutMs: 200,
    owner: name,
    prefix: `${prefix}lease:`,
    ttlMs: options.ttlMs ?? 600,
    renewMs: options.renewMs ?? 200,
  });
  opened.push(leases);
  const bus = createRedisBus({
    publisher: redis.commands,
    subscriber: redis.subscriber,
    prefix,
    up: redis.up,
  });
  const tries = (key: string) => evals.get(key) ?? 0;
  return { name, redis, leases, bus, tries, channels: createChannels({ bus, leases }) };
}

afterAll(async () => {
  await Promise.all(opened.map((leases) => leases.close()));
  const cleaner = new Redis(redisTestUrl(), { maxRetriesPerRequest: 1 });
  await deleteKeys(cleaner, prefix);
  cleaner.disconnect();
  await Promise.all(connections.map((c) => c.close()));
});

describe('redis leases', () => {
  it('gives a key to exactly one holder, renews it past its TTL, and hands it over on release', async () => {
    const events: string[] = [];
    const procs = ['a', 'b', 'c'].map((name) => process(name));
    const holders: Leases[] = procs.map((p) => p.leases);
    const releases = holders.map((leases, i) =>
      leases.claim('k1', {
        acquired: () => events.push(`+${i}`),
        lost: () => events.push(`-${i}`),
      }),
    );
    await waitFor(() => events.length === 1, 2_000, 'a holder');
    expect(holders.map((l) => l.held().length).reduce((x, y) => x + y)).toBe(1);
    const first = Number(events[0]!.slice(1));
    // Seven more renewals (200 ms apart): more than two TTLs (600 ms) held by renewing alone, and
    // nobody else got it meanwhile.
    const triesBefore = procs[first]!.tries('k1');
    await waitFor(() => procs[first]!.tries('k1') >= triesBefore + 7, 10_000, 'seven renewals');
    expect(events).toHaveLength(1);
    expect(holders.map((l) => l.held().length)).toEqual([0, 1, 2].map((i) => (i === first ? 1 : 0)));

    const waiting = procs.filter((_, i) => i !== first);
    const triedAtRelease = waiting.map((p) => p.tries('k1'));
    releases[first]!();
    await waitFor(() => events.length === 3, 5_000, 'a new holder');
    // Taken on the next retry (every 100 ms), not after the TTL ran out (six retries or more).
    const next = Number(events[2]!.slice(1));
    const i = waiting.indexOf(procs[next]!);
    expect(procs[next]!.tries('k1') - triedAtRelease[i]!).toBeLessThanOrEqual(2);
    expect(events[1]).toBe(`-${first}`);
    for (const release of releases) release();
  });

  it('moves the key to a waiting process within ttl + renew after the holder dies', async () => {
    const a = process('dying');
    const b = process('survivor');
    const got: string[] = [];
    a.leases.claim('k2', { acquired: () => got.push('a'), lost: () => got.push('a lost') });
    await waitFor(() => got.length === 1, 1_000, 'a to hold k2');
    b.leases.claim('k2', { acquired: () => got.push('b'), lost: () => got.push('b lost') });
    // b has tried, and been refused, twice: it is waiting.
    await waitFor(() => b.tries('k2') >= 2, 2_000, 'b to try for k2');
    expect(got).toEqual(['a']);
    const triedAtDeath = b.tries('k2');
    a.redis.commands.disconnect(); // renewals stop; the lease runs out
    await waitFor(() => got.includes('b'), 5_000, 'b to take k2 over');
    // Within ttl + renew (600 + 200 ms) of retries every 100 ms, and a retry's slack.
    expect(b.tries('k2') - triedAtDeath).toBeLessThanOrEqual(9);
    // a, cut off from Redis, keeps producing for its own listeners (its bus delivers in process now):
    // three renew periods later (b's renewals, on the same beat) it still holds k2, never told lost.
    const bRenewals = b.tries('k2');
    await waitFor(() => b.tries('k2') >= bRenewals + 3, 5_000, 'three renew periods');
    expect(got).toEqual(['a', 'b']);
    expect(a.leases.held()).toEqual(['k2']);
  });
});

/**
 * Every process joins `topic` with a producer that emits a counter every 50 ms while it runs (its
 * process's name in `running` meanwhile), and hands each event it hears to `onEvent` with its index.
 */
function joinCounting(
  procs: Array<ReturnType<typeof process>>,
  topic: string,
  running: Set<string>,
  onEvent: (index: number, event: { n: number; by: string }) => void,
): Array<() => void> {
  return procs.map((p, i) =>
    p.channels.join(
      topic,
      (emit) => {
        running.add(p.name);
        let n = 0;
        const timer = setInterval(() => emit({ n: ++n, by: p.name }), 50);
        return () => {
          clearInterval(timer);
          running.delete(p.name);
        };
      },
      (event) => onEvent(i, event as { n: number; by: string }),
    ),
  );
}

describe('channels across processes', () => {
  it('runs one producer for a topic among processes and delivers its events to all of them', async () => {
    const procs = [process('p1'), process('p2'), process('p3')];
    const running = new Set<string>();
    const received = procs.map(() => [] as number[]);
    const leaves = joinCounting(procs, 'price:bitcoin', running, (i, event) => received[i]!.push(event.n));
    await waitFor(() => received.every((r) => r.length >= 5), 3_000, 'events in every process');
    expect(running.size).toBe(1);
    // Every process saw the same sequence (modulo when its Redis subscription started).
    const last = Math.min(...received.map((r) => r.at(-1)!));
    const tail = (r: number[]) => r.filter((n) => n <= last).slice(-3);
    expect(tail(received[1]!)).toEqual(tail(received[0]!));
    expect(tail(received[2]!)).toEqual(tail(received[0]!));

    // The producer's process leaves: another takes over and the others keep receiving.
    const holder = procs.findIndex((p) => running.has(p.name));
    leaves[holder]!();
    await waitFor(() => running.size === 1 && !running.has(procs[holder]!.name), 2_000, 'a new producer');
    const others = procs.map((_, i) => i).filter((i) => i !== holder);
    const before = others.map((i) => received[i]!.length);
    await waitFor(() => others.every((i, k) => received[i]!.length >= before[k]! + 3), 2_000, 'events again');
    for (const leave of leaves) leave();
    await waitFor(() => running.size === 0, 1_000, 'no producer');
    for (const p of procs) expect(p.channels.stats()).toEqual({ topics: [], listeners: 0, producing: [] });
  });
});

describe('channels while Redis is killed and restarted', () => {
  it('lets every process produce for its own listeners without Redis, and one again after', async () => {
    const server = await startPrivateRedis();
    try {
      const procs = ['q1', 'q2'].map((name) => process(name, { url: server.url }));
      await waitFor(() => procs.every((p) => p.redis.up()), 2_000, 'both processes connected');
      const running = new Set<string>();
      const received = procs.map(() => [] as string[]);
      const leaves = joinCounting(procs, 'price:ethereum', running, (i, event) =>
        received[i]!.push(event.by),
      );
      await waitFor(() => received.every((r) => r.length >= 3), 3_000, 'events in both processes');
      expect(running.size).toBe(1);
      const [first] = [...running];
      expect(received.every((r) => r.every((by) => by === first))).toBe(true);

      await server.kill();
      await waitFor(() => procs.every((p) => !p.redis.up()), 2_000, 'both processes to see Redis down');
      // Each process now produces the topic itself and hears only its own producer.
      await waitFor(() => running.size === 2, 2_000, 'a producer in each process');
      const mark = received.map((r) => r.length);
      await waitFor(() => received.every((r, i) => r.length >= mark[i]! + 5), 2_000, 'events without Redis');
      procs.forEach((p, i) => {
        expect(received[i]!.slice(mark[i]!).every((by) => by === p.name)).toBe(true);
      });

      await server.start();
      await waitFor(() => procs.every((p) => p.redis.up()), 5_000, 'both processes to see Redis up');
      await waitFor(() => running.size === 1, 2_000, 'one producer again');
      const [producer] = [...running];
      const again = received.map((r) => r.length);
      await waitFor(() => received.every((r, i) => r.length >= again[i]! + 5), 2_000, 'shared events');
      // Both hear the one producer through Redis (skip the events of the hand-over itself).
      for (const r of received) expect(r.slice(-3)).toEqual([producer, producer, producer]);
      for (const leave of leaves) leave();
      await waitFor(() => running.size === 0, 1_000, 'no producer');
    } finally {
      await server.close();
    }
  });
});
