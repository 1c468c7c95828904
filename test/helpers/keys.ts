import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Keys files for auth tests: each test gets its own folder, keys are random, the file holds their hashes.

export interface TestKey {
  id: string;
  key: string;
  scopes?: string[];
  requestsPerMinute?: number;
  costPerMinute?: number;
  maxSubscriptions?: number;
}

export function newKey(id: string, options: Omit<TestKey, 'id' | 'key'> = {}): TestKey {
  return { id, key: `mg_${randomBytes(24).toString('base64url')}`, ...options };
}

export function keysFileText(
  keys: TestKey[],
  anonymous: {
    requestsPerMinute?: number;
    costPerMinute?: number;
    maxSubscriptions?: number;
    scopes?: string[];
  } = {},
): string {
  return JSON.stringify({
    keys: keys.map((k) => ({
      id: k.id,
      sha256: createHash('sha256').update(k.key).digest('hex'),
      scopes: k.scopes ?? [],
      requestsPerMinute: k.requestsPerMinute ?? 1_000,
      costPerMinute: k.costPerMinute ?? 1_000_000,
      maxSubscriptions: k.maxSubscriptions ?? 10,
    })),
    anonymous: {
      requestsPerMinute: 1_000,
      costPerMinute: 1_000_000,
      maxSubscriptions: 10,
      scopes: [],
      ...anonymous,
    },
  });
}

export interface KeysDir {
  path: string;
  /** Replaces the file the way deploy tools do: write a new file, rename it over the old one. */
  write(text: string): Promise<void>;
  remove(): Promise<void>;
}

export async function keysDir(text: string): Promise<KeysDir> {
  const dir = await mkdtemp(join(tmpdir(), 'marketgraph-keys-'));
  const path = join(dir, 'keys.json');
  await writeFile(path, text);
  let n = 0;
  return {
    path,
    async write(next) {
      const temp = join(dir, `.keys.${n++}.tmp`);
      await writeFile(temp, next);
      await rename(temp, path);
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
