import { afterEach, describe, expect, it } from 'vitest';
import { createCandleLoader } from '../../src/loaders/candles.js';
import { createProviderSignalLoader } from '../../src/loaders/signals.js';
import type { CandleKey } from '../../src/market/keys.js';
import type { Candle, Signal } from '../../src/market/model.js';
import { recordCalls } from '../helpers/batches.js';
import { loaderConfig, testCache } from './helpers.js';

// Batching of the candle loader (overlapping windows fetched once as their union, disjoint ones apart)
// and of the provider-signal loader, recorded at their fetch functions.

const config = loaderConfig();
const H = 3_600_000;
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
});

function candlesOf(key: CandleKey): Candle[] {
  const out: Candle[] = [];
  for (let t = key.from; t < key.to; t += H) {
    out.push({
      openTime: new Date(t),
      closeTime: new Date(t + H - 1),
      open: 1,
      high: 1,
      low: 1,
      close: 1,
      volume: 1,
      source: 'binance',
    });
  }
  return out;
}

function setUp() {
  const clock = testCache(config);
  close = () => clock.cache.close();
  const fetchCandles = recordCalls(async (key: CandleKey) => candlesOf(key));
  const loader = createCandleLoader({ config, cache: clock.cache, fetchCandles: fetchCandles.fn });
  return { clock, fetchCandles, loader };
}

const btc = (from: number, to: number): CandleKey => ({
  assetId: 'bitcoin',
  interval: '1h',
  currency: 'usd',
  from,
  to,
});

describe('candle loader', () => {
  it('fetches windows that overlap or touch once, as their union, and slices each', async () => {
    const { fetchCandles, loader } = setUp();
    const [a, b, c] = await Promise.all([
      loader.load(btc(0, 10 * H)),
      loader.load(btc(5 * H, 20 * H)),
      loader.load(btc(20 * H, 22 * H)),
    ]);
    expect(fetchCandles.calls).toEqual([[btc(0, 22 * H)]]);
    expect([a.value.length, b.value.length, c.value.length]).toEqual([10, 15, 2]);
    expect(b.value[0]!.openTime.getTime()).toBe(5 * H);
  });

  it('fetches disjoint windows, and other assets or intervals, apart', async () => {
    const { fetchCandles, loader } = setUp();
    await Promise.all([
      loader.load(btc(0, 2 * H)),
      loader.load(btc(10 * H, 12 * H)),
      loader.load({ ...btc(0, 2 * H), assetId: 'ethereum' }),
      loader.load({ ...btc(0, 2 * H), interval: '4h' }),
    ]);
    expect(fetchCandles.calls).toHaveLength(4);
    expect(fetchCandles.calls.map(([k]) => `${k.assetId} ${k.interval} ${k.from}`).sort()).toEqual([
      'bitcoin 1h 0',
      'bitcoin 1h 36000000',
      'bitcoin 4h 0',
      'ethereum 1h 0',
    ]);
  });
});

describe('provider-signal loader', () => {
  it('sends one fetch per batch with the ids the cache lacks; [] for an asset no provider covers', async () => {
    const clock = testCache(config);
    close = () => clock.cache.close();
    const signal = { kind: 'TM_TRADER_GRADE' } as unknown as Signal;
    const fetch = recordCalls(
      async (ids: string[]) => new Map(ids.filter((id) => id === 'bitcoin').map((id) => [id, [signal]])),
    );
    const deps = { config, cache: clock.cache, fetchProviderSignals: fetch.fn };
    const [btc, eth] = await createProviderSignalLoader(deps).loadMany(['bitcoin', 'ethereum', 'bitcoin']);
    expect(fetch.calls).toEqual([[['bitcoin', 'ethereum']]]);
    expect((btc as { value: Signal[] }).value).toEqual([signal]);
    expect((eth as { value: Signal[] }).value).toEqual([]);
    await createProviderSignalLoader(deps).loadMany(['bitcoin', 'solana']);
    expect(fetch.calls).toEqual([[['bitcoin', 'ethereum']], [['solana']]]);
  });
});
