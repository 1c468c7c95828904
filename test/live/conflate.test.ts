import { describe, expect, it } from 'vitest';
import { conflate } from '../../src/live/conflate.js';

// One subscriber's stream: latest value per key, throttle per key, snapshot first, release on return().

interface Tick {
  key: string;
  n: number;
}

function source() {
  const listeners = new Set<(t: Tick) => void>();
  return {
    listen(offer: (t: Tick) => void) {
      listeners.add(offer);
      return () => listeners.delete(offer);
    },
    emit(key: string, n: number) {
      for (const l of listeners) l({ key, n });
    },
    size: () => listeners.size,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the next value, or 'pending' if none comes within `ms`. */
async function nextWithin<T>(it: AsyncIterator<T>, ms: number): Promise<T | 'pending' | 'done'> {
  const timeout = sleep(ms).then(() => 'pending' as const);
  const next = it.next().then((r) => (r.done ? ('done' as const) : r.value));
  return Promise.race([next, timeout]);
}

describe('conflate', () => {
  it('gives a consumer that stopped reading the latest value per key, not a backlog', async () => {
    const src = source();
    const stream = conflate<Tick, number>({ listen: src.listen, keyOf: (t) => t.key, map: (t) => t.n });
    for (let n = 1; n <= 10_000; n++) src.emit('btc', n);
    src.emit('eth', 7);
    expect(await stream.next()).toEqual({ value: 10_000, done: false });
    expect(await stream.next()).toEqual({ value: 7, done: false });
    // Nothing else is queued: ten thousand offers left two deliveries.
    expect(await nextWithin(stream, 50)).toBe('pending');
    await stream.return?.();
  });

  it('takes keys round-robin, so a key that is refilled before every read does not starve the others', async () => {
    const src = source();
    const stream = conflate<Tick, string>({ listen: src.listen, keyOf: (t) => t.key, map: (t) => t.key });
    const got: string[] = [];
    for (let n = 0; n < 6; n++) {
      // btc ticks before every read; eth and sol tick once.
      src.emit('btc', n);
      if (n === 0) {
        src.emit('eth', 1);
        src.emit('sol', 1);
      }
      got.push((await stream.next()).value as string);
    }
    expect(got.slice(0, 3).sort()).toEqual(['btc', 'eth', 'sol']);
    expect(got.slice(3)).toEqual(['btc', 'btc', 'btc']);
    await stream.return?.();
  });

  it('delivers the snapshot first, and a live event that arrived while it loaded wins over it', async () => {
    const src = source();
    let release: (events: Tick[]) => void = () => {};
    const stream = conflate<Tick, string>({
      listen: src.listen,
      initial: () => new Promise((resolve) => (release = resolve)),
      keyOf: (t) => t.key,
      map: (t) => `${t.key}=${t.n}`,
    });
    src.emit('eth', 2);
    release([
      { key: 'btc', n: 100 },
      { key: 'eth', n: 1 },
    ]);
    const got = [await stream.next(), await stream.next()].map((r) => r.value);
    expect(got.sort()).toEqual(['btc=100', 'eth=2']);
    expect(await nextWithin(stream, 30)).toBe('pending');
    await stream.return?.();
  });

  it('spaces deliveries per key by throttleMs and then sends the newest value', async () => {
    const src = source();
    const stream = conflate<Tick, Tick>({
      listen: src.listen,
      keyOf: (t) => t.key,
      map: (t) => t,
      throttleMs: 200,
    });
    const received: Array<{ at: number; tick: Tick }> = [];
    const reading = (async () => {
      for await (const tick of stream) received.push({ at: performance.now(), tick });
    })();
    const started = performance.now();
    let n = 0;
    while (performance.now() - started < 1_000) {
      src.emit('btc', ++n);
      src.emit('eth', n);
      await sleep(10);
    }
    await stream.return?.();
    await reading;
    for (const key of ['btc', 'eth']) {
      const mine = received.filter((r) => r.tick.key === key);
      // ~1 s at one per 200 ms: 5 or 6 deliveries, not the ~90 offered.
      expect(mine.length).toBeGreaterThanOrEqual(4);
      expect(mine.length).toBeLessThanOrEqual(6);
      for (let i = 1; i < mine.length; i++) {
        expect(mine[i]!.at - mine[i - 1]!.at).toBeGreaterThanOrEqual(195);
        expect(mine[i]!.tick.n).toBeGreaterThan(mine[i - 1]!.tick.n);
      }
    }
  });

  it('drops an event equal to the last one delivered for its key', async () => {
    const src = source();
    const stream = conflate<Tick, number>({
      listen: src.listen,
      keyOf: (t) => t.key,
      map: (t) => t.n,
      same: (a, b) => a.n === b.n,
    });
    src.emit('btc', 1);
    expect((await stream.next()).value).toBe(1);
    src.emit('btc', 1);
    expect(await nextWithin(stream, 30)).toBe('pending');
    src.emit('btc', 2);
    await sleep(0);
    await stream.return?.();
  });

  it('stops listening and settles a pending next() when the consumer leaves', async () => {
    const src = source();
    const stream = conflate<Tick, number>({ listen: src.listen, keyOf: (t) => t.key, map: (t) => t.n });
    expect(src.size()).toBe(1);
    const pending = stream.next();
    await stream.return?.();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(src.size()).toBe(0);
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });
});
