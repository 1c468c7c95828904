import { afterEach, describe, expect, it, vi } from 'vitest';
import { createPriceFeed } from '../../src/live/price-feed.js';
import type { PriceHub, PriceTick } from '../../src/live/price-hub.js';
import type { Price } from '../../src/market/model.js';
import { manualClock, settle } from '../helpers/manual-clock.js';

// The price feed (src/live/price-feed.ts) without sockets: a fake hub the test ticks by hand, fake REST
// prices and rates that count their calls, and an injected clock (with fake timers for the throttle's
// timer). Current price first, then changes only; throttleMs per asset; one Price object per tick
// and currency shared by every subscriber; a rate refreshed behind the ticks, never waited on.

afterEach(() => {
  vi.useRealTimers();
});

function fakeHub(known: string[]) {
  const listeners = new Map<string, Set<(tick: PriceTick) => void>>();
  const latest = new Map<string, PriceTick>();
  const hub = {
    async check(ids: string[]) {
      const unknown = ids.find((id) => !known.includes(id));
      if (unknown) throw new Error(`unknown asset ${unknown}`);
    },
    listen(id: string, onTick: (tick: PriceTick) => void) {
      const set = listeners.get(id) ?? new Set();
      listeners.set(id, set);
      set.add(onTick);
      return () => set.delete(onTick);
    },
    latest: (id: string) => latest.get(id),
  } as unknown as PriceHub;
  const tick = (assetId: string, value: number, asOf: number) => {
    const t: PriceTick = { assetId, value, change24h: null, asOf, source: 'binance', stale: false };
    latest.set(assetId, t);
    for (const l of listeners.get(assetId) ?? []) l(t);
    return t;
  };
  const listening = (id: string) => listeners.get(id)?.size ?? 0;
  return { hub, tick, listening };
}

function setup(options: { known?: string[]; rest?: PriceTick[]; fxRefreshMs?: number } = {}) {
  const clock = manualClock(1_750_000_000_000);
  const { hub, tick, listening } = fakeHub(options.known ?? ['bitcoin', 'ethereum']);
  const calls = { rest: [] as string[][], fx: [] as string[] };
  let rate = 0.5;
  const feed = createPriceFeed({
    hub,
    currentPrices: async (ids) => {
      calls.rest.push(ids);
      return (options.rest ?? []).filter((t) => ids.includes(t.assetId));
    },
    fxPerUsd: async (currency) => {
      calls.fx.push(currency);
      return rate;
    },
    fxRefreshMs: options.fxRefreshMs,
    now: clock.now,
  });
  return { feed, tick, listening, calls, clock, setRate: (r: number) => (rate = r) };
}

/** Reads the stream in the background into `got`. */
function collect(stream: AsyncIterableIterator<Price>) {
  const got: Price[] = [];
  void (async () => {
    for await (const price of stream) got.push(price);
  })();
  return got;
}

describe('the price feed', () => {
  it('sends the REST price first for an asset with no tick yet, then each change, and drops repeats', async () => {
    const rest: PriceTick = {
      assetId: 'bitcoin',
      value: 100,
      change24h: 1,
      asOf: 1,
      source: 'coingecko',
      stale: false,
    };
    const { feed, tick, calls } = setup({ rest: [rest] });
    const stream = await feed.subscribe({ assetIds: ['bitcoin'], currency: 'usd', throttleMs: 0 });
    const got = collect(stream);
    await settle();
    expect(got.map((p) => [p.value, p.source])).toEqual([[100, 'coingecko']]);
    expect(calls.rest).toEqual([['bitcoin']]);
    tick('bitcoin', 101, 2);
    tick('bitcoin', 101, 2);
    tick('bitcoin', 102, 3);
    await settle();
    expect(got.map((p) => p.value)).toEqual([100, 101, 102]);
    await stream.return!();
  });

  it('sends a stale REST price as stale, and never a tick older than the one the subscriber has', async () => {
    const rest: PriceTick = {
      assetId: 'bitcoin',
      value: 100,
      change24h: null,
      asOf: 50,
      source: 'coingecko',
      stale: true,
    };
    const { feed, tick } = setup({ rest: [rest] });
    const stream = await feed.subscribe({ assetIds: ['bitcoin'], currency: 'eur', throttleMs: 0 });
    const got = collect(stream);
    await settle();
    expect(got.map((p) => [p.value, p.asOf.getTime(), p.stale])).toEqual([[50, 50, true]]);
    // A stream tick from before the snapshot the subscriber already has goes back in time: not sent.
    tick('bitcoin', 99, 40);
    await settle();
    tick('bitcoin', 101, 60);
    await settle();
    expect(got.map((p) => [p.value, p.asOf.getTime(), p.stale])).toEqual([
      [50, 50, true],
      [50.5, 60, false],
    ]);
    await stream.return!();
  });

  it("starts from the hub's last tick without a REST call when the asset already streams", async () => {
    const { feed, tick, calls } = setup();
    tick('ethereum', 7, 5);
    const stream = await feed.subscribe({ assetIds: ['ethereum'], currency: 'usd', throttleMs: 0 });
    const got = collect(stream);
    await settle();
    expect(got.map((p) => p.value)).toEqual([7]);
    expect(calls.rest).toEqual([]);
    await stream.return!();
  });

  it('rejects an unknown asset before listening', async () => {
    const { feed, listening } = setup();
    await expect(
      feed.subscribe({ assetIds: ['bitcoin', 'nope'], currency: 'usd', throttleMs: 0 }),
    ).rejects.toThrow('unknown asset nope');
    expect(listening('bitcoin')).toBe(0);
  });

  it('spaces one asset by throttleMs on the injected clock and then sends its newest value', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { feed, tick, clock } = setup();
    const stream = await feed.subscribe({
      assetIds: ['bitcoin', 'ethereum'],
      currency: 'usd',
      throttleMs: 500,
    });
    const got = collect(stream);
    tick('bitcoin', 1, 1);
    tick('ethereum', 10, 1);
    await settle();
    expect(got.map((p) => `${p.assetId}=${p.value}`)).toEqual(['bitcoin=1', 'ethereum=10']);

    // Inside the throttle: held, and only the newest is kept.
    clock.advance(200);
    tick('bitcoin', 2, 2);
    tick('bitcoin', 3, 3);
    await settle();
    expect(got).toHaveLength(2);
    clock.advance(299);
    await vi.advanceTimersByTimeAsync(299);
    expect(got).toHaveLength(2);
    clock.advance(1);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(got.map((p) => `${p.assetId}=${p.value}`)).toEqual(['bitcoin=1', 'ethereum=10', 'bitcoin=3']);

    // Another asset's throttle is its own: ethereum, last sent 500 ms ago, goes at once.
    tick('ethereum', 11, 4);
    await settle();
    expect(got.at(-1)).toMatchObject({ assetId: 'ethereum', value: 11 });
    await stream.return!();
  });

  it('builds one Price per tick and currency, shared by every subscriber', async () => {
    const { feed, tick } = setup();
    const a = await feed.subscribe({ assetIds: ['bitcoin'], currency: 'eur', throttleMs: 0 });
    const b = await feed.subscribe({ assetIds: ['bitcoin'], currency: 'eur', throttleMs: 0 });
    const [gotA, gotB] = [collect(a), collect(b)];
    tick('bitcoin', 100, 1);
    await settle();
    expect(gotA).toHaveLength(1);
    expect(gotA[0]).toBe(gotB[0]);
    expect(gotA[0]).toMatchObject({ currency: 'eur', value: 50 });
    await a.return!();
    await b.return!();
  });

  it('converts with a rate refreshed in the background once it is older than fxRefreshMs', async () => {
    const { feed, tick, calls, clock, setRate } = setup({ fxRefreshMs: 60_000 });
    const stream = await feed.subscribe({ assetIds: ['bitcoin'], currency: 'eur', throttleMs: 0 });
    const got = collect(stream);
    expect(calls.fx).toEqual(['eur']);
    clock.advance(59_999);
    tick('bitcoin', 100, 1);
    await settle();
    expect(calls.fx).toHaveLength(1);

    setRate(0.25);
    clock.advance(1);
    // This tick is converted with the old rate at once; the refresh runs behind it.
    tick('bitcoin', 200, 2);
    await settle();
    expect(calls.fx).toHaveLength(2);
    tick('bitcoin', 300, 3);
    await settle();
    expect(got.map((p) => p.value)).toEqual([50, 100, 75]);
    expect(calls.fx).toHaveLength(2);
    await stream.return!();
  });

  it('stops listening to the hub when the subscriber leaves', async () => {
    const { feed, listening } = setup();
    const stream = await feed.subscribe({
      assetIds: ['bitcoin', 'ethereum'],
      currency: 'usd',
      throttleMs: 0,
    });
    expect(listening('bitcoin')).toBe(1);
    await stream.return!();
    expect(listening('bitcoin') + listening('ethereum')).toBe(0);
  });
});
