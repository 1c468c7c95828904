import type { DeserializedData, KeyvStoreAdapter, StoredData } from 'keyv';
import type { LRUCache } from 'lru-cache';

// A keyv store over one lru-cache LRUCache that several Keyv instances share, one per namespace: keys
// are `${namespace}:${key}` (the store applies the namespace itself; create the Keyv with
// `useKeyPrefix: false`). Keyv without a serializer hands a store `{ value, expires }` objects; this
// store keeps `{ value }` and lets the LRU expire it after the `ttl` Keyv passes, on the LRU's own
// clock (its `perf.now`), because Keyv stamps `expires` with Date.now and would second-guess an
// injected clock. Nothing here fails, so it never emits 'error'. test/cache/keyv-store.test.ts holds
// keyv to what this relies on.

/** What the LRU holds per key. */
export type Held = DeserializedData<unknown>;

export class KeyvLruStore implements KeyvStoreAdapter {
  readonly opts = {};
  namespace?: string | undefined;
  readonly #lru: LRUCache<string, Held>;

  constructor(lru: LRUCache<string, Held>) {
    this.#lru = lru;
  }

  on(): this {
    return this;
  }

  async get<Value>(key: string): Promise<StoredData<Value>> {
    return this.#lru.get(this.#id(key)) as StoredData<Value>;
  }

  async getMany<Value>(keys: string[]): Promise<Array<StoredData<Value | undefined>>> {
    return keys.map((key) => this.#lru.get(this.#id(key)) as StoredData<Value>);
  }

  async set(key: string, data: Held, ttl?: number): Promise<boolean> {
    this.#put(key, data, ttl);
    return true;
  }

  async setMany(entries: Array<{ key: string; value: Held; ttl?: number }>): Promise<void> {
    for (const { key, value, ttl } of entries) this.#put(key, value, ttl);
  }

  async delete(key: string): Promise<boolean> {
    return this.#lru.delete(this.#id(key));
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    let deleted = false;
    for (const key of keys) deleted = this.#lru.delete(this.#id(key)) || deleted;
    return deleted;
  }

  async has(key: string): Promise<boolean> {
    return this.#lru.has(this.#id(key));
  }

  /** Drops this namespace's keys only (every key without a namespace). */
  async clear(): Promise<void> {
    const start = this.#id('');
    for (const id of [...this.#lru.keys()]) if (id.startsWith(start)) this.#lru.delete(id);
  }

  #put(key: string, data: Held, ttl: number | undefined) {
    const held: Held = { value: data.value };
    if (typeof ttl === 'number' && ttl > 0) this.#lru.set(this.#id(key), held, { ttl });
    else this.#lru.set(this.#id(key), held);
  }

  #id(key: string): string {
    return this.namespace ? `${this.namespace}:${key}` : key;
  }
}
