import KeyvRedis from '@keyv/redis';
import Keyv, { type KeyvStoreAdapter } from 'keyv';
import { LRUCache } from 'lru-cache';
import type { Config } from './config.js';

// The shared cache between the request loaders and the sources. Two layers, on purpose:
// DataLoader dedupes within one request; this cache (keyv over a bounded LRU, or Redis when several
// processes share it) dedupes across requests and processes. Every entry remembers when it was fetched:
//   age < ttl                → fresh, served as is
//   ttl ≤ age < 2·ttl        → served at once, flagged stale, refreshed in the background once
//   2·ttl ≤ age < ttl+stale  → refetched first; served (flagged stale) only if the provider fails
// Concurrent misses for the same key share one upstream call (singleflight), so N requests that batch
// the same keys at the same moment cost one call per batch, not N.

export type Namespace =
  | 'asset'
  | 'market'
  | 'markets-page'
  | 'fx'
  | 'candles'
  | 'registry'
  | 'onchain'
  | 'signals'
  | 'quote';

export interface Cached<T> {
  value: T;
  /** Epoch ms when the value was fetched from the provider. */
  fetchedAt: number;
  stale: boolean;
  /** Set when the value is served only because the refetch failed with this error. */
  failed?: Error;
}

/** Per-key result of a fetch: the value, or the Error that key failed with. */
export type FetchResult<T> = Map<string, T | Error>;

export interface CacheNamespace<T> {
  /**
   * Returns one Cached<T> or Error per key, in key order. `fetch` is called at most once with the keys
   * that need an upstream call; keys it leaves out of its Map resolve to a NOT_FOUND-style Error from
   * `missing(key)`.
   */
  getMany(
    keys: readonly string[],
    fetch: (keys: string[]) => Promise<FetchResult<T>>,
    missing: (key: string) => Error,
  ): Promise<Array<Cached<T> | Error>>;
  /** Stores values fetched elsewhere (e.g. prices that came along with a markets page). */
  prime(entries: Map<string, T>, fetchedAt?: number): Promise<void>;
}

export interface CacheEvents {
  cacheEvent(namespace: string, event: 'hit' | 'miss' | 'stale' | 'refresh' | 'error'): void;
}

export interface Cache {
  namespace<T>(name: Namespace, ttlMs: number): CacheNamespace<T>;
  /** Entries currently held in the in-memory store (0 with Redis). */
  size(): number;
  close(): Promise<void>;
}

interface Entry<T> {
  v: T;
  at: number;
}

export interface CacheDeps {
  config: Config;
  events?: CacheEvents;
  now?: () => number;
  /** Error sink for background refreshes, which have no caller to reject. */
  onBackgroundError?: (error: unknown, namespace: string) => void;
}

export function createCache(deps: CacheDeps): Cache {
  const { config } = deps;
  const now = deps.now ?? Date.now;
  const events = deps.events;
  const staleMs = config.cache.staleMs;
  const lru = config.redisUrl ? undefined : new LRUCache<string, object>({ max: config.cache.maxEntries });
  // keyv calls store.set(key, value, ttlNumber) while lru-cache takes an options object there; keyv
  // keeps the expiry inside the stored value anyway, so the LRU only has to bound the entry count.
  const lruStore = lru && {
    get: (key: string) => lru.get(key),
    set: (key: string, value: object) => lru.set(key, value),
    delete: (key: string) => lru.delete(key),
    clear: () => lru.clear(),
    has: (key: string) => lru.has(key),
  };
  const redis = config.redisUrl ? new KeyvRedis(config.redisUrl, { throwOnConnectError: false }) : undefined;
  // One Keyv over one store; namespaces are key prefixes we add ourselves, because a keyv adapter
  // carries a single namespace and Redis adapters must not be shared between Keyv instances.
  const kv = redis
    ? new Keyv({
        store: redis as KeyvStoreAdapter,
        namespace: 'marketgraph',
        serialize: serializeJson,
        deserialize: deserializeJson,
      })
    : new Keyv({
        store: lruStore as unknown as Map<string, object>,
        serialize: undefined,
        deserialize: undefined,
      });
  kv.on('error', () => {
    // A cache outage degrades to "every request is a miss"; the provider path still works.
    events?.cacheEvent('store', 'error');
  });
  /** In-flight fetches per namespaced key, shared by every request in this process. */
  const inflight = new Map<string, Promise<Entry<unknown> | Error>>();

  function namespace<T>(name: Namespace, ttlMs: number): CacheNamespace<T> {
    const storeTtl = 2 * ttlMs + staleMs;

    async function write(entries: Map<string, Entry<T>>) {
      if (entries.size === 0) return;
      try {
        await kv.setMany(
          [...entries].map(([key, value]) => ({ key: `${name}:${key}`, value, ttl: storeTtl })),
        );
      } catch {
        events?.cacheEvent(name, 'error');
      }
    }

    async function read(keys: readonly string[]): Promise<Array<Entry<T> | undefined>> {
      try {
        return (await kv.getMany<Entry<T>>(keys.map((k) => `${name}:${k}`))) as Array<Entry<T> | undefined>;
      } catch {
        events?.cacheEvent(name, 'error');
        return keys.map(() => undefined);
      }
    }

    /** Fetches `keys` once, registering each as in flight until the batch settles. */
    function fetchShared(
      keys: string[],
      fetch: (keys: string[]) => Promise<FetchResult<T>>,
      missing: (key: string) => Error,
    ) {
      const batch = (async () => {
        const fetchedAt = now();
        let result: FetchResult<T>;
        try {
          result = await fetch(keys);
        } catch (error) {
          const failure = error instanceof Error ? error : new Error(String(error));
          result = new Map(keys.map((k) => [k, failure]));
        }
        const fresh = new Map<string, Entry<T>>();
        const out = new Map<string, Entry<T> | Error>();
        for (const key of keys) {
          const value = result.has(key) ? result.get(key)! : missing(key);
          if (value instanceof Error) out.set(key, value);
          else {
            const entry = { v: value, at: fetchedAt };
            fresh.set(key, entry);
            out.set(key, entry);
          }
        }
        await write(fresh);
        return out;
      })();
      for (const key of keys) {
        const id = `${name}:${key}`;
        const promise = batch.then((out) => out.get(key)!);
        inflight.set(id, promise as Promise<Entry<unknown> | Error>);
        void promise.finally(() => {
          if (inflight.get(id) === promise) inflight.delete(id);
        });
      }
      return batch;
    }

    return {
      async getMany(keys, fetch, missing) {
        const t = now();
        // Fetches in flight before the store read count too: one may finish (and leave the in-flight
        // map) while we read, and its result is what this call should share.
        const inflightBefore = keys.map((key) => inflight.get(`${name}:${key}`));
        const stored = await read(keys);
        const results: Array<Cached<T> | Error | undefined> = new Array(keys.length);
        const toFetch: string[] = [];
        const waiting: Array<[number, Promise<Entry<unknown> | Error>]> = [];
        const toRefresh: string[] = [];

        keys.forEach((key, i) => {
          const entry = stored[i];
          const age = entry ? t - entry.at : Number.POSITIVE_INFINITY;
          if (entry && age < ttlMs) {
            events?.cacheEvent(name, 'hit');
            results[i] = { value: entry.v, fetchedAt: entry.at, stale: false };
            return;
          }
          if (entry && age < 2 * ttlMs) {
            events?.cacheEvent(name, 'stale');
            results[i] = { value: entry.v, fetchedAt: entry.at, stale: true };
            if (!inflight.has(`${name}:${key}`)) toRefresh.push(key);
            return;
          }
          events?.cacheEvent(name, 'miss');
          const pending = inflight.get(`${name}:${key}`) ?? inflightBefore[i];
          if (pending) waiting.push([i, pending]);
          else toFetch.push(key);
        });

        if (toRefresh.length > 0) {
          events?.cacheEvent(name, 'refresh');
          fetchShared(toRefresh, fetch, missing).catch((error) => deps.onBackgroundError?.(error, name));
        }
        const fetched =
          toFetch.length > 0
            ? await fetchShared(toFetch, fetch, missing)
            : new Map<string, Entry<T> | Error>();
        const shared = await Promise.all(waiting.map(([, p]) => p));

        const settle = (i: number, outcome: Entry<T> | Error) => {
          if (!(outcome instanceof Error)) {
            results[i] = { value: outcome.v, fetchedAt: outcome.at, stale: false };
            return;
          }
          const old = stored[i];
          // Serve-stale-on-error: an old value, honestly labelled, beats no value.
          if (old && t - old.at < ttlMs + staleMs) {
            events?.cacheEvent(name, 'stale');
            results[i] = { value: old.v, fetchedAt: old.at, stale: true, failed: outcome };
          } else results[i] = outcome;
        };
        for (const [i, key] of keys.entries()) {
          if (results[i] === undefined && fetched.has(key)) settle(i, fetched.get(key)!);
        }
        for (const [j, [i]] of waiting.entries()) settle(i, shared[j] as Entry<T> | Error);
        return results as Array<Cached<T> | Error>;
      },

      async prime(entries, fetchedAt = now()) {
        await write(new Map([...entries].map(([key, v]) => [key, { v, at: fetchedAt }])));
      },
    };
  }

  return {
    namespace,
    size: () => lru?.size ?? 0,
    async close() {
      await kv.disconnect().catch(() => undefined);
    },
  };
}

// Redis holds JSON; Dates are tagged so they come back as Dates.
function serializeJson(data: unknown): string {
  return JSON.stringify(data, function (this: Record<string, unknown>, key, value) {
    const raw = this[key];
    return raw instanceof Date ? { $date: raw.getTime() } : value;
  });
}

function deserializeJson<T>(text: string): T {
  return JSON.parse(text, (_key, value) =>
    value && typeof value === 'object' && typeof value.$date === 'number' && Object.keys(value).length === 1
      ? new Date(value.$date)
      : value,
  ) as T;
}
