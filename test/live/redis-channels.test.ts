import { randomUUID } from 'node:crypto';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createEventTargetBus } from '../../src/live/bus.js';
import { createChannels } from '../../src/live/channels.js';
import { createRedisLeases, type Leases } from '../../src/live/leases.js';

// Leases and the bus over the real Redis (127.0.0.1:6379, database 7, a fresh prefix per run so
// parallel runs never meet): one producer per topic among several "processes" (each its own Redis
// connections), takeover after the holder dies, and events reaching every process.

const URL = 'redis://127.0.0.1:6379/7';
const prefix = `test:${randomUUID()}:`;
const clients: Redis[] = [];
const opened: Leases[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function connect() {
  const client = new Redis(URL, { maxRetriesPerRequest: 1, commandTimeout: 500 });
  client.on('error', () => {});
  clients.push(client);
  return client;
}

/** One simulated gateway process: its own connections, leases and bus. */
function process(name: string, ttlMs = 600, renewMs = 200) {
  const redis = connect();
  const leases = createRedisLeases({ redis, owner: name, prefix: `${prefix}lease:`, ttlMs, renewMs });
  opened.push(leases);
  const bus = createEventTargetBus({
    target: createRedisEventTarget({ publishClient: redis, subscribeClient: connect() }),
    prefix,
  });
  return { name, redis, leases, bus, channels: createChannels({ bus, leases }) };
}

async function until(check: () => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

afterAll(async () => {
  await Promise.all(opened.map((leases) => leases.close()));
  const keys = await clients[0]?.keys(`${prefix}*`);
  if (keys?.length) await clients[0]!.del(...keys);
  for (const client of clients) client.disconnect();
});

describe('redis leases', () => {
  it('gives a key to exactly one holder, renews it past its TTL, and hands it over on release', async () => {
    const events: string[] = [];
    const holders: Leases[] = ['a', 'b', 'c'].map((name) => process(name).leases);
    const releases = holders.map((leases, i) =>
      leases.claim('k1', {
        acquired: () => events.push(`+${i}`),
        lost: () => events.push(`-${i}`),
      }),
    );
    await until(() => events.length === 1, 2_000, 'a holder');
    await sleep(1_500); // > 2 TTLs: renewals keep it, nobody else gets it
    expect(events).toHaveLength(1);
    const first = Number(events[0]!.slice(1));
    expect(holders.map((l) => l.held().length)).toEqual([0, 1, 2].map((i) => (i === first ? 1 : 0)));

    const released = Date.now();
    releases[first]!();
    await until(() => events.length === 3, 1_000, 'a new holder');
    expect(Date.now() - released).toBeLessThan(500); // the next retry, not the TTL
    expect(events[1]).toBe(`-${first}`);
    for (const release of releases) release();
  });

  it('moves the key to a waiting process within ttl + renew after the holder dies', async () => {
    const a = process('dying');
    const b = process('survivor');
    const got: string[] = [];
    a.leases.claim('k2', { acquired: () => got.push('a'), lost: () => got.push('a lost') });
    await until(() => got.length === 1, 1_000, 'a to hold k2');
    b.leases.claim('k2', { acquired: () => got.push('b'), lost: () => got.push('b lost') });
    await sleep(400);
    const died = Date.now();
    a.redis.disconnect(); // renewals stop; the lease runs out
    await until(() => got.includes('b'), 2_000, 'b to take k2 over');
    expect(Date.now() - died).toBeLessThanOrEqual(600 + 200 + 150);
    // a notices it can no longer renew and stops producing.
    await until(() => got.includes('a lost'), 2_000, 'a to give k2 up');
  });
});

describe('channels across processes', () => {
  it('runs one producer for a topic among processes and delivers its events to all of them', async () => {
    const procs = [process('p1'), process('p2'), process('p3')];
    const running = new Set<string>();
    const received = procs.map(() => [] as number[]);
    const leaves = procs.map((p, i) =>
      p.channels.join(
        'price:bitcoin',
        (emit) => {
          running.add(p.name);
          let n = 0;
          const timer = setInterval(() => emit({ n: ++n, by: p.name }), 50);
          return () => {
            clearInterval(timer);
            running.delete(p.name);
          };
        },
        (event) => received[i]!.push((event as { n: number }).n),
      ),
    );
    await until(() => received.every((r) => r.length >= 5), 3_000, 'events in every process');
    expect(running.size).toBe(1);
    // Every process saw the same sequence (modulo when its Redis subscription started).
    const last = Math.min(...received.map((r) => r.at(-1)!));
    const tail = (r: number[]) => r.filter((n) => n <= last).slice(-3);
    expect(tail(received[1]!)).toEqual(tail(received[0]!));
    expect(tail(received[2]!)).toEqual(tail(received[0]!));

    // The producer's process leaves: another takes over and the others keep receiving.
    const holder = procs.findIndex((p) => running.has(p.name));
    leaves[holder]!();
    await until(() => running.size === 1 && !running.has(procs[holder]!.name), 2_000, 'a new producer');
    const others = procs.map((_, i) => i).filter((i) => i !== holder);
    const before = others.map((i) => received[i]!.length);
    await until(() => others.every((i, k) => received[i]!.length >= before[k]! + 3), 2_000, 'events again');
    for (const leave of leaves) leave();
    await until(() => running.size === 0, 1_000, 'no producer');
    for (const p of procs) expect(p.channels.stats()).toEqual({ topics: [], listeners: 0, producing: [] });
  });
});
