import { type RedisConnection, UNAVAILABLE } from '../redis.js';

// The shared tier of the cache: JSON values under `${prefix}cache:${id}`, expiring in Redis itself.
// Every call is bounded by the connection's budget and never throws: a Redis that is down, slow or
// answering garbage reads as "nothing shared" (undefined) and a write that did not land is reported
// false, so the cache carries on with its in-process tier and the providers.

export interface RedisTier {
  /** Stored values in `ids` order (undefined where absent or unreadable); undefined when Redis did not answer. */
  getMany(ids: readonly string[]): Promise<Array<unknown | undefined> | undefined>;
  /** True when Redis took every entry within the budget. */
  setMany(entries: ReadonlyArray<readonly [string, unknown]>, ttlMs: number): Promise<boolean>;
}

export function createRedisTier(redis: RedisConnection): RedisTier {
  const keyOf = (id: string) => `${redis.prefix}cache:${id}`;
  /** The first calls of a fresh process wait (within the budget) for the first connection to settle. */
  const available = async () => {
    await redis.firstConnect(redis.timeoutMs);
    return redis.up();
  };
  return {
    async getMany(ids) {
      if (ids.length === 0) return [];
      if (!(await available())) return undefined;
      const answer = await redis.run((client) => client.mget(ids.map(keyOf)));
      if (answer === UNAVAILABLE) return undefined;
      return answer.map((text) => (text === null ? undefined : parse(text)));
    },
    async setMany(entries, ttlMs) {
      if (entries.length === 0) return true;
      if (!(await available())) return false;
      const px = Math.max(1, Math.ceil(ttlMs));
      const answer = await redis.run((client) => {
        const batch = client.pipeline();
        for (const [id, value] of entries) batch.set(keyOf(id), serializeJson(value), 'PX', px);
        return batch.exec();
      });
      return answer !== UNAVAILABLE && answer !== null && answer.every(([error]) => !error);
    },
  };
}

function parse(text: string): unknown {
  try {
    return deserializeJson(text);
  } catch {
    return undefined;
  }
}

// Redis holds JSON; Dates are tagged so they come back as Dates.
function serializeJson(data: unknown): string {
  return JSON.stringify(data, function (this: Record<string, unknown>, key, value) {
    const raw = this[key];
    return raw instanceof Date ? { $date: raw.getTime() } : value;
  });
}

function deserializeJson(text: string): unknown {
  return JSON.parse(text, (_key, value) =>
    value && typeof value === 'object' && typeof value.$date === 'number' && Object.keys(value).length === 1
      ? new Date(value.$date)
      : value,
  );
}
