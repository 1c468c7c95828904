import { afterEach, describe, expect, it, vi } from 'vitest';
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

afterEach(() => {
  vi.useRealTimers();
});

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
    // On fake time (Date and timers): the throttle's clock and timer move only with the test.
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const src = source();
    const stream = conflate<Tick, Tick>({
      listen: src.listen,
      keyOf: (t) => t.key,
      map: (t) => t,
      throttleMs: 200,
    });
    const received: Array<{ at: number; tick: Tick }> = [];
    const reading = (async () => {
      for await (const tick of stream) received.push({ at: Date.now(), tick });
    })();
    const started = Date.now();
    // Both keys offered every 10 ms for 1 s: 100 offers each.
    for (let n = 1; n <= 100; n++) {
      src.emit('btc', n);
      src.emit('eth', n);
      await vi.advanceTimersByTimeAsync(10);
    }
    await stream.return?.();
    await reading;
    for (const key of ['btc', 'eth']) {
      const mine = received.filter((r) => r.tick.key === key);
      // At 0, 200, 400, 600, 800 and 1000 ms: six deliveries of the hundred offered, each the newest.
      expect(mine.map((r) => r.at - started)).toEqual([0, 200, 400, 600, 800, 1000]);
      expect(mine.map((r) => r.tick.n)).toEqual([1, 20, 40, 60, 80, 100]);
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
