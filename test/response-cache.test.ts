import { describe, expect, it } from 'vitest';
import { type Cache, createCache } from '../src/cache.js';
import { loadConfig } from '../src/config.js';
import type { Freshness } from '../src/freshness.js';
import { createResponseCache, hashKey, type ResponseKey } from '../src/response-cache.js';
import { T } from './helpers/clock.js';

// The store and the freshness record on their own, on an injected clock: what an answer may be stored
// with, how long it lives, and what drops it. End to end over HTTP: test/gateway/response-cache.test.ts.

const JSON_HEADERS = [['content-type', 'application/json; charset=utf-8']] as const;

function setup(maxBytes = 1 << 20) {
  let now = T;
  const clock = {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
  const responses = createResponseCache({ maxBytes, now: clock.now });
  const cache = responses.watch(createCache({ config: loadConfig({ env: {} }), now: clock.now }));
  return { clock, responses, cache };
}

/** Reads `keys` of `namespace` through the execution's view, fetching misses as `${key}@${now}`. */
async function read(
  freshness: Freshness,
  cache: Cache,
  namespace: 'quote' | 'markets-page',
  ttl: number,
  keys: string[],
  now: number,
) {
  const results = await freshness
    .observe(cache)
    .namespace<string>(namespace, ttl)
    .getMany(
      keys,
      async (missing) => new Map(missing.map((k) => [k, `${k}@${now}`])),
      (k) => new Error(`no ${k}`),
    );
  return results;
}

const answer = (body = '{"data":{}}') => ({
  status: 200,
  headers: JSON_HEADERS,
  body: Buffer.from(body),
  private: false,
});

describe('response cache', () => {
  it('keeps an answer until the first value it read stops being fresh', async () => {
    const { clock, responses, cache } = setup();
    await read(responses.begin(), cache, 'markets-page', 60_000, ['top'], clock.now());
    clock.advance(50_000);
    const freshness = responses.begin();
    await read(freshness, cache, 'markets-page', 60_000, ['top'], clock.now());
    await read(freshness, cache, 'quote', 15_000, ['btc', 'eth'], clock.now());
    freshness.markComplete();
    const outcome = responses.store('k', freshness, answer());
    // The page was fetched 50 s ago with a 60 s TTL: 10 s left, though the quotes have 15.
    expect(outcome).toMatchObject({ stored: { expiresAt: T + 60_000 } });
    clock.advance(9_999);
    expect(responses.lookup('k')).toBeDefined();
    clock.advance(1);
    expect(responses.lookup('k')).toBeUndefined();
    expect(responses.stats.entries).toBe(0);
  });

  it.each([
    ['an execution that did not complete', (_f: Freshness) => {}, 'incomplete'],
    ['an answer with errors', (f: Freshness) => f.refuse('errors'), 'errors'],
  ])('does not store %s', async (_name, act, reason) => {
    const { clock, responses, cache } = setup();
    const freshness = responses.begin();
    await read(freshness, cache, 'quote', 15_000, ['btc'], clock.now());
    act(freshness);
    expect(responses.store('k', freshness, answer())).toEqual({ skipped: reason });
    expect(responses.lookup('k')).toBeUndefined();
  });

  it('does not store an answer built on a stale value, an Error or nothing at all', async () => {
    const { clock, responses, cache } = setup();
    await read(responses.begin(), cache, 'quote', 15_000, ['btc'], clock.now());
    clock.advance(15_000);
    const stale = responses.begin();
    const [value] = await read(stale, cache, 'quote', 15_000, ['btc'], clock.now());
    expect(value).toMatchObject({ stale: true });
    stale.markComplete();
    expect(responses.store('a', stale, answer())).toEqual({ skipped: 'stale' });

    const failed = responses.begin();
    await failed
      .observe(cache)
      .namespace<string>('quote', 15_000)
      .getMany(
        ['nope'],
        async () => new Map(),
        (k) => new Error(`no ${k}`),
      );
    failed.markComplete();
    expect(responses.store('b', failed, answer())).toEqual({ skipped: 'error-value' });

    const empty = responses.begin();
    empty.markComplete();
    expect(responses.store('c', empty, answer())).toEqual({ skipped: 'no-reads' });
  });

  it('refuses answers that read clock-dependent namespaces', async () => {
    const { clock, responses, cache } = setup();
    const freshness = responses.begin();
    await freshness
      .observe(cache)
      .namespace<string>('candles', 300_000)
      .getMany(
        ['btc:1d'],
        async (keys) => new Map(keys.map((k) => [k, 'x'])),
        (k) => new Error(k),
      );
    freshness.markComplete();
    expect(responses.store('k', freshness, answer())).toEqual({ skipped: 'clock:candles' });
    expect(clock.now()).toBe(T);
  });

  it('drops an answer when a value it read is rewritten, and refuses one whose value was rewritten while it ran', async () => {
    const { clock, responses, cache } = setup();
    const first = responses.begin();
    await read(first, cache, 'quote', 15_000, ['btc', 'eth'], clock.now());
    first.markComplete();
    expect(responses.store('k', first, answer())).toHaveProperty('stored');

    const running = responses.begin();
    await read(running, cache, 'quote', 15_000, ['eth'], clock.now());
    // Someone primes a fresher Ether quote (a markets page carrying prices, say).
    await cache.namespace<string>('quote', 15_000).prime(new Map([['eth', 'eth@primed']]));
    expect(responses.lookup('k')).toBeUndefined();
    running.markComplete();
    expect(responses.store('k2', running, answer())).toEqual({ skipped: 'superseded' });

    // Rewrites of other values leave an answer alone.
    const third = responses.begin();
    await read(third, cache, 'quote', 15_000, ['btc'], clock.now());
    third.markComplete();
    expect(responses.store('k3', third, answer())).toHaveProperty('stored');
    await cache.namespace<string>('quote', 15_000).prime(new Map([['sol', 'sol@primed']]));
    expect(responses.lookup('k3')).toBeDefined();
  });

  it('serves an answer only while the process state it depended on reads the same', async () => {
    const { clock, responses, cache } = setup();
    let order = 'coingecko,binance';
    const quoteOrder = { name: 'quote-order', read: () => order };
    const freshness = responses.begin();
    await read(freshness, cache, 'quote', 15_000, ['btc'], clock.now());
    freshness.dependOn(quoteOrder, order);
    freshness.dependOn(quoteOrder, order);
    freshness.markComplete();
    expect(responses.store('k', freshness, answer())).toHaveProperty('stored');
    expect(responses.lookup('k')).toBeDefined();
    order = 'binance,coingecko';
    expect(responses.lookup('k')).toBeUndefined();
    // Changed in the middle of an execution: its answer mixes both, and is not stored.
    const mixed = responses.begin();
    await read(mixed, cache, 'quote', 15_000, ['btc'], clock.now());
    mixed.dependOn(quoteOrder, 'coingecko,binance');
    mixed.dependOn(quoteOrder, 'binance,coingecko');
    mixed.markComplete();
    expect(responses.store('k', mixed, answer())).toEqual({ skipped: 'changed:quote-order' });
  });

  it('stays within its byte bound, and keeps no index entries for what it evicted', async () => {
    const { clock, responses, cache } = setup(64 * 1024);
    const body = 'x'.repeat(3000);
    for (let i = 0; i < 40; i++) {
      const freshness = responses.begin();
      await read(freshness, cache, 'quote', 15_000, [`asset-${i}`], clock.now());
      freshness.markComplete();
      expect(responses.store(`k${i}`, freshness, answer(body))).toHaveProperty('stored');
      expect(responses.stats.bytes).toBeLessThanOrEqual(64 * 1024);
    }
    expect(responses.stats.entries).toBeLessThan(40);
    expect(responses.lookup('k39')).toBeDefined();
    expect(responses.lookup('k0')).toBeUndefined();
    // A rewrite of an evicted answer's value finds nothing to drop (and does not throw).
    await cache.namespace<string>('quote', 15_000).prime(new Map([['asset-0', 'new']]));
    expect(responses.lookup('k39')).toBeDefined();

    const big = responses.begin();
    await read(big, cache, 'quote', 15_000, ['big'], clock.now());
    big.markComplete();
    expect(responses.store('big', big, answer('y'.repeat(10_000)))).toEqual({ skipped: 'too-large' });
  });

  it('hashes every part of the key, so no two requests that differ anywhere share an entry', () => {
    const base: ResponseKey = {
      method: 'POST',
      operation: Buffer.from(
        '{"query":"query($n:Int){assets(first:$n){edges{node{id}}}}","variables":{"n":2}}',
      ),
      contentType: 'application/json',
      accept: 'application/json',
      origin: '',
      scope: '',
    };
    const variants: ResponseKey[] = [
      { ...base, operation: Buffer.from(base.operation.toString().replace('"n":2', '"n":3')) },
      { ...base, method: 'GET', operation: base.operation.toString() },
      { ...base, contentType: 'application/graphql' },
      { ...base, accept: 'application/graphql-response+json' },
      { ...base, origin: 'https://a.example' },
      { ...base, scope: 'auth=alice;' },
    ];
    const hashes = new Set([base, ...variants].map(hashKey));
    expect(hashes.size).toBe(variants.length + 1);
    expect(hashKey({ ...base, operation: Buffer.from(base.operation) })).toBe(hashKey(base));
  });
});
