import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { type Plan, SCOPES } from './client.js';

// The keys file (MARKETGRAPH_API_KEYS_FILE): API keys as SHA-256 hashes of the key, never the keys
// themselves, each with its scopes and plan, plus the plan (and optionally scopes) of anonymous callers
// and of JWT callers. Validated whole: a file with one bad entry is refused whole, so a reload never
// applies half an edit.

const count = (max: number) => z.number().int().min(0).max(max);

const plan = z.object({
  requestsPerMinute: count(10_000_000).min(1),
  costPerMinute: count(1_000_000_000).min(1),
  maxSubscriptions: count(1_000_000),
});

const scopes = z.array(z.enum(SCOPES)).max(SCOPES.length);

const keysFile = z
  .object({
    keys: z
      .array(
        plan.extend({
          id: z
            .string()
            .regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'ids are 1 to 64 characters from A-Z a-z 0-9 _ . @ -'),
          sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be the 64 lower-case hex digits of a SHA-256'),
          scopes: scopes.default([]),
        }),
      )
      .max(100_000),
    anonymous: plan.extend({ scopes: scopes.optional() }).optional(),
    /** The plan of callers with a valid JWT (default: the anonymous plan). */
    jwt: plan.optional(),
  })
  .superRefine((file, ctx) => {
    const ids = new Set<string>();
    const hashes = new Set<string>();
    for (const [i, key] of file.keys.entries()) {
      if (ids.has(key.id))
        ctx.addIssue({ code: 'custom', path: ['keys', i, 'id'], message: `duplicate id ${key.id}` });
      if (hashes.has(key.sha256))
        ctx.addIssue({ code: 'custom', path: ['keys', i, 'sha256'], message: 'duplicate sha256' });
      ids.add(key.id);
      hashes.add(key.sha256);
    }
  });

export type KeysFile = z.infer<typeof keysFile>;

export interface KeyEntry {
  id: string;
  scopes: ReadonlySet<string>;
  plan: Plan;
}

/** What the gateway uses from a keys file. */
export interface KeyTable {
  /** By hex SHA-256 of the key. */
  byHash: ReadonlyMap<string, KeyEntry>;
  anonymous?: { plan: Plan; scopes?: ReadonlySet<string> };
  jwt?: Plan;
}

export const EMPTY_KEY_TABLE: KeyTable = { byHash: new Map() };

/** Parses the file's text; throws an Error whose message names the first problem (no key material). */
export function parseKeysFile(text: string): KeyTable {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('not valid JSON');
  }
  const parsed = keysFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${issue?.path.join('.') || '(top level)'}: ${issue?.message ?? 'invalid'}`);
  }
  const byHash = new Map<string, KeyEntry>();
  for (const key of parsed.data.keys) {
    byHash.set(key.sha256, {
      id: key.id,
      scopes: new Set(key.scopes),
      plan: planOf(key),
    });
  }
  const anonymous = parsed.data.anonymous;
  return {
    byHash,
    ...(anonymous
      ? {
          anonymous: {
            plan: planOf(anonymous),
            ...(anonymous.scopes ? { scopes: new Set(anonymous.scopes) } : {}),
          },
        }
      : {}),
    ...(parsed.data.jwt ? { jwt: planOf(parsed.data.jwt) } : {}),
  };
}

export async function readKeysFile(path: string): Promise<KeyTable> {
  return parseKeysFile(await readFile(path, 'utf8'));
}

function planOf(p: Plan): Plan {
  return {
    requestsPerMinute: p.requestsPerMinute,
    costPerMinute: p.costPerMinute,
    maxSubscriptions: p.maxSubscriptions,
  };
}
