import type { CatalogueAsset } from '../../market/catalogue.js';
import type { Market } from '../../market/market.js';

// Time series for the CoinGecko dialect: /market_chart(/range) points and /ohlc candles, with
// CoinGecko's automatic granularity, all taken from the market model so they agree with its ticks and
// candles.

export const DAY = 86_400_000;
const HOUR = 3_600_000;
const FIVE_MINUTES = 300_000;

export type ChartPoint = [number, number];
export type OhlcRow = [number, number, number, number, number];

interface Point {
  value: number;
  at: number;
}

export interface ChartBody {
  prices: ChartPoint[];
  market_caps: ChartPoint[];
  total_volumes: ChartPoint[];
}

/** Chart spacing by the length of the requested range: ≤1 day 5-minutely, ≤90 days hourly, then daily. */
export function chartStepMs(spanMs: number): number {
  if (spanMs <= DAY) return FIVE_MINUTES;
  if (spanMs <= 90 * DAY) return HOUR;
  return DAY;
}

/** OHLC candle body by requested days: 1–2 → 30 minutes, 3–30 → 4 hours, 31 and more → 4 days. */
export function ohlcCandleMs(days: number): number {
  if (days <= 2) return 30 * 60_000;
  if (days <= 30) return 4 * HOUR;
  return 4 * DAY;
}

export function createCoinGeckoSeries(market: Market) {
  /**
   * Points on the step grid (epoch-aligned, so daily points fall on 00:00 UTC) within [from, min(to, now)],
   * plus a last point at `now` when the range reaches the present.
   */
  function chart(
    asset: CatalogueAsset,
    currency: string,
    from: number,
    to: number,
    options: { daily: boolean; precision: number | undefined },
  ): ChartBody {
    const now = market.now();
    const end = Math.min(to, now);
    const step = options.daily ? DAY : chartStepMs(to - from);
    const times: number[] = [];
    for (let t = Math.ceil(from / step) * step; t <= end; t += step) times.push(t);
    if (to >= now && now >= from && times.at(-1) !== now) times.push(now);
    const body: ChartBody = { prices: [], market_caps: [], total_volumes: [] };
    for (const t of times) {
      const fx = market.fxPerUsd(currency, t)!;
      const price = market.priceUsd(asset.id, t) * fx;
      body.prices.push([t, round(price, options.precision)]);
      body.market_caps.push([t, price * asset.circulatingSupply]);
      body.total_volumes.push([t, market.dailyVolumeUsd(asset.id, t) * fx]);
    }
    return body;
  }

  /**
   * Candles on the epoch-aligned grid covering the last `days`, each stamped with its close time (the
   * next boundary, as CoinGecko does); the last one is still open and closes at the current price.
   */
  function ohlc(
    asset: CatalogueAsset,
    currency: string,
    days: number,
    precision: number | undefined,
  ): OhlcRow[] {
    const length = ohlcCandleMs(days);
    const now = market.now();
    const start = now - days * DAY;
    const rows: OhlcRow[] = [];
    for (let open = Math.floor(start / length) * length; open <= now; open += length) {
      const c = market.candle(asset.id, length, open, currency);
      rows.push([
        open + length,
        round(c.open, precision),
        round(c.high, precision),
        round(c.low, precision),
        round(c.close, precision),
      ]);
    }
    return rows;
  }

  /** Highest and lowest of the daily 00:00 UTC prices over the last `days`, and the current price. */
  function extremes(id: string, currency: string, t: number, days: number) {
    const current = market.priceUsd(id, t) * market.fxPerUsd(currency, t)!;
    const { high, low } = dailyExtremes(id, currency, t, days);
    // As one ascending scan from the current price would pick: a daily point must beat the current
    // price outright, and among equal daily points the earliest wins.
    return {
      high: high.value > current ? { ...high } : { value: current, at: t },
      low: low.value < current ? { ...low } : { value: current, at: t },
    };
  }

  // The daily points change only when a day starts, so their extremes are kept per asset, currency
  // and window. Today's midnight is always among them: at exactly midnight it equals the current
  // price, which wins ties, so the answer is the one a scan of the points before `t` gives.
  const daily = new Map<string, { day: number; high: Point; low: Point }>();

  function dailyExtremes(id: string, currency: string, t: number, days: number) {
    const day = Math.floor(t / DAY) * DAY;
    const key = `${id}\u0000${currency}\u0000${days}`;
    const known = daily.get(key);
    if (known?.day === day) return known;
    const high: Point = { value: -Infinity, at: day };
    const low: Point = { value: Infinity, at: day };
    for (let at = day - days * DAY; at <= day; at += DAY) {
      const value = market.priceUsd(id, at) * market.fxPerUsd(currency, at)!;
      if (value > high.value) Object.assign(high, { value, at });
      if (value < low.value) Object.assign(low, { value, at });
    }
    const entry = { day, high, low };
    daily.set(key, entry);
    return entry;
  }

  return { chart, ohlc, extremes };
}

/** Rounds to `precision` decimals (CoinGecko's `precision` parameter); undefined leaves it as is. */
export function round(value: number, precision: number | undefined): number {
  return precision === undefined ? value : Number(value.toFixed(precision));
}
