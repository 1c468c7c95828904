import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createIdentifier } from '../../src/auth/identify.js';
import type { KeyStore } from '../../src/auth/key-store.js';
import { type KeyTable, parseKeysFile } from '../../src/auth/keys-file.js';
import { keysFileText, newKey } from '../helpers/keys.js';

// The identity step on its own: the keys file's validation, and the per-credential cache that keeps the
// response cache's hits cheap (one hash and lookup per distinct key string, dropped on reload).

const ANONYMOUS = { plan: { requestsPerMinute: 5, costPerMinute: 5, maxSubscriptions: 0 }, scopes: [] };

function store(text: string) {
  let table: KeyTable = parseKeysFile(text);
  let reads = 0;
  const listeners: Array<() => void> = [];
  const keys: KeyStore = {
    table: () => {
      reads += 1;
      return table;
    },
    reload: async () => true,
    onChange: (listener) => listeners.push(listener),
    close() {},
  };
  return {
    keys,
    reads: () => reads,
    replace(next: string) {
      table = parseKeysFile(next);
      for (const listener of listeners) listener();
    },
  };
}

describe('the keys file', () => {
  it('is refused whole, naming the first problem, for a bad hash, an unknown scope or a duplicate id', () => {
    const entry = {
      id: 'a',
      sha256: 'a'.repeat(64),
      scopes: [],
      requestsPerMinute: 1,
      costPerMinute: 1,
      maxSubscriptions: 0,
    };
    expect(() => parseKeysFile('not json')).toThrow('not valid JSON');
    expect(() => parseKeysFile(JSON.stringify({ keys: [{ ...entry, sha256: 'xyz' }] }))).toThrow(
      /^keys\.0\.sha256: /,
    );
    expect(() => parseKeysFile(JSON.stringify({ keys: [{ ...entry, scopes: ['admin'] }] }))).toThrow(
      /^keys\.0\.scopes\.0: /,
    );
    expect(() =>
      parseKeysFile(JSON.stringify({ keys: [entry, { ...entry, sha256: 'b'.repeat(64) }] })),
    ).toThrow(/duplicate id a/);
    expect(() => parseKeysFile(JSON.stringify({ keys: [{ ...entry, requestsPerMinute: 0 }] }))).toThrow(
      /^keys\.0\.requestsPerMinute: /,
    );
    const table = parseKeysFile(
      JSON.stringify({ keys: [entry], anonymous: { ...ANONYMOUS.plan, scopes: ['subscribe'] } }),
    );
    expect(table.byHash.get('a'.repeat(64))?.id).toBe('a');
    expect([...(table.anonymous?.scopes ?? [])]).toEqual(['subscribe']);
  });
});

describe('identify', () => {
  it('looks a key up once per distinct string, and again after a reload', () => {
    const alice = newKey('alice', { scopes: ['subscribe', 'sources:detail'] });
    const s = store(keysFileText([alice]));
    const identifier = createIdentifier({ mode: 'required', keys: s.keys, anonymous: ANONYMOUS });
    const before = s.reads();
    for (let i = 0; i < 100; i++) {
      const outcome = identifier.identify({ apiKey: alice.key }, '127.0.0.1');
      expect(outcome).toMatchObject({
        client: { id: 'alice', kind: 'key' },
        scopeKey: 'sources:detail,subscribe',
      });
    }
    expect(s.reads() - before).toBe(1);
    // The Authorization header with the same key is the same string: no new lookup either.
    identifier.identify({ authorization: `Bearer ${alice.key}` }, '127.0.0.1');
    expect(s.reads() - before).toBe(1);

    s.replace(keysFileText([]));
    expect(identifier.identify({ apiKey: alice.key }, '127.0.0.1')).toEqual({
      refuse: { status: 401, code: 'UNAUTHENTICATED', message: 'the API key is not valid' },
    });
  });

  it('gives anonymous callers their address as id; refuses them in required mode; off knows nobody', () => {
    const s = store(keysFileText([], { scopes: ['subscribe'] }));
    const optional = createIdentifier({ mode: 'optional', keys: s.keys, anonymous: ANONYMOUS });
    expect(optional.identify({}, '10.0.0.7')).toMatchObject({
      client: { id: 'anonymous:10.0.0.7', kind: 'anonymous', plan: { requestsPerMinute: 1_000 } },
      scopeKey: 'subscribe',
    });
    const required = createIdentifier({ mode: 'required', keys: s.keys, anonymous: ANONYMOUS });
    expect(required.identify({}, '10.0.0.7')).toMatchObject({ refuse: { status: 401 } });
    const off = createIdentifier({ mode: 'off', keys: s.keys, anonymous: ANONYMOUS });
    expect(off.identify({ apiKey: 'anything' }, '10.0.0.7')).toEqual({ client: undefined, scopeKey: '' });
  });

  it('never stores a key, only its hash', () => {
    const alice = newKey('alice');
    const text = keysFileText([alice]);
    expect(text).not.toContain(alice.key);
    expect(text).toContain(createHash('sha256').update(alice.key).digest('hex'));
  });
});
