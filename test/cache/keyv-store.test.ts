import { Redis } from 'ioredis';
import type { KeyvStoreAdapter } from 'keyv';
import { LRUCache } from 'lru-cache';
import { afterAll, describe, expect, it } from 'vitest';
import type { Held } from '../../src/cache/keyv-lru-store.js';
import { keyvOver, localKeyv, sharedKeyv } from '../../src/cache/keyv-tiers.js';
import { serializeTagged } from '../../src/cache/tagged-json.js';
import { loadConfig } from '../../src/config.js';
import { createRedisConnection, LATE, type RedisConnection, withinBudget } from '../../src/redis.js';
import { deleteKeys, keysUnder, redisTestUrl, testPrefix } from '../helpers/redis.js';
import { freePort, startPrivateRedis } from '../helpers/redis-server.js';

// The cache's stores under keyv (src/cache/keyv-*-store.ts) and what they rely on keyv to do. The first
// block holds keyv itself to that contract with a store that records its calls, so a keyv upgrade that
// changes it fails here, by name, rather than somewhere in the cache: batch reads and writes reach the
// store's getMany / setMany, keys arrive without keyv's namespace (the stores apply it), ttls arrive as
// given, the serializer sees `{ value, expires }`, a store's 'error' reaches Keyv's listeners, and a
// read never becomes a delete. Then each store: the Redis one on the shared Redis (this run's prefix)
// and on a Redis that is not there or hangs, the LRU one on its own.

interface Call {
  method: string;
  args: unknown[];
}

/** A store that records every call and answers from a Map; `rows` overrides what getMany resolves. */
function recordingStore(rows?: () => unknown) {
  const calls: Call[] = [];
  const data = new Map<string, unknown>();
  const listeners: Array<(error: Error) => void> = [];
  const record = (method: string, ...args: unknown[]) => calls.push({ method, args });
  const store: KeyvStoreAdapter & { emitError(error: Error): void } = {
    opts: {},
    namespace: undefined,
    on(event: string, listener: (error: Error) => void) {
      if (event === 'error') listeners.push(listener);
      return store;
    },
    emitError: (error) => {
      for (const listener of listeners) listener(error);
    },
    async get(key: string) {
      record('get', key);
      return data.get(key) as never;
    },
    async getMany(keys: string[]) {
      record('getMany', keys);
      return (rows ? rows() : keys.map((k) => data.get(k))) as never;
    },
    async set(key: string, value: unknown, ttl?: number) {
      record('set', key, value, ttl);
      data.set(key, value);
      return true;
    },
    async setMany(entries: Array<{ key: string; value: unknown; ttl?: number }>) {
      record('setMany', entries);
      for (const { key, value } of entries) data.set(key, value);
    },
    async delete(key: string) {
      record('delete', key);
      return data.delete(key);
    },
    async deleteMany(keys: string[]) {
      record('deleteMany', keys);
      return keys.map((k) => data.delete(k)).some(Boolean);
    },
    async clear() {
      record('clear');
      data.clear();
    },
  };
  return { store, calls, data };
}

/** A Keyv as the cache makes them for its shared tier, over `store`. */
const serializedOver = (store: KeyvStoreAdapter, namespace = 'quote') =>
  keyvOver<unknown>(store, namespace, true);

describe('what the stores rely on keyv to do', () => {
  it('hands the store its namespace, and a store error to Keyv’s listeners', () => {
    const { store } = recordingStore();
    const kv = serializedOver(store, 'candles');
    expect(store.namespace).toBe('candles');
    const heard: unknown[] = [];
    kv.on('error', (error) => heard.push(error));
    store.emitError(new Error('redis missed'));
    expect(heard).toEqual([new Error('redis missed')]);
  });

  it('writes a batch with one setMany: raw keys, the ttl as given, values through the serializer', async () => {
    const { store, calls } = recordingStore();
    const kv = serializedOver(store);
    const results = await kv.setMany([
      { key: 'btc', value: { v: 1, at: new Date(7) }, ttl: 45_000 },
      { key: 'eth', value: { v: 2, at: 8 }, ttl: 1 },
    ]);
    expect(calls).toEqual([
      {
        method: 'setMany',
        args: [
          [
            { key: 'btc', value: '{"v":1,"at":{"$date":7}}', ttl: 45_000 },
            { key: 'eth', value: '{"v":2,"at":8}', ttl: 1 },
          ],
        ],
      },
    ]);
    // Keyv returns what the store's setMany resolved; the cache learns of failures from 'error' instead.
    expect(results).toBeUndefined();
  });

  it('passes the serializer { value, expires } and reads a ttl of 0 as "never expires"', async () => {
    const seen: unknown[] = [];
    const { store, calls } = recordingStore();
    const kv = serializedOver(store);
    kv.serialize = (data) => {
      seen.push(data);
      return serializeTagged(data);
    };
    const before = Date.now();
    await kv.setMany([
      { key: 'a', value: 1, ttl: 5_000 },
      { key: 'b', value: 2, ttl: 0 },
    ]);
    expect(seen).toHaveLength(2);
    const [withTtl, withZero] = seen as Array<{ value: unknown; expires?: number }>;
    expect(withTtl!.value).toBe(1);
    expect(withTtl!.expires).toBeGreaterThanOrEqual(before + 5_000);
    expect(withZero).toEqual({ value: 2, expires: undefined });
    expect((calls[0]!.args[0] as Array<{ ttl?: number }>).map((e) => e.ttl)).toEqual([5_000, undefined]);
  });

  it('reads a batch with one getMany of the raw keys, deserializes strings, and never deletes on a read', async () => {
    const { store, calls, data } = recordingStore();
    const kv = serializedOver(store);
    data.set('btc', '{"v":{"$date":3},"at":4}');
    data.set('bad', 'not json {');
    const values = await kv.getMany(['btc', 'gone', 'bad']);
    expect(values).toEqual([{ v: new Date(3), at: 4 }, undefined, undefined]);
    expect(calls).toEqual([{ method: 'getMany', args: [['btc', 'gone', 'bad']] }]);
  });

  it('copes with a store whose getMany resolves nothing, and lets a rejection through (the cache catches it)', async () => {
    const empty = serializedOver(recordingStore(() => undefined).store);
    await expect(empty.getMany(['a', 'b'])).resolves.toEqual([]);
    const failing = serializedOver(
      recordingStore(() => {
        throw new Error('store broke');
      }).store,
    );
    await expect(failing.getMany(['a'])).rejects.toThrow('store broke');
  });

  it('without a serializer, hands the store { value, expires } objects (the LRU store keeps the value)', async () => {
    const { store, calls } = recordingStore();
    const kv = keyvOver<unknown>(store, 'quote', false);
    const entry = { v: 1, at: 2 };
    await kv.setMany([{ key: 'a', value: entry, ttl: 100 }]);
    const [written] = calls[0]!.args[0] as Array<{
      key: string;
      value: { value: unknown; expires?: number };
    }>;
    expect(written!.key).toBe('a');
    expect(written!.value.value).toBe(entry);
    expect(typeof written!.value.expires).toBe('number');
    // What the store gives back is used as is: no deserializer, no copy.
    const held = { value: entry };
    const reading = keyvOver<unknown>(recordingStore(() => [held]).store, 'quote', false);
    const [read] = await reading.getMany(['a']);
    expect(read).toBe(entry);
  });
});

describe('the keyv store over the LRU', () => {
  it('shares one LRU between namespaces, lets it expire entries after the ttl, and keeps no expires stamp', async () => {
    let t = 1_000;
    const lru = new LRUCache<string, Held>({ max: 100, perf: { now: () => t }, ttlResolution: 0 });
    const [quote, asset] = [localKeyv<unknown>(lru, 'quote'), localKeyv<unknown>(lru, 'asset')];
    await quote.setMany([{ key: 'x', value: 'q', ttl: 500 }]);
    await asset.setMany([{ key: 'x', value: 'a', ttl: 2_000 }]);
    expect([...lru.keys()].sort()).toEqual(['asset:x', 'quote:x']);
    expect(lru.get('quote:x')).toEqual({ value: 'q' });
    expect(await quote.getMany(['x'])).toEqual(['q']);

    t += 501;
    expect(await quote.getMany(['x'])).toEqual([undefined]);
    expect(await asset.getMany(['x'])).toEqual(['a']);
    await asset.clear();
    expect(lru.size).toBe(0);
  });
});

const connections: RedisConnection[] = [];
function connection(env: Record<string, string>) {
  const made = createRedisConnection({ config: loadConfig({ env }) });
  connections.push(made);
  return made;
}
afterAll(async () => {
  await Promise.all(connections.map((c) => c.close()));
});

describe('the keyv store over the budgeted Redis connection (shared Redis, this run’s prefix)', () => {
  const prefix = testPrefix('keyv-store');
  const inspect = new Redis(redisTestUrl(), { maxRetriesPerRequest: 1 });
  afterAll(async () => {
    await deleteKeys(inspect, prefix);
    inspect.disconnect();
  });
  const redis = connection({ REDIS_URL: redisTestUrl(), MARKETGRAPH_REDIS_PREFIX: prefix });
  const storeFor = (namespace: string) => {
    const kv = sharedKeyv<unknown>(redis, namespace);
    const errors: unknown[] = [];
    kv.on('error', (error) => errors.push(error));
    return { kv, errors };
  };

  it('writes `<prefix>cache:<namespace>:<key>` with the ttl as its expiry, and reads it back with its Dates', async () => {
    const { kv, errors } = storeFor('quote');
    await kv.setMany([
      { key: 'btc', value: { v: { openTime: new Date(9) }, at: 10 }, ttl: 60_000 },
      { key: 'eth', value: { v: 2, at: 11 }, ttl: 30_000 },
    ]);
    expect(await keysUnder(inspect, prefix)).toEqual([
      `${prefix}cache:quote:btc`,
      `${prefix}cache:quote:eth`,
    ]);
    expect(await inspect.get(`${prefix}cache:quote:btc`)).toBe('{"v":{"openTime":{"$date":9}},"at":10}');
    const pttl = await inspect.pttl(`${prefix}cache:quote:eth`);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(30_000);

    await inspect.set(`${prefix}cache:quote:junk`, '{"v":');
    const [btc, eth, absent, junk] = await kv.getMany(['btc', 'eth', 'absent', 'junk']);
    expect(btc).toEqual({ v: { openTime: new Date(9) }, at: 10 });
    expect((btc as { v: { openTime: unknown } }).v.openTime).toBeInstanceOf(Date);
    expect([eth, absent, junk]).toEqual([{ v: 2, at: 11 }, undefined, undefined]);
    expect(await kv.get('eth')).toEqual({ v: 2, at: 11 });
    expect(await kv.has('eth')).toBe(true);
    expect(await kv.delete('eth')).toBe(true);
    expect(await kv.has('eth')).toBe(false);
    expect(errors).toEqual([]);
  });

  it('clears its own namespace only', async () => {
    const signals = storeFor('signals');
    const fx = storeFor('fx');
    await signals.kv.setMany([{ key: 'a', value: 1, ttl: 60_000 }]);
    await fx.kv.setMany([{ key: 'a', value: 2, ttl: 60_000 }]);
    await signals.kv.clear();
    expect(await signals.kv.getMany(['a'])).toEqual([undefined]);
    expect(await fx.kv.getMany(['a'])).toEqual([2]);
  });
});

describe('the keyv store when Redis is not there or hangs', () => {
  /** Settles, or LATE after ten budgets: far beyond what a bounded call may take. */
  const bounded = <T>(promise: Promise<T>, budgetMs: number) => withinBudget(promise, 10 * budgetMs);

  it('answers every call as "absent" without waiting for a connection, and says so through Keyv’s error', async () => {
    const port = await freePort();
    const redis = connection({
      REDIS_URL: `redis://127.0.0.1:${port}`,
      MARKETGRAPH_REDIS_PREFIX: testPrefix('keyv-store-none'),
      MARKETGRAPH_REDIS_TIMEOUT_MS: '100',
    });
    const kv = sharedKeyv<unknown>(redis, 'quote');
    const errors: Error[] = [];
    kv.on('error', (error: Error) => errors.push(error));
    expect(await bounded(kv.getMany(['a', 'b']), 100)).toEqual([undefined, undefined]);
    expect(await bounded(kv.setMany([{ key: 'a', value: 1, ttl: 1_000 }]), 100)).toBeUndefined();
    expect(await bounded(kv.get('a'), 100)).toBeUndefined();
    expect(await bounded(kv.set('a', 1, 1_000), 100)).toBe(false);
    expect(await bounded(kv.has('a'), 100)).toBe(false);
    expect(await bounded(kv.delete('a'), 100)).toBe(false);
    expect(await bounded(kv.clear(), 100)).toBeUndefined();
    expect(errors).toHaveLength(7);
    expect(errors[0]!.message).toMatch(/^keyv redis store getMany: /);
  });

  it('gives up on a hung Redis within its budget, and keeps answering at once while it hangs', async () => {
    const server = await startPrivateRedis();
    try {
      const redis = connection({
        REDIS_URL: server.url,
        MARKETGRAPH_REDIS_PREFIX: testPrefix('keyv-store-hung'),
        MARKETGRAPH_REDIS_TIMEOUT_MS: '100',
      });
      const kv = sharedKeyv<unknown>(redis, 'quote');
      const errors: Error[] = [];
      kv.on('error', (error: Error) => errors.push(error));
      await kv.setMany([{ key: 'a', value: 1, ttl: 60_000 }]);
      expect(await kv.getMany(['a'])).toEqual([1]);
      expect(errors).toEqual([]);

      server.pause();
      const answers = await bounded(
        Promise.all([kv.getMany(['a']), kv.setMany([{ key: 'b', value: 2, ttl: 60_000 }])]),
        100,
      );
      expect(answers).not.toBe(LATE);
      expect((answers as [unknown[], unknown])[0]).toEqual([undefined]);
      expect(errors).toHaveLength(2);
      // The late call marked Redis down: the next ones do not wait for the hung server at all.
      expect(redis.up()).toBe(false);
      expect(await bounded(kv.getMany(['a']), 0)).toEqual([undefined]);
      server.resume();
    } finally {
      await server.close();
    }
  });
});
