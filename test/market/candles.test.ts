import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { NotAvailableError, UpstreamError } from '../../src/errors.js';
import type { CandleKey } from '../../src/loaders/index.js';
import { aggregate, createCandleService, windowRows } from '../../src/market/candles.js';
import { alignDown, alignUp, intervalMs, intervalName } from '../../src/market/intervals.js';
import { type Candle, CURRENCIES } from '../../src/market/model.js';
import type { AssetRegistry } from '../../src/market/registry.js';
import { CANDLE_INTERVALS } from '../../src/schema/types/enums.js';
import type { Sources } from '../../src/sources/index.js';
import { DAY, HOUR, MINUTE, T } from '../helpers/clock.js';

// Candle windows: UTC alignment of every interval (src/intervals.ts), and the candle service
// (src/candles.ts) on an injected "now" over fake sources that record their calls: Binance windows
// split into 1000-row slices and merged back, CoinGecko as the fallback with the granularity that
// matches the window's age, 30 min candles merged into hours and 4 h candles into days, and the
// windows no provider offers refused as NOT_AVAILABLE before any call.

describe('interval alignment', () => {
  it('aligns down to the open of the candle that contains t, and up to the next boundary', () => {
    const t = T; // 2025-06-01T12:34:56.789Z, a Sunday
    expect(new Date(alignDown(t, '1m')).toISOString()).toBe('2025-06-01T12:34:00.000Z');
    expect(new Date(alignDown(t, '15m')).toISOString()).toBe('2025-06-01T12:30:00.000Z');
    expect(new Date(alignDown(t, '4h')).toISOString()).toBe('2025-06-01T12:00:00.000Z');
    expect(new Date(alignDown(t, '1d')).toISOString()).toBe('2025-06-01T00:00:00.000Z');
    expect(new Date(alignUp(t, '1h')).toISOString()).toBe('2025-06-01T13:00:00.000Z');
    expect(new Date(alignUp(t, '1d')).toISOString()).toBe('2025-06-02T00:00:00.000Z');
  });

  it('opens weeks on Monday 00:00 UTC, as Binance does', () => {
    expect(new Date(alignDown(T, '1w')).toISOString()).toBe('2025-05-26T00:00:00.000Z');
    expect(new Date(alignUp(T, '1w')).toISOString()).toBe('2025-06-02T00:00:00.000Z');
  });

  it('leaves a boundary where it is', () => {
    const monday = Date.parse('2025-06-02T00:00:00.000Z');
    for (const interval of ['1m', '5m', '1h', '4h', '1d', '1w']) {
      expect(alignDown(monday, interval)).toBe(monday);
      expect(alignUp(monday, interval)).toBe(monday);
    }
  });

  it('refuses an unknown interval', () => {
    expect(() => intervalMs('2h')).toThrow(RangeError);
    expect(() => alignDown(T, '3d')).toThrow(/unknown candle interval "3d"/);
  });
});

function candle(openTime: number, step: number, price: number, source: Candle['source'] = 'binance'): Candle {
  return {
    openTime: new Date(openTime),
    closeTime: new Date(openTime + step),
    open: price,
    high: price + 1,
    low: price - 1,
    close: price + 0.5,
    volume: 10,
    source,
  };
}

/** Fake Binance klines and CoinGecko OHLC answering every row of the window asked for. */
function fakeSources(down: { binance?: boolean } = {}) {
  const klines: Array<{
    symbol: string;
    interval: string;
    startTime: number;
    endTime: number;
    limit: number;
  }> = [];
  const ohlc: Array<{ id: string; currency: string; days: number }> = [];
  const sources = {
    binance: {
      async klines(
        symbol: string,
        interval: string,
        o: { startTime: number; endTime: number; limit: number },
      ) {
        klines.push({ symbol, interval, ...o });
        if (down.binance) throw new UpstreamError('UPSTREAM_UNAVAILABLE', 'binance', 'binance down');
        const step = intervalMs(interval);
        const rows: Candle[] = [];
        // One row past the slice's end too, as an overlapping provider page would: merged once.
        for (let t = o.startTime; t <= o.endTime + step; t += step) rows.push(candle(t, step, t / step));
        return rows;
      },
    },
    coingecko: {
      async ohlc(id: string, currency: string, days: number) {
        ohlc.push({ id, currency, days });
        const step = days <= 2 ? 30 * MINUTE : 4 * HOUR;
        const start = alignDown(T - days * DAY, '1d');
        const rows: Candle[] = [];
        for (let t = start; t < T; t += step) rows.push(candle(t, step, 1, 'coingecko'));
        return rows;
      },
    },
  } as unknown as Sources;
  return { sources, klines, ohlc };
}

const registry = {
  binanceSymbol: async (id: string) => (id === 'bitcoin' ? 'BTCUSDT' : undefined),
} as unknown as AssetRegistry;

function service(down?: { binance?: boolean }) {
  const fake = fakeSources(down);
  const config = loadConfig({ env: {} });
  return { candles: createCandleService({ config, sources: fake.sources, registry, now: () => T }), ...fake };
}

const key = (k: Partial<CandleKey> & Pick<CandleKey, 'interval' | 'from' | 'to'>): CandleKey => ({
  assetId: 'bitcoin',
  currency: 'usd',
  ...k,
});

describe('the candle service', () => {
  it('splits a Binance window into 1000-row slices and merges them into one ordered, gap-free window', async () => {
    const { candles, klines } = service();
    const to = alignDown(T, '1m');
    const from = to - 2_500 * MINUTE;
    const rows = await candles.fetch(key({ interval: '1m', from, to }));
    expect(klines.map((k) => [k.startTime, k.endTime, k.limit])).toEqual([
      [from, from + 1000 * MINUTE - 1, 1000],
      [from + 1000 * MINUTE, from + 2000 * MINUTE - 1, 1000],
      [from + 2000 * MINUTE, to - 1, 1000],
    ]);
    expect(klines.every((k) => k.symbol === 'BTCUSDT' && k.interval === '1m')).toBe(true);
    // The slices overlap by one row each at their ends; each candle appears once, in order.
    const opens = rows.map((c) => c.openTime.getTime());
    expect(new Set(opens).size).toBe(opens.length);
    expect(opens.every((t, i) => i === 0 || t - opens[i - 1]! === MINUTE)).toBe(true);
    expect(opens[0]).toBe(from);
    expect(windowRows(key({ interval: '1m', from, to }))).toBe(2_500);
  });

  it('asks CoinGecko for the granularity that matches the window age, from the injected now', async () => {
    const { candles, ohlc, klines } = service();
    await candles.fetch(key({ interval: '30m', from: T - 1.5 * DAY, to: T, currency: 'eur' }));
    await candles.fetch(key({ interval: '4h', from: T - 10 * DAY, to: T, currency: 'eur' }));
    await candles.fetch(key({ interval: '4h', from: T - 3 * DAY, to: T, assetId: 'no-pair' }));
    expect(ohlc).toEqual([
      { id: 'bitcoin', currency: 'eur', days: 2 },
      { id: 'bitcoin', currency: 'eur', days: 14 },
      { id: 'no-pair', currency: 'usd', days: 7 },
    ]);
    // Non-USD quotes and assets without a USDT pair never reach Binance.
    expect(klines).toEqual([]);
  });

  it('merges CoinGecko 4 h candles into UTC days for 1d windows', async () => {
    const { candles } = service();
    const rows = await candles.fetch(key({ interval: '1d', from: T - 6 * DAY, to: T, currency: 'eur' }));
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((c) => c.openTime.getTime() === alignDown(c.openTime.getTime(), '1d'))).toBe(true);
    // A full day is six 4 h candles: their volumes add up.
    expect(rows[0]!.volume).toBe(60);
  });

  it("falls back to CoinGecko when Binance fails, and reports Binance's failure when neither can serve", async () => {
    const { candles, ohlc } = service({ binance: true });
    const rows = await candles.fetch(key({ interval: '4h', from: T - 5 * DAY, to: T }));
    expect(rows.every((c) => c.source === 'coingecko')).toBe(true);
    expect(ohlc).toHaveLength(1);
    await expect(candles.fetch(key({ interval: '15m', from: T - DAY, to: T }))).rejects.toThrow(
      'binance down',
    );
  });

  it('builds hours from CoinGecko 30 min candles, so H1 in EUR is served for the last two days', async () => {
    const { candles, ohlc, klines } = service();
    const rows = await candles.fetch(key({ interval: '1h', from: T - 1.5 * DAY, to: T, currency: 'eur' }));
    expect(ohlc).toEqual([{ id: 'bitcoin', currency: 'eur', days: 2 }]);
    expect(klines).toEqual([]);
    expect(rows.length).toBeGreaterThan(24);
    expect(rows.every((c) => c.openTime.getTime() === alignDown(c.openTime.getTime(), '1h'))).toBe(true);
    // Two 30 min candles of volume 10 make each full hour.
    expect(rows[0]!.volume).toBe(20);
    expect(rows[0]!.closeTime.getTime() - rows[0]!.openTime.getTime()).toBe(HOUR);
  });
});

describe('windows no provider offers: NOT_AVAILABLE, saying what is, with no call made', () => {
  async function refusal(k: CandleKey) {
    const fake = service();
    const error = await fake.candles.fetch(k).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NotAvailableError);
    expect(fake.ohlc).toEqual([]);
    expect(fake.klines).toEqual([]);
    return error as NotAvailableError;
  }
  const gecko = ['M30', 'H1', 'H4', 'D1'];
  const every = CURRENCIES.map((c) => c.toUpperCase());

  it('H1 in EUR older than CoinGecko reaches: available back to two days ago', async () => {
    const error = await refusal(key({ interval: '1h', from: T - 3 * DAY, to: T, currency: 'eur' }));
    expect(error.extensions).toEqual({
      code: 'NOT_AVAILABLE',
      available: {
        intervals: gecko,
        currencies: every,
        from: new Date(alignUp(T - 2 * DAY, '1h')).toISOString(),
      },
    });
    expect(error.message).toContain('H1 candles of "bitcoin" in EUR go back to');
  });

  it('W1 in EUR: no provider has it; Binance has it in USD for an asset with a pair', async () => {
    const error = await refusal(key({ interval: '1w', from: T - 70 * DAY, to: T, currency: 'eur' }));
    expect(error.extensions).toEqual({
      code: 'NOT_AVAILABLE',
      available: { intervals: gecko, currencies: ['USD'] },
    });
  });

  it('102 D1 candles of an asset without a Binance pair: CoinGecko has the last 30 days', async () => {
    const error = await refusal(key({ interval: '1d', from: T - 102 * DAY, to: T, assetId: 'no-pair' }));
    expect(error.available).toEqual({
      intervals: gecko,
      currencies: every,
      from: new Date(alignUp(T - 30 * DAY, '1d')),
    });
  });

  it('M15 of an asset without a Binance pair: not in any currency', async () => {
    const error = await refusal(key({ interval: '15m', from: T - DAY, to: T, assetId: 'no-pair' }));
    expect(error.available).toEqual({ intervals: gecko, currencies: [] });
  });

  it('names intervals as the schema does', () => {
    for (const [name, { value }] of Object.entries(CANDLE_INTERVALS)) expect(intervalName(value)).toBe(name);
  });
});

describe('aggregate', () => {
  it('takes the first open, the last close, the extremes and the summed volume of each bucket', () => {
    const start = alignDown(T, '1d');
    const four = [0, 1, 2].map((i) => ({ ...candle(start + i * 4 * HOUR, 4 * HOUR, 10 + i) }));
    four[1]!.high = 99;
    four[2]!.low = 1;
    const [day] = aggregate(four, DAY);
    expect(day).toEqual({
      openTime: new Date(start),
      closeTime: new Date(start + DAY),
      open: 10,
      high: 99,
      low: 1,
      close: 12.5,
      volume: 30,
      source: 'binance',
    });
    // One candle without volume makes the bucket's volume unknown, not an undercount.
    four[0]!.volume = null;
    expect(aggregate(four, DAY)[0]!.volume).toBeNull();
  });
});
