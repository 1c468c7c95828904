import type { Redis } from 'ioredis';
import type { KeyvStoreAdapter, StoredData } from 'keyv';
import { type RedisConnection, UNAVAILABLE } from '../redis.js';

// A keyv store over our budgeted Redis connection (src/redis.ts), in place of @keyv/redis, whose own
// client queued commands while Redis was down and so hung every cache read. Each method is one Redis
// call through `RedisConnection.run`: bounded by the budget, no offline queue, never rejects. When
// Redis is down, slow, or answers with an error, reads resolve "absent" (undefined, false) and writes
// false, and the store emits 'error' (Keyv forwards it to its own 'error' listeners), so Keyv's
// callers carry on as without Redis and still learn that Redis was missed.
//
// Keys are `${keyPrefix}${namespace}:${key}`. The store applies the namespace itself (Keyv sets
// `store.namespace`; create the Keyv with `useKeyPrefix: false`), as keyv's own adapters do from
// keyv 6 on. Values are whatever Keyv's serializer made of them (strings); Redis expires each key
// itself, after the ttl Keyv passes. test/cache/keyv-store.test.ts holds keyv to what this relies on.

type Listener = (error: Error) => void;

export interface KeyvRedisStoreOptions {
  /** Put before `${namespace}:` in every key, e.g. `${config.redis.prefix}cache:`. */
  keyPrefix: string;
}

export class KeyvRedisStore implements KeyvStoreAdapter {
  readonly opts: KeyvRedisStoreOptions;
  namespace?: string | undefined;
  readonly #redis: RedisConnection;
  readonly #listeners = new Set<Listener>();

  constructor(redis: RedisConnection, options: KeyvRedisStoreOptions) {
    this.#redis = redis;
    this.opts = { ...options };
  }

  /** Only 'error' is ever emitted: once per call Redis did not serve. */
  on(event: string, listener: Listener): this {
    if (event === 'error') this.#listeners.add(listener);
    return this;
  }

  // Keyv types the stored data as its value; what a store holds is the serializer's string.
  async get<Value>(key: string): Promise<StoredData<Value>> {
    const answer = await this.#call('get', (client) => client.get(this.#keyOf(key)));
    return (typeof answer === 'string' ? answer : undefined) as StoredData<Value>;
  }

  async getMany<Value>(keys: string[]): Promise<Array<StoredData<Value | undefined>>> {
    if (keys.length === 0) return [];
    const answer = await this.#call('getMany', (client) => client.mget(keys.map((k) => this.#keyOf(k))));
    if (answer === UNAVAILABLE) return keys.map(() => undefined);
    return answer.map((text) => (typeof text === 'string' ? text : undefined) as StoredData<Value>);
  }

  /** True when Redis took it. */
  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    return (await this.#write([{ key, value, ttl }]))[0] === true;
  }

  /** One pipeline for every entry (a failure is reported as an 'error'). */
  async setMany(entries: Array<{ key: string; value: unknown; ttl?: number }>): Promise<void> {
    await this.#write(entries);
  }

  /** Per entry, whether Redis took it. */
  async #write(entries: Array<{ key: string; value: unknown; ttl?: number }>): Promise<boolean[]> {
    if (entries.length === 0) return [];
    if (!entries.every((entry) => typeof entry.value === 'string')) {
      this.#fail('setMany', 'values must be serialized to strings (give Keyv a serializer)');
      return entries.map(() => false);
    }
    const answer = await this.#call('setMany', (client) => {
      const batch = client.pipeline();
      for (const { key, value, ttl } of entries) {
        const id = this.#keyOf(key);
        if (typeof ttl === 'number' && ttl > 0) batch.set(id, value as string, 'PX', Math.ceil(ttl));
        else batch.set(id, value as string);
      }
      return batch.exec();
    });
    if (answer === UNAVAILABLE) return entries.map(() => false);
    if (answer === null) {
      this.#fail('setMany', 'the pipeline was discarded');
      return entries.map(() => false);
    }
    const landed = entries.map((_, i) => answer[i] !== undefined && !answer[i]![0]);
    if (!landed.every(Boolean)) this.#fail('setMany', 'Redis refused some entries');
    return landed;
  }

  async delete(key: string): Promise<boolean> {
    return this.deleteMany([key]);
  }

  /** True when Redis deleted at least one of the keys. */
  async deleteMany(keys: string[]): Promise<boolean> {
    if (keys.length === 0) return false;
    const answer = await this.#call('deleteMany', (client) =>
      client.unlink(...keys.map((k) => this.#keyOf(k))),
    );
    return typeof answer === 'number' && answer > 0;
  }

  async has(key: string): Promise<boolean> {
    return (await this.hasMany([key]))[0] === true;
  }

  async hasMany(keys: string[]): Promise<boolean[]> {
    if (keys.length === 0) return [];
    const answer = await this.#call('hasMany', (client) => {
      const batch = client.pipeline();
      for (const key of keys) batch.exists(this.#keyOf(key));
      return batch.exec();
    });
    if (answer === UNAVAILABLE || answer === null) return keys.map(() => false);
    return keys.map((_, i) => answer[i]?.[1] === 1);
  }

  /**
   * Deletes this namespace's keys (every key under `keyPrefix` without a namespace), one SCAN page per
   * call, each within the budget; stops at the first page Redis does not serve. Not on any request path.
   */
  async clear(): Promise<void> {
    const match = `${escapeGlob(this.#keyOf(''))}*`;
    let cursor = '0';
    do {
      const page = await this.#call('clear', (client) => client.scan(cursor, 'MATCH', match, 'COUNT', 500));
      if (page === UNAVAILABLE) return;
      const [next, keys] = page;
      if (
        keys.length > 0 &&
        (await this.#call('clear', (client) => client.unlink(...keys))) === UNAVAILABLE
      ) {
        return;
      }
      cursor = next;
    } while (cursor !== '0');
  }

  /** The connection belongs to the gateway (src/redis.ts), which closes it; Keyv's disconnect leaves it. */
  async disconnect(): Promise<void> {}

  #keyOf(key: string): string {
    return this.namespace ? `${this.opts.keyPrefix}${this.namespace}:${key}` : `${this.opts.keyPrefix}${key}`;
  }

  /** One command within the budget; UNAVAILABLE (and an 'error') when Redis did not serve it. */
  async #call<T>(operation: string, command: (client: Redis) => Promise<T>): Promise<T | typeof UNAVAILABLE> {
    const redis = this.#redis;
    // A fresh process's first calls wait (within the budget) for its first connection attempt to settle.
    await redis.firstConnect(redis.timeoutMs);
    const answer = redis.up() ? await redis.run<T>(command) : UNAVAILABLE;
    if (answer === UNAVAILABLE) this.#fail(operation, 'Redis did not answer within its budget or is down');
    return answer;
  }

  #fail(operation: string, reason: string) {
    if (this.#listeners.size === 0) return;
    const error = new Error(`keyv redis store ${operation}: ${reason}`);
    for (const listener of this.#listeners) {
      try {
        listener(error);
      } catch {
        // A listener that throws must not turn a call that never rejects into one that does.
      }
    }
  }
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
