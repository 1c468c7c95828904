import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { estimateBytes } from '../src/cache/estimate-bytes.js';
import { type Cache, type CacheNamespace, createCache, type FetchResult } from '../src/cache.js';
import { loadConfig } from '../src/config.js';
import { createRedisConnection, type RedisConnection } from '../src/redis.js';
import { deleteKeys, keysUnder, redisTestUrl, testPrefix } from './helpers/redis.js';
import { startPrivateRedis } from './helpers/redis-server.js';

// The cache on an injected clock: the three ages, singleflight, the in-process tier's byte bound and
// expiry, and the Redis tier (the shared Redis under this run's prefix; a private one for the outage).

const TTL = 1_000;
const STALE = 5_000;
const MIB = 1_048_576;

interface Window {
  openTime: Date;
  closes: number[];
}

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((thing) => thing.close()));
});

function setup(
  env: Record<string, string> = {},
  extra: { redis?: RedisConnection; purgeEveryMs?: number } = {},
) {
  let t = 1_000_000;
  const events: string[] = [];
  const config = loadConfig({
    env: { MARKETGRAPH_CACHE_STALE_MS: String(STALE), MARKETGRAPH_CACHE_MAX_BYTES: String(MIB), ...env },
  });
  const cache = createCache({
    config,
    now: () => t,
    events: { cacheEvent: (ns, event) => events.push(`${ns}:${event}`) },
    ...extra,
  });
  opened.push(cache);
  return { cache, events, advance: (ms: number) => (t += ms), now: () => t };
}

/** A fetch that answers every key with `value(key)` and records the keys of each call. */
function recorder<T>(value: (key: string) => T | Error) {
  const calls: string[][] = [];
  const fetch = async (keys: string[]): Promise<FetchResult<T>> => {
    calls.push([...keys]);
    return new Map(keys.map((k) => [k, value(k)]));
  };
  return { calls, fetch };
}

const missing = (key: string) => new Error(`no ${key}`);

function window(n: number, at = 0): Window {
  return { openTime: new Date(at), closes: Array.from({ length: n }, (_, i) => i + 0.5) };
}

describe('cache ages and singleflight (in-process)', () => {
  it('serves fresh, then stale while refreshing once, then refetches first and serves stale on error', async () => {
    const { cache, advance } = setup();
    const ns = cache.namespace<number>('quote', TTL);
    let version = 1;
    let failing = false;
    const { calls, fetch } = recorder((k) => (failing ? new Error(`down ${k}`) : version));

    expect(await ns.getMany(['a'], fetch, missing)).toMatchObject([{ value: 1, stale: false }]);
    advance(TTL / 2);
    expect(await ns.getMany(['a'], fetch, missing)).toMatchObject([{ value: 1, stale: false }]);
    expect(calls).toEqual([['a']]);

    version = 2;
    advance(TTL);
    expect(await ns.getMany(['a'], fetch, missing)).toMatchObject([{ value: 1, stale: true }]);
    // The refresh (a fetch that answers at once) lands within this turn of the event loop; keyv's
    // calls are async, so it takes a few microtasks more than the read that started it.
    await new Promise((resolve) => setImmediate(resolve));
    expect(await ns.getMany(['a'], fetch, missing)).toMatchObject([{ value: 2, stale: false }]);
    expect(calls).toEqual([['a'], ['a']]);

    failing = true;
    advance(2 * TTL);
    const [served] = await ns.getMany(['a'], fetch, missing);
    expect(served).toMatchObject({ value: 2, stale: true, failed: { message: 'down a' } });
    advance(STALE);
    expect((await ns.getMany(['a'], fetch, missing))[0]).toBeInstanceOf(Error);
  });

  it('shares one upstream call between concurrent misses for the same keys', async () => {
    const { cache } = setup();
    const ns = cache.namespace<string>('asset', TTL);
    const { calls, fetch } = recorder((k) => k.toUpperCase());
    const results = await Promise.all([
      ns.getMany(['x', 'y'], fetch, missing),
      ns.getMany(['y', 'x'], fetch, missing),
      ns.getMany(['x'], fetch, missing),
    ]);
    expect(calls).toEqual([['x', 'y']]);
    expect(results.map((r) => r.map((c) => (c instanceof Error ? c : c.value)))).toEqual([
      ['X', 'Y'],
      ['Y', 'X'],
      ['X'],
    ]);
  });
});

describe('the in-process tier', () => {
  it('holds at most MARKETGRAPH_CACHE_MAX_BYTES, evicting the least recently used', async () => {
    const { cache } = setup();
    const ns = cache.namespace<Window>('candles', TTL);
    const one = estimateBytes(window(500));
    expect(one).toBeGreaterThan(500 * 8);
    const keys = Array.from({ length: 100 }, (_, i) => `w${i}`);
    for (const key of keys) await ns.prime(new Map([[key, window(500)]]));
    expect(cache.bytes()).toBeLessThanOrEqual(MIB);
    expect(cache.bytes()).toBeGreaterThan(MIB - 2 * one);
    const held = cache.size();
    expect(held).toBeLessThan(keys.length);
    expect(held).toBeGreaterThan(0);

    const { calls, fetch } = recorder(() => window(500));
    await ns.getMany(keys.slice(-held), fetch, missing);
    expect(calls).toEqual([]);
    await ns.getMany(['w0'], fetch, missing);
    expect(calls).toEqual([['w0']]);
  });

  it('drops expired entries (2·ttl + stale) without being asked for them', async () => {
    const { cache, advance } = setup({}, { purgeEveryMs: 10 });
    const ns = cache.namespace<Window>('candles', TTL);
    await ns.prime(new Map([['old', window(100)]]));
    advance(TTL);
    await ns.prime(new Map([['young', window(100)]]));
    expect(cache.size()).toBe(2);
    // Just past the older entry's lifetime (2·ttl + stale), still inside the younger one's.
    advance(TTL + STALE + 1);
    const deadline = Date.now() + 2_000;
    while (cache.size() > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(cache.size()).toBe(1);
    advance(TTL);
    while (cache.size() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(cache.size()).toBe(0);
    expect(cache.bytes()).toBe(0);
  });
});

describe('the Redis tier (shared Redis, this run’s prefix)', () => {
  const prefix = testPrefix('cache');
  const connections: RedisConnection[] = [];
  const inspect = new Redis(redisTestUrl(), { maxRetriesPerRequest: 1 });
  const connect = () => {
    const env = { REDIS_URL: redisTestUrl(), MARKETGRAPH_REDIS_PREFIX: prefix };
    const connection = createRedisConnection({ config: loadConfig({ env }) });
    connections.push(connection);
    return connection;
  };
  afterAll(async () => {
    await deleteKeys(inspect, prefix);
    inspect.disconnect();
    await Promise.all(connections.map((c) => c.close()));
  });

  it('shares what one process fetched, serves fresh entries from memory, and lets the newer copy win', async () => {
    let t = 5_000_000;
    const now = () => t;
    const config = loadConfig({ env: { MARKETGRAPH_CACHE_STALE_MS: String(STALE) } });
    const [a, b] = [connect(), connect()].map((redis) => {
      const cache = createCache({ config, redis, now });
      opened.push(cache);
      return cache.namespace<Window>('candles', TTL);
    }) as [CacheNamespace<Window>, CacheNamespace<Window>];
    let version = 1;
    const fromA = recorder(() => window(3, version));
    const fromB = recorder(() => window(3, -1));

    const [first] = await a.getMany(['btc'], fromA.fetch, missing);
    expect(first).toMatchObject({ value: { openTime: new Date(1) }, stale: false });
    const [shared] = await b.getMany(['btc'], fromB.fetch, missing);
    expect(fromB.calls).toEqual([]);
    // Through JSON and back: the Date is a Date again.
    expect(shared).toMatchObject({ value: { openTime: new Date(1), closes: [0.5, 1.5, 2.5] } });
    expect((shared as { value: Window }).value.openTime).toBeInstanceOf(Date);
    expect(await keysUnder(inspect, `${prefix}cache:`)).toEqual([`${prefix}cache:candles:btc`]);

    // B's fresh copy is served from its own memory: even with the shared copy gone, no call.
    await deleteKeys(inspect, `${prefix}cache:`);
    await b.getMany(['btc'], fromB.fetch, missing);
    expect(fromB.calls).toEqual([]);

    // Past the TTL A refreshes; B, whose copy is now stale too, finds A's newer one in Redis.
    version = 2;
    t += TTL;
    const [stale] = await a.getMany(['btc'], fromA.fetch, missing);
    expect(stale).toMatchObject({ value: { openTime: new Date(1) }, stale: true });
    // The background refresh lands in Redis.
    const until = Date.now() + 2_000;
    while ((await keysUnder(inspect, `${prefix}cache:`)).length === 0 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(fromA.calls).toHaveLength(2);
    const [fresh] = await a.getMany(['btc'], fromA.fetch, missing);
    expect(fresh).toMatchObject({ value: { openTime: new Date(2) }, stale: false });
    const [newer] = await b.getMany(['btc'], fromB.fetch, missing);
    expect(newer).toMatchObject({ value: { openTime: new Date(2) }, stale: false });
    expect(fromB.calls).toEqual([]);
  });
});

describe('the cache while its Redis is killed and restarted', () => {
  it('serves from memory and the providers within the budget, and writes to Redis again once it is back', async () => {
    const server = await startPrivateRedis();
    const prefix = testPrefix('cache-outage');
    const env = {
      REDIS_URL: server.url,
      MARKETGRAPH_REDIS_PREFIX: prefix,
      MARKETGRAPH_REDIS_TIMEOUT_MS: '100',
    };
    const redis = createRedisConnection({ config: loadConfig({ env }) });
    const inspect = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    inspect.on('error', () => {});
    let cache: Cache | undefined;
    try {
      const { cache: c, events } = setup(env, { redis });
      cache = c;
      const ns = cache.namespace<number>('quote', TTL);
      const { calls, fetch } = recorder((k) => k.length);
      await ns.getMany(['held'], fetch, missing);
      expect(calls).toEqual([['held']]);

      await server.kill();
      while (redis.up()) await new Promise((r) => setTimeout(r, 5));
      const started = Date.now();
      const answers = await ns.getMany(['held', 'other'], fetch, missing);
      // Not held on the dead Redis: ten times its 100 ms budget tells that from ioredis's own waits
      // (seconds, or for ever), and leaves room for a loaded machine.
      expect(Date.now() - started).toBeLessThan(1000);
      expect(answers).toMatchObject([
        { value: 4, stale: false },
        { value: 5, stale: false },
      ]);
      expect(calls).toEqual([['held'], ['other']]);
      expect(events).toContain('quote:error');

      await server.start();
      while (!redis.up()) await new Promise((r) => setTimeout(r, 5));
      await ns.getMany(['after'], fetch, missing);
      await inspect.connect();
      expect(await keysUnder(inspect, prefix)).toEqual([`${prefix}cache:quote:after`]);
    } finally {
      inspect.disconnect();
      await cache?.close();
      await redis.close();
      await server.close();
    }
  });
});
