import type { Keyv, KeyvEntry } from 'keyv';
import { LRUCache } from 'lru-cache';
import { estimateBytes } from './cache/estimate-bytes.js';
import type { Held } from './cache/keyv-lru-store.js';
import { localKeyv, sharedKeyv } from './cache/keyv-tiers.js';
import type { Config } from './config.js';
import type { RedisConnection } from './redis.js';

// The shared cache between the request loaders and the sources. Two layers, on purpose:
// DataLoader dedupes within one request; this cache dedupes across requests and processes. Every entry
// remembers when it was fetched:
//   age < ttl                → fresh, served as is
//   ttl ≤ age < 2·ttl        → served at once, flagged stale, refreshed in the background once
//   2·ttl ≤ age < ttl+stale  → refetched first; served (flagged stale) only if the provider fails
// Concurrent misses for the same key share one upstream call (singleflight), so N requests that batch
// the same keys at the same moment cost one call per batch, not N.
//
// Storage has two tiers, each a Keyv per namespace. In process: keyv over an LRU bounded in estimated
// bytes (config.cache.maxBytes) and in entries, each entry expiring with its lifetime (2·ttl + stale).
// With Redis (shared by every process on the same prefix): keyv over our budgeted connection
// (cache/keyv-redis-store.ts, JSON with tagged Dates); a fresh in-process entry is served without
// asking Redis, anything older is looked up there too and the newer of the two wins, and every write
// goes to both. The two Keyvs are tiered here, not by a layered-cache library, because which tier is
// asked and which copy wins follow our entries' ages. Redis calls are bounded by the connection's
// budget; when Redis is down, slow or failing, the store says so through Keyv's 'error' and the cache
// serves from its in-process tier and the providers, as if there were no Redis, and shares again once
// it is back. Keyvs are made in cache/keyv-tiers.ts only.

export type Namespace =
  | 'asset'
  | 'market'
  | 'markets-page'
  | 'fx'
  | 'candles'
  | 'catalogue-coingecko'
  | 'catalogue-coincap'
  | 'catalogue-binance'
  | 'asset-ranks'
  | 'tokenmetrics-ids'
  | 'asset-categories'
  | 'chain-tvls'
  | 'onchain'
  | 'signals'
  | 'quote'
  | 'quote-absent'
  | 'market-absent'
  | 'price-history';

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
  /** Stores values fetched elsewhere, replacing what is there. */
  prime(entries: Map<string, T>, fetchedAt?: number): Promise<void>;
  /**
   * Stores values fetched elsewhere (prices that came along with a markets page) only where the key
   * holds nothing fresh (missing, or past its ttl) and nothing newer; resolves to the keys it wrote.
   */
  fill(entries: Map<string, T>, fetchedAt?: number): Promise<string[]>;
}

/** getMany for one key, with its Error thrown rather than returned. */
export async function getOne<T>(
  ns: CacheNamespace<T>,
  key: string,
  fetch: () => Promise<T>,
  missing: () => Error,
): Promise<Cached<T>> {
  const [result] = await ns.getMany([key], async () => new Map([[key, await fetch()]]), missing);
  if (!result) throw missing();
  if (result instanceof Error) throw result;
  return result;
}

/**
 * The same cache with each namespace seen through `view`: the methods `view` returns replace the inner
 * namespace's, the others (and size, bytes, close) are the inner's own. Every recording or tracing view
 * of the cache (freshness, writes, reads, spans) is one of these, so a method added to CacheNamespace
 * reaches them all without each forwarding it by hand.
 */
export function viewNamespaces(
  cache: Cache,
  view: <T>(inner: CacheNamespace<T>, name: Namespace, ttlMs: number) => Partial<CacheNamespace<T>>,
): Cache {
  return {
    namespace<T>(name: Namespace, ttlMs: number): CacheNamespace<T> {
      const inner = cache.namespace<T>(name, ttlMs);
      return {
        getMany: (keys, fetch, missing) => inner.getMany(keys, fetch, missing),
        prime: (entries, fetchedAt) => inner.prime(entries, fetchedAt),
        fill: (entries, fetchedAt) => inner.fill(entries, fetchedAt),
        ...view(inner, name, ttlMs),
      };
    },
    size: () => cache.size(),
    bytes: () => cache.bytes(),
    close: () => cache.close(),
  };
}

export interface CacheEvents {
  cacheEvent(namespace: string, event: 'hit' | 'miss' | 'stale' | 'refresh' | 'error'): void;
}

export interface Cache {
  namespace<T>(name: Namespace, ttlMs: number): CacheNamespace<T>;
  /** Entries held in the in-process tier. */
  size(): number;
  /** Estimated bytes held in the in-process tier (at most config.cache.maxBytes). */
  bytes(): number;
  close(): Promise<void>;
}

interface Entry<T> {
  v: T;
  at: number;
}

interface Tiers {
  memory: Keyv<Entry<unknown>>;
  shared: Keyv<Entry<unknown>> | undefined;
}

export interface CacheDeps {
  config: Config;
  /** Shares entries with every process on the same Redis and prefix. */
  redis?: RedisConnection;
  events?: CacheEvents;
  now?: () => number;
  /** Error sink for background refreshes, which have no caller to reject. */
  onBackgroundError?: (error: unknown, namespace: string) => void;
  /** How often expired entries are dropped from the in-process tier (default 30 s). */
  purgeEveryMs?: number;
}

export function createCache(deps: CacheDeps): Cache {
  const { config } = deps;
  const now = deps.now ?? Date.now;
  const events = deps.events;
  const staleMs = config.cache.staleMs;
  const memory = new LRUCache<string, Held>({
    max: config.cache.maxEntries,
    maxSize: config.cache.maxBytes,
    sizeCalculation: (held, id) =>
      ENTRY_BYTES + 2 * id.length + estimateBytes((held.value as Entry<unknown>).v),
    // Expiry runs on the cache's clock, so an injected clock ages the tier like the entries.
    perf: { now },
    ttlResolution: 0,
  });
  // Expired entries at the cold end would otherwise hold their bytes until evicted by newer ones.
  const purge = setInterval(() => memory.purgeStale(), deps.purgeEveryMs ?? PURGE_EVERY_MS);
  purge.unref();
  const redis = deps.redis;
  /** Each namespace's Keyvs, made on first use and shared by every caller of `namespace(name)`. */
  const tiers = new Map<Namespace, Tiers>();
  const tiersOf = (name: Namespace): Tiers => {
    const known = tiers.get(name);
    if (known) return known;
    // Keyv's 'error' is how a store reports a call it could not serve: a Redis that is down or late.
    const reported = (kv: Keyv<Entry<unknown>>) => kv.on('error', () => events?.cacheEvent(name, 'error'));
    const made: Tiers = {
      memory: reported(localKeyv<Entry<unknown>>(memory, name)),
      shared: redis && reported(sharedKeyv<Entry<unknown>>(redis, name)),
    };
    tiers.set(name, made);
    return made;
  };
  /** In-flight fetches per namespaced key, shared by every request in this process. */
  const inflight = new Map<string, Promise<Entry<unknown> | Error>>();

  function namespace<T>(name: Namespace, ttlMs: number): CacheNamespace<T> {
    const storeTtl = 2 * ttlMs + staleMs;
    const { memory: local, shared } = tiersOf(name);
    /** Entries with what is left of their lifetime as their ttl; those whose life is over are left out. */
    const living = (entries: Iterable<readonly [string, Entry<unknown>]>) => {
      const t = now();
      const rows: KeyvEntry[] = [];
      for (const [key, entry] of entries) {
        const ttl = storeTtl - (t - entry.at);
        // Keyv reads a ttl of 0 as "never expires".
        if (ttl > 0) rows.push({ key, value: entry, ttl });
      }
      return rows;
    };

    async function write(entries: Map<string, Entry<T>>) {
      const rows = living(entries);
      if (rows.length === 0) return;
      await local.setMany(rows);
      // Never rejects: keyv catches and emits, and our store reports a missed Redis as an 'error'.
      if (shared) await shared.setMany(rows);
    }

    async function read(keys: readonly string[]): Promise<Array<Entry<T> | undefined>> {
      const stored = (await local.getMany(keys as string[])) as Array<Entry<T> | undefined>;
      if (!shared) return stored;
      const t = now();
      const ask = keys.flatMap((_, i) => (stored[i] && t - stored[i].at < ttlMs ? [] : [i]));
      if (ask.length === 0) return stored;
      let found: unknown[];
      try {
        found = await shared.getMany(ask.map((i) => keys[i]!));
      } catch {
        // Keyv does not catch around a store's getMany; ours never rejects, this is for keyv's own steps.
        events?.cacheEvent(name, 'error');
        return stored;
      }
      const newer: Array<readonly [string, Entry<unknown>]> = [];
      ask.forEach((i, j) => {
        const entry = found[j];
        if (!isEntry(entry) || (stored[i] && stored[i].at >= entry.at)) return;
        stored[i] = entry as Entry<T>;
        newer.push([keys[i]!, entry]);
      });
      const rows = living(newer);
      if (rows.length > 0) await local.setMany(rows);
      return stored;
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

      async fill(entries, fetchedAt = now()) {
        const keys = [...entries.keys()];
        const stored = await read(keys);
        const t = now();
        const wanted = new Map<string, Entry<T>>();
        keys.forEach((key, i) => {
          const old = stored[i];
          if (!old || (t - old.at >= ttlMs && old.at < fetchedAt))
            wanted.set(key, { v: entries.get(key)!, at: fetchedAt });
        });
        await write(wanted);
        return [...wanted.keys()];
      },
    };
  }

  return {
    namespace,
    size: () => memory.size,
    bytes: () => memory.calculatedSize,
    async close() {
      clearInterval(purge);
    },
  };
}

/**
 * Charged per in-process entry on top of its value: the entry object, the `{ value }` the keyv store
 * wraps it in, its key and the LRU's slots.
 */
const ENTRY_BYTES = 192;
const PURGE_EVERY_MS = 30_000;

function isEntry(value: unknown): value is Entry<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    'v' in value &&
    typeof (value as Entry<unknown>).at === 'number'
  );
}
