import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

// Tests share whatever Redis is at REDIS_TEST_URL (default redis://127.0.0.1:6379) with other runs and
// other programs: each test names its keys under a prefix of its own and deletes only those. Nothing
// here flushes a database.

export function redisTestUrl(): string {
  return process.env.REDIS_TEST_URL || 'redis://127.0.0.1:6379';
}

/** A prefix no other run uses, e.g. `marketgraph-test:quota:1b4e…:`. */
export function testPrefix(name: string): string {
  return `marketgraph-test:${name}:${randomUUID()}:`;
}

/** Deletes every key under `prefix` (SCAN, never KEYS or FLUSHDB); returns how many. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** Keys under `prefix`, sorted (SCAN). */
export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 500);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out.sort();
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
