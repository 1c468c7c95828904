import { afterEach, describe, expect, it, vi } from 'vitest';
import { UpstreamError } from '../../src/errors.js';
import { createLocalBus } from '../../src/live/bus.js';
import { createChannels } from '../../src/live/channels.js';
import { createLocalLeases } from '../../src/live/leases.js';
import { createPriceHub, type PriceTick, type StreamClient } from '../../src/live/price-hub.js';
import type { AssetRegistry } from '../../src/market/registry.js';

// The hub with a controllable stream client and REST poller: one upstream per asset, failover to
// polling when a stream is down, diff-before-emit of polled values, and everything released.

/** Ticks reach listeners right after the synchronous run that received them. */
const flush = () => new Promise((r) => setImmediate(r));

// The hub's staleness checks and polling run on timers and Date.now: on fake time (setImmediate stays
// real, for the fan-out), a test moves them by exactly the milliseconds it means.
afterEach(() => {
  vi.useRealTimers();
});
const fakeTime = () =>
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
async function advance(ms: number) {
  await vi.advanceTimersByTimeAsync(ms);
  await flush();
}

function fakeStreams() {
  const subs = new Map<string, Set<(data: unknown) => void>>();
  let live = true;
  const client: StreamClient = {
    subscribe(stream, onEvent) {
      const set = subs.get(stream) ?? new Set();
      subs.set(stream, set);
      set.add(onEvent);
      return () => {
        set.delete(onEvent);
        if (set.size === 0) subs.delete(stream);
      };
    },
    live: () => live,
  };
  return {
    client,
    send(stream: string, price: number, at = Date.now()) {
      for (const fn of subs.get(stream) ?? []) fn({ s: stream, c: price, P: 1, E: at });
    },
    setLive(value: boolean) {
      live = value;
    },
    streams: () => [...subs.keys()],
  };
}

const registry = {
  binanceSymbol: async (id: string) => ({ bitcoin: 'BTCUSDT', ethereum: 'ETHUSDT' })[id],
  // 'offline-coin' stands for an id no catalogue at hand can vouch for (CoinGecko's list is out).
  lookup: async (ids: readonly string[]) =>
    new Map(
      ids.map((id) => [
        id,
        ['bitcoin', 'ethereum', 'monero'].includes(id)
          ? { id }
          : id === 'offline-coin'
            ? new UpstreamError('UPSTREAM_UNAVAILABLE', 'coingecko', 'coingecko coins/list: HTTP 503', {
                endpoint: 'coins/list',
              })
            : undefined,
      ]),
    ),
} as unknown as AssetRegistry;

function setup(poll: (ids: string[]) => Promise<PriceTick[]>) {
  const streams = fakeStreams();
  const channels = createChannels({ bus: createLocalBus(), leases: createLocalLeases() });
  const polls: string[][] = [];
  const hub = createPriceHub({
    registry,
    streams: streams.client,
    parseTicker: (data) => {
      const d = data as { s: string; c: number; P: number; E: number };
      return { symbol: d.s, price: d.c, change24h: d.P, asOf: new Date(d.E) };
    },
    poll: (ids) => {
      polls.push(ids);
      return poll(ids);
    },
    pollMs: 100,
    staleAfterMs: 300,
    channels,
  });
  return { hub, streams, channels, polls };
}

const tick = (assetId: string, value: number, asOf: number): PriceTick => ({
  assetId,
  value,
  asOf,
  change24h: null,
  source: 'coingecko',
  stale: false,
});

describe('price hub', () => {
  it('shares one stream per asset between listeners and closes it after the last leaves', async () => {
    const { hub, streams, channels } = setup(async () => []);
    const a: number[] = [];
    const b: number[] = [];
    const offA = hub.listen('bitcoin', (t) => a.push(t.value));
    const offB = hub.listen('bitcoin', (t) => b.push(t.value));
    await flush();
    expect(streams.streams()).toEqual(['btcusdt@ticker']);
    streams.send('btcusdt@ticker', 100);
    await flush();
    expect(a).toEqual([100]);
    expect(b).toEqual([100]);
    offA();
    expect(streams.streams()).toEqual(['btcusdt@ticker']);
    offB();
    offB();
    expect(streams.streams()).toEqual([]);
    expect(channels.stats()).toEqual({ topics: [], listeners: 0, producing: [] });
    expect(hub.stats()).toEqual({ listened: [], producing: [], polled: [] });
  });

  it('collapses ticks that arrive in one synchronous run into the newest', async () => {
    const { hub, streams } = setup(async () => []);
    const got: number[] = [];
    const off = hub.listen('bitcoin', (t) => got.push(t.value));
    await flush();
    for (let v = 1; v <= 50; v++) streams.send('btcusdt@ticker', v);
    await flush();
    expect(got).toEqual([50]);
    expect(hub.latest('bitcoin')?.value).toBe(50);
    off();
  });

  it('never publishes a stream frame older than the tick already published for the asset', async () => {
    fakeTime();
    const polledAt = Date.now();
    const { hub, streams } = setup(async (ids) => ids.map((id) => tick(id, 50_000, polledAt)));
    const got: PriceTick[] = [];
    const off = hub.listen('bitcoin', (t) => got.push(t));
    await flush();
    streams.send('btcusdt@ticker', 49_000, polledAt - 1000);
    await flush();
    // The stream goes silent and the poll publishes a newer REST price.
    await advance(400);
    expect(got.map((t) => [t.source, t.value])).toEqual([
      ['binance', 49_000],
      ['coingecko', 50_000],
    ]);
    // A late frame from before that price (a reconnect replaying its buffer) is not published, and the
    // asset's latest stays the newer one; a frame after it is.
    streams.send('btcusdt@ticker', 48_000, polledAt - 500);
    await flush();
    expect(got.map((t) => t.value)).toEqual([49_000, 50_000]);
    expect(hub.latest('bitcoin')).toMatchObject({ value: 50_000, asOf: polledAt });
    streams.send('btcusdt@ticker', 50_500, polledAt + 1);
    await flush();
    expect(got.map((t) => [t.value, t.asOf])).toEqual([
      [49_000, polledAt - 1000],
      [50_000, polledAt],
      [50_500, polledAt + 1],
    ]);
    off();
  });

  it('fails over to polling when the stream goes silent, without repeating values, and back when it resumes', async () => {
    fakeTime();
    let value = 50_000;
    let asOf = Date.now();
    const { hub, streams, polls } = setup(async (ids) => ids.map((id) => tick(id, value, asOf)));
    const got: PriceTick[] = [];
    const off = hub.listen('bitcoin', (t) => got.push(t));
    await flush();
    streams.send('btcusdt@ticker', 49_000, asOf - 1000);
    await flush();
    expect(got.map((t) => t.source)).toEqual(['binance']);
    expect(polls).toEqual([]);

    // Silent for staleAfterMs (300 ms) is not yet silent; the first check past it (checks run every
    // 100 ms) fails over and polls.
    await advance(300);
    expect(hub.stats().polled).toEqual([]);
    expect(polls).toEqual([]);
    await advance(100);
    expect(hub.stats().polled).toEqual(['bitcoin']);
    expect(polls).toEqual([['bitcoin']]);
    // Polled every 100 ms from then on; the same value is published once.
    await advance(250);
    expect(polls).toHaveLength(3);
    expect(got.map((t) => [t.source, t.value])).toEqual([
      ['binance', 49_000],
      ['coingecko', 50_000],
    ]);
    // A changed value is published; an older one is not.
    value = 50_100;
    asOf += 1000;
    await advance(150);
    const published = asOf;
    value = 1;
    asOf -= 5000;
    await advance(150);
    expect(got.map((t) => t.value)).toEqual([49_000, 50_000, 50_100]);

    // The stream resumes (with a frame newer than the last polled price): polling stops.
    streams.send('btcusdt@ticker', 50_200, published + 1);
    await flush();
    expect(hub.stats().polled).toEqual([]);
    const pollsAfter = polls.length;
    await advance(200);
    expect(polls.length).toBe(pollsAfter);
    expect(got.at(-1)!.value).toBe(50_200);
    off();
  });

  it('fails over when the client reports the connection down', async () => {
    fakeTime();
    const { hub, streams } = setup(async (ids) => ids.map((id) => tick(id, 1, Date.now())));
    const got: PriceTick[] = [];
    const off = hub.listen('ethereum', (t) => got.push(t));
    // Keep the stream "delivering" while the connection is up, then report it down.
    const keepAlive = setInterval(() => streams.send('ethusdt@ticker', 3_000), 50);
    await advance(400);
    expect(hub.stats().polled).toEqual([]);
    clearInterval(keepAlive);
    streams.setLive(false);
    // The next check (within 100 ms) sees the connection down; no silence needed.
    await advance(100);
    expect(hub.stats().polled).toEqual(['ethereum']);
    expect(got.at(-1)!.source).toBe('coingecko');
    off();
  });

  it('polls an asset without a stream from the start, one batch for all of them', async () => {
    fakeTime();
    const { hub, polls, streams } = setup(async (ids) => ids.map((id) => tick(id, 10, Date.now())));
    const got: PriceTick[] = [];
    const off = hub.listen('monero', (t) => got.push(t));
    await advance(250);
    expect(streams.streams()).toEqual([]);
    expect(polls).toHaveLength(2);
    expect(polls.every((ids) => ids.join() === 'monero')).toBe(true);
    expect(got.map((t) => t.value)).toEqual([10]);
    off();
    const after = polls.length;
    await advance(250);
    expect(polls.length).toBe(after);
  });

  it('rejects unknown assets with NOT_FOUND', async () => {
    const { hub } = setup(async () => []);
    await expect(hub.check(['bitcoin', 'nope'])).rejects.toMatchObject({
      extensions: { code: 'NOT_FOUND' },
    });
  });

  it("rejects an asset no catalogue can vouch for with that catalogue's coded error, never NOT_FOUND", async () => {
    const { hub } = setup(async () => []);
    await expect(hub.check(['bitcoin', 'offline-coin'])).rejects.toMatchObject({
      extensions: { code: 'UPSTREAM_UNAVAILABLE', provider: 'coingecko', endpoint: 'coins/list' },
    });
    await expect(hub.check(['bitcoin', 'ethereum'])).resolves.toBeUndefined();
  });
});
