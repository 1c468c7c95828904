import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Cached, createCache, type FetchResult } from '../../src/cache.js';
import { loadConfig } from '../../src/config.js';
import { deferred, manualClock, settle } from '../helpers/manual-clock.js';

// createCache on an injected clock, one behaviour per test: fresh, stale-while-revalidate,
// stale-on-error up to its limit, singleflight, expiry. Upstream fetches are fakes that record their
// calls and, where the point is what happens while one is in flight, answer only when the test says.

const TTL = 1_000;
const STALE = 5_000;

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(opened.splice(0).map((thing) => thing.close()));
});

function setup(purgeEveryMs?: number) {
  const clock = manualClock();
  const events: string[] = [];
  const config = loadConfig({ env: { MARKETGRAPH_CACHE_STALE_MS: String(STALE) } });
  const cache = createCache({
    config,
    now: clock.now,
    events: { cacheEvent: (_ns, event) => events.push(event) },
    ...(purgeEveryMs ? { purgeEveryMs } : {}),
  });
  opened.push(cache);
  return { cache, clock, events, ns: cache.namespace<string>('quote', TTL) };
}

/** Answers from `answer` (a value or an Error per key); records each call's keys. */
function recorder(answer: (key: string) => string | Error) {
  const calls: string[][] = [];
  const fetch = async (keys: string[]): Promise<FetchResult<string>> => {
    calls.push([...keys]);
    return new Map(keys.map((k) => [k, answer(k)]));
  };
  return { calls, fetch };
}

/** A fetch whose every call waits until the test resolves (or rejects) it. */
function heldFetch() {
  const calls: Array<{ keys: string[]; answer: ReturnType<typeof deferred<FetchResult<string>>> }> = [];
  const fetch = (keys: string[]) => {
    const answer = deferred<FetchResult<string>>();
    calls.push({ keys: [...keys], answer });
    return answer.promise;
  };
  const values = (keys: string[], suffix: string) => new Map(keys.map((k) => [k, `${k}${suffix}`]));
  return { calls, fetch, values };
}

const missing = (key: string) => new Error(`no ${key}`);
const answerOf = (c: Cached<string> | Error) => (c instanceof Error ? c : c.value);

describe('createCache ages', () => {
  it('serves a fresh entry without a call until its ttl has passed', async () => {
    const { ns, clock, events } = setup();
    const { calls, fetch } = recorder((k) => `${k}1`);
    const fetchedAt = clock.now();
    expect(await ns.getMany(['a'], fetch, missing)).toEqual([{ value: 'a1', fetchedAt, stale: false }]);
    clock.advance(TTL - 1);
    expect(await ns.getMany(['a'], fetch, missing)).toEqual([{ value: 'a1', fetchedAt, stale: false }]);
    expect(calls).toEqual([['a']]);
    expect(events).toEqual(['miss', 'hit']);
    clock.advance(1);
    await ns.getMany(['a'], fetch, missing);
    expect(calls).toEqual([['a'], ['a']]);
  });

  it('serves a stale entry at once and refreshes it in the background once, however many ask', async () => {
    const { ns, clock } = setup();
    const first = recorder((k) => `${k}1`);
    const fetchedAt = clock.now();
    await ns.getMany(['a'], first.fetch, missing);
    clock.advance(TTL);

    const refresh = heldFetch();
    // An entry's fetchedAt is when its fetch started.
    const refreshedAt = clock.now();
    let answered: Array<Cached<string> | Error> | undefined;
    void ns.getMany(['a'], refresh.fetch, missing).then((r) => (answered = r));
    // The refresh is still unanswered, and the caller already has the old value, flagged stale.
    for (let i = 0; i < 5; i++) await settle();
    expect(answered).toEqual([{ value: 'a1', fetchedAt, stale: true }]);
    expect(refresh.calls.map((c) => c.keys)).toEqual([['a']]);

    // More readers while the refresh is in flight: served stale, no second refresh.
    clock.advance(TTL / 2);
    const more = await Promise.all([1, 2, 3].map(() => ns.getMany(['a'], refresh.fetch, missing)));
    expect(more.flat().map(answerOf)).toEqual(['a1', 'a1', 'a1']);
    expect(refresh.calls).toHaveLength(1);

    refresh.calls[0]!.answer.resolve(refresh.values(['a'], '2'));
    await settle();
    expect(await ns.getMany(['a'], refresh.fetch, missing)).toEqual([
      { value: 'a2', fetchedAt: refreshedAt, stale: false },
    ]);
    expect(refresh.calls).toHaveLength(1);
  });

  it('refetches first past 2·ttl, and serves the old value with `failed` while within ttl + stale', async () => {
    const { ns, clock } = setup();
    let failing = false;
    const { calls, fetch } = recorder((k) => (failing ? new Error(`down ${k}`) : `${k}1`));
    const fetchedAt = clock.now();
    await ns.getMany(['a'], fetch, missing);

    failing = true;
    clock.advance(2 * TTL);
    const [served] = await ns.getMany(['a'], fetch, missing);
    expect(served).toMatchObject({ value: 'a1', fetchedAt, stale: true, failed: { message: 'down a' } });
    expect(calls).toHaveLength(2);

    // The failure is not cached: every read past 2·ttl asks again, up to the last stale-served instant.
    clock.advance(TTL + STALE - 2 * TTL - 1);
    const [last] = await ns.getMany(['a'], fetch, missing);
    expect(last).toMatchObject({ value: 'a1', stale: true, failed: { message: 'down a' } });
    expect(calls).toHaveLength(3);

    clock.advance(1);
    const [gone] = await ns.getMany(['a'], fetch, missing);
    expect(gone).toBeInstanceOf(Error);
    expect((gone as Error).message).toBe('down a');
    expect(calls).toHaveLength(4);

    // The provider back: a fresh value, and served fresh from then on.
    failing = false;
    expect(await ns.getMany(['a'], fetch, missing)).toMatchObject([{ value: 'a1', stale: false }]);
    expect(calls).toHaveLength(5);
  });

  it('does not cache a failure or a key the provider left out', async () => {
    const { ns } = setup();
    let answer: (k: string) => string | Error = (k) => new Error(`down ${k}`);
    const calls: string[][] = [];
    const fetch = async (keys: string[]) => {
      calls.push(keys);
      // `b` is never in the answer: the provider does not list it.
      return new Map(keys.filter((k) => k !== 'b').map((k) => [k, answer(k)]));
    };
    const [a, b] = await ns.getMany(['a', 'b'], fetch, missing);
    expect((a as Error).message).toBe('down a');
    expect((b as Error).message).toBe('no b');
    answer = (k) => `${k}!`;
    expect((await ns.getMany(['a', 'b'], fetch, missing)).map(answerOf)).toEqual(['a!', new Error('no b')]);
    expect(calls).toEqual([
      ['a', 'b'],
      ['a', 'b'],
    ]);
  });
});

describe('createCache singleflight', () => {
  it('gives concurrent misses one upstream call, and a later miss for a key in flight no call of its own', async () => {
    const { ns } = setup();
    const { calls, fetch, values } = heldFetch();
    const readers = [
      ns.getMany(['x', 'y'], fetch, missing),
      ns.getMany(['y', 'x'], fetch, missing),
      ns.getMany(['x'], fetch, missing),
    ];
    await settle();
    expect(calls.map((c) => c.keys)).toEqual([['x', 'y']]);
    // A batch that overlaps the flight asks only for what is not in it.
    readers.push(ns.getMany(['y', 'z'], fetch, missing));
    await settle();
    expect(calls.map((c) => c.keys)).toEqual([['x', 'y'], ['z']]);

    calls[0]!.answer.resolve(values(['x', 'y'], '1'));
    calls[1]!.answer.resolve(values(['z'], '1'));
    const results = await Promise.all(readers);
    expect(results.map((r) => r.map(answerOf))).toEqual([['x1', 'y1'], ['y1', 'x1'], ['x1'], ['y1', 'z1']]);
    expect(calls).toHaveLength(2);
  });

  it('shares a failed flight with every waiter, then lets the next miss call again', async () => {
    const { ns } = setup();
    const { calls, fetch, values } = heldFetch();
    const readers = [ns.getMany(['x'], fetch, missing), ns.getMany(['x'], fetch, missing)];
    await settle();
    calls[0]!.answer.reject(new Error('boom'));
    const results = await Promise.all(readers);
    expect(results.flat().map((r) => (r as Error).message)).toEqual(['boom', 'boom']);
    expect(calls).toHaveLength(1);

    const again = ns.getMany(['x'], fetch, missing);
    await settle();
    expect(calls).toHaveLength(2);
    calls[1]!.answer.resolve(values(['x'], '2'));
    expect((await again).map(answerOf)).toEqual(['x2']);
  });
});

describe('createCache expiry', () => {
  it('drops an entry from the in-process tier once 2·ttl + stale has passed, not before', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { cache, ns, clock } = setup(1_000);
    const { calls, fetch } = recorder((k) => `${k}1`);
    await ns.getMany(['old'], fetch, missing);
    clock.advance(TTL);
    await ns.getMany(['young'], fetch, missing);

    // The older entry at exactly its lifetime: still held.
    clock.advance(2 * TTL + STALE - TTL);
    vi.advanceTimersByTime(1_000);
    expect(cache.size()).toBe(2);
    clock.advance(1);
    vi.advanceTimersByTime(1_000);
    expect(cache.size()).toBe(1);
    clock.advance(TTL);
    vi.advanceTimersByTime(1_000);
    expect(cache.size()).toBe(0);
    expect(cache.bytes()).toBe(0);

    // Gone means gone: a provider that fails now has nothing stale to fall back on.
    const failing = recorder((k) => new Error(`down ${k}`));
    expect((await ns.getMany(['old'], failing.fetch, missing))[0]).toBeInstanceOf(Error);
    expect(calls).toHaveLength(2);
    expect(failing.calls).toEqual([['old']]);
  });
});
