import Keyv, { type KeyvStoreAdapter } from 'keyv';
import type { LRUCache } from 'lru-cache';
import type { RedisConnection } from '../redis.js';
import { type Held, KeyvLruStore } from './keyv-lru-store.js';
import { KeyvRedisStore } from './keyv-redis-store.js';
import { deserializeTagged, serializeTagged } from './tagged-json.js';

// The one place the cache's Keyvs are made, with the options the stores rely on; the contract test
// (test/cache/keyv-store.test.ts) makes its Keyvs here too.

/**
 * A Keyv over `store` for one cache namespace. The store applies the namespace to its keys, so Keyv
 * must not (`useKeyPrefix: false`). `serialized`: values go through the Date-tagging JSON (a store
 * that holds text); otherwise the store holds the values themselves.
 */
export function keyvOver<Value>(
  store: KeyvStoreAdapter,
  namespace: string,
  serialized: boolean,
): Keyv<Value> {
  return new Keyv<Value>({
    store,
    namespace,
    useKeyPrefix: false,
    serialize: serialized ? serializeTagged : undefined,
    deserialize: serialized ? deserializeTagged : undefined,
  });
}

/** The in-process tier of `namespace`: keys `${namespace}:${key}` in the shared LRU. */
export function localKeyv<Value>(lru: LRUCache<string, Held>, namespace: string): Keyv<Value> {
  return keyvOver(new KeyvLruStore(lru), namespace, false);
}

/** The shared tier of `namespace`: keys `${redis.prefix}cache:${namespace}:${key}`. */
export function sharedKeyv<Value>(redis: RedisConnection, namespace: string): Keyv<Value> {
  return keyvOver(new KeyvRedisStore(redis, { keyPrefix: `${redis.prefix}cache:` }), namespace, true);
}
