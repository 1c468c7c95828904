import type { CatalogueAsset } from '../../market/catalogue.js';
import type { Market } from '../../market/market.js';

// The simulated market as Binance spot sees it: every catalogue asset with a `binanceBase` trades as
// `<base>USDT` at the market's USD price (USDT ≈ USD). Shared by the REST dialect and the stream server
// so a ticker, a kline and a stream event computed at the same instant agree to the last digit.

const DAY = 86_400_000;
/** 1970-01-05 was the first Monday after the epoch; Binance weeks open on Monday 00:00 UTC. */
const MONDAY_OFFSET = 4 * DAY;

export interface BinanceSymbol {
  /** 'BTCUSDT' */
  symbol: string;
  base: string;
  asset: CatalogueAsset;
  /** Price tick and quantity step, as decimal places (PRICE_FILTER / LOT_SIZE). */
  priceDecimals: number;
  qtyDecimals: number;
}

/** Symbols by their upper-case name, in catalogue order. */
export function listBinanceSymbols(market: Market): Map<string, BinanceSymbol> {
  const symbols = new Map<string, BinanceSymbol>();
  for (const asset of market.assets) {
    if (!asset.binanceBase) continue;
    const symbol = `${asset.binanceBase}USDT`;
    const magnitude = Math.floor(Math.log10(asset.priceUsd));
    symbols.set(symbol, {
      symbol,
      base: asset.binanceBase,
      asset,
      priceDecimals: clamp(4 - magnitude, 2, 8),
      qtyDecimals: clamp(magnitude + 1, 0, 8),
    });
  }
  return symbols;
}

/** Binance's number-as-string form: fixed decimals, never exponent notation, never "-0". */
export function formatDecimal(value: number, decimals = 8): string {
  const text = value.toFixed(decimals);
  return /^-0\.?0*$/.test(text) ? text.slice(1) : text;
}

export const KLINE_INTERVALS = [
  '1s',
  '1m',
  '3m',
  '5m',
  '15m',
  '30m',
  '1h',
  '2h',
  '4h',
  '6h',
  '8h',
  '12h',
  '1d',
  '3d',
  '1w',
  '1M',
] as const;

export type KlineInterval = (typeof KLINE_INTERVALS)[number];

/** Candle boundaries of one interval, in UTC. `floor(t)` is the open time of the candle holding t. */
export interface IntervalClock {
  floor(t: number): number;
  next(openTime: number): number;
  prev(openTime: number): number;
}

const FIXED_MS: Record<string, number> = {
  '1s': 1_000,
  '1m': 60_000,
  '3m': 180_000,
  '5m': 300_000,
  '15m': 900_000,
  '30m': 1_800_000,
  '1h': 3_600_000,
  '2h': 7_200_000,
  '4h': 14_400_000,
  '6h': 21_600_000,
  '8h': 28_800_000,
  '12h': 43_200_000,
  '1d': DAY,
  '3d': 3 * DAY,
};

export function isKlineInterval(value: string): value is KlineInterval {
  return (KLINE_INTERVALS as readonly string[]).includes(value);
}

export function createIntervalClock(interval: KlineInterval): IntervalClock {
  if (interval === '1M') {
    const monthStart = (t: number, shift: number) => {
      const d = new Date(t);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + shift, 1);
    };
    return { floor: (t) => monthStart(t, 0), next: (o) => monthStart(o, 1), prev: (o) => monthStart(o, -1) };
  }
  const ms = interval === '1w' ? 7 * DAY : FIXED_MS[interval]!;
  const offset = interval === '1w' ? MONDAY_OFFSET : 0;
  return {
    floor: (t) => Math.floor((t - offset) / ms) * ms + offset,
    next: (o) => o + ms,
    prev: (o) => o - ms,
  };
}

/** Everything a 24 h ticker (REST or stream) reports, as numbers, at instant t. */
export interface TickerSnapshot {
  symbol: string;
  eventTime: number;
  open: number;
  high: number;
  low: number;
  last: number;
  lastQty: number;
  prevClose: number;
  priceChange: number;
  priceChangePercent: number;
  weightedAvgPrice: number;
  bid: number;
  bidQty: number;
  ask: number;
  askQty: number;
  volume: number;
  quoteVolume: number;
  openTime: number;
  closeTime: number;
  firstId: number;
  lastId: number;
  count: number;
}

export function snapshotTicker(market: Market, sym: BinanceSymbol, t: number): TickerSnapshot {
  const stats = market.stats24h(sym.asset.id, t);
  const tick = 10 ** -sym.priceDecimals;
  const bid = Math.floor(stats.close / tick) * tick;
  const count = Math.max(1, Math.round(stats.quoteVolume / 2_500));
  // One trade id per ~50 ms keeps ids increasing with time, so successive snapshots never go backwards.
  const lastId = Math.floor(t / 50);
  const qty = (salt: number) =>
    roundTo((200 + 4_800 * fraction(sym.symbol, Math.floor(t / 1000) + salt)) / stats.close, sym.qtyDecimals);
  return {
    symbol: sym.symbol,
    eventTime: t,
    open: stats.open,
    high: stats.high,
    low: stats.low,
    last: stats.close,
    lastQty: qty(0),
    prevClose: market.priceUsd(sym.asset.id, stats.openTime - 1),
    priceChange: stats.close - stats.open,
    priceChangePercent: stats.changePercent,
    weightedAvgPrice: stats.quoteVolume / stats.volume,
    bid,
    bidQty: qty(1),
    ask: bid + tick,
    askQty: qty(2),
    volume: stats.volume,
    quoteVolume: stats.quoteVolume,
    openTime: stats.openTime,
    closeTime: stats.closeTime,
    firstId: lastId - count + 1,
    lastId,
    count,
  };
}

/** Share of a candle's volume bought by takers: deterministic per symbol and candle, 45–55 %. */
export function takerBuyShare(symbol: string, openTime: number): number {
  return 0.45 + 0.1 * fraction(symbol, Math.floor(openTime / 1000));
}

/** A deterministic pseudo-random fraction in [0, 1) for (text, n). */
export function fraction(text: string, n: number): number {
  let h = 0x811c9dc5 ^ n;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return (h >>> 0) / 0x1_0000_0000;
}

function roundTo(value: number, decimals: number): number {
  const step = 10 ** decimals;
  return Math.max(1 / step, Math.round(value * step) / step);
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
