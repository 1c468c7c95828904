import type { CatalogueAsset } from './catalogue.js';
import { hashText, smoothNoise } from './noise.js';

// The simulated market behind every sandbox dialect. Prices are a pure function of (seed, asset, time):
// the sum of value-noise octaves whose amplitude grows with the square root of their period, like a
// random walk, so any instant, candle or 24 h window can be computed without replaying history. Two
// servers with the same seed agree on every number, which is what lets tests assert cross-provider
// consistency and candles that agree with ticks.

const MINUTE = 60_000;
const DAY = 86_400_000;
/** Periods of the noise octaves: 1 min × 4^k, up to ~45 days. */
const OCTAVES = Array.from({ length: 9 }, (_, k) => MINUTE * 4 ** k);

export interface MarketOptions {
  catalogue: readonly CatalogueAsset[];
  seed?: number;
  /** Milliseconds since the epoch; injectable so tests can pin time. */
  now?: () => number;
}

export interface Stats24h {
  open: number;
  high: number;
  low: number;
  close: number;
  /** Base-asset volume over the window. */
  volume: number;
  /** Quote (USD) volume over the window. */
  quoteVolume: number;
  changePercent: number;
  openTime: number;
  closeTime: number;
}

export interface MarketCandle {
  openTime: number;
  /** Inclusive last millisecond, as Binance reports it. */
  closeTime: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  quoteVolume: number;
  trades: number;
}

export interface Market {
  readonly assets: readonly CatalogueAsset[];
  now(): number;
  byId(id: string): CatalogueAsset | undefined;
  bySymbol(symbol: string): CatalogueAsset[];
  /** USD price of the asset at time t (ms). */
  priceUsd(id: string, t: number): number;
  /** Units of `currency` per 1 USD at time t ('usd', 'eur', 'gbp', 'jpy', 'btc', 'eth', ...). */
  fxPerUsd(currency: string, t: number): number | undefined;
  /** Price in any supported quote currency. */
  price(id: string, currency: string, t: number): number | undefined;
  stats24h(id: string, t: number, currency?: string): Stats24h;
  /** One candle whose open time is `openTime`; a candle still open at `now` closes at the current price. */
  candle(id: string, intervalMs: number, openTime: number, currency?: string): MarketCandle;
  /** USD volume traded per day at time t (used by tickers and candles). */
  dailyVolumeUsd(id: string, t: number): number;
  readonly currencies: readonly string[];
}

/** USD is the unit; the others drift a little around their reference rate. */
const FIAT_PER_USD: Record<string, number> = {
  usd: 1,
  eur: 0.92,
  gbp: 0.79,
  jpy: 151.2,
  chf: 0.88,
  cad: 1.37,
  aud: 1.52,
};

export function createMarket(options: MarketOptions): Market {
  const seed = options.seed ?? 42;
  const now = options.now ?? Date.now;
  const assets = options.catalogue;
  const byId = new Map(assets.map((a) => [a.id, a]));
  // The seed is hashed, not XOR-ed in: seeds differing in low bits would otherwise only permute
  // neighbouring noise knots and give mirror-image paths (seeds 42 and 43 were anti-correlated).
  const seedMix = hashText(`seed:${seed}`);
  const assetSeeds = new Map(assets.map((a) => [a.id, hashText(a.id) ^ seedMix]));

  function noiseSum(assetSeed: number, t: number, dailyVol: number): number {
    let sum = 0;
    for (let k = 0; k < OCTAVES.length; k++) {
      const period = OCTAVES[k]!;
      const amplitude = dailyVol * Math.sqrt(period / DAY);
      sum += amplitude * smoothNoise(assetSeed + k * 0x9e3779b1, t / period);
    }
    return sum;
  }

  function priceUsd(id: string, t: number): number {
    const asset = byId.get(id);
    if (!asset) throw new Error(`unknown sandbox asset ${id}`);
    return asset.priceUsd * Math.exp(noiseSum(assetSeeds.get(id)!, t, asset.volatility));
  }

  function fxPerUsd(currency: string, t: number): number | undefined {
    const code = currency.toLowerCase();
    if (code === 'btc') return 1 / priceUsd('bitcoin', t);
    if (code === 'eth') return 1 / priceUsd('ethereum', t);
    const ref = FIAT_PER_USD[code];
    if (ref === undefined) return undefined;
    if (code === 'usd') return 1;
    return ref * Math.exp(noiseSum(hashText(code) ^ seedMix, t, 0.004));
  }

  function price(id: string, currency: string, t: number): number | undefined {
    const fx = fxPerUsd(currency, t);
    return fx === undefined ? undefined : priceUsd(id, t) * fx;
  }

  function dailyVolumeUsd(id: string, t: number): number {
    const asset = byId.get(id)!;
    const turnover = asset.turnover * Math.exp(0.3 * smoothNoise(assetSeeds.get(id)! ^ 0x5bd1e995, t / DAY));
    return asset.circulatingSupply * priceUsd(id, t) * turnover;
  }

  /**
   * Extremes are sampled at ≤240 points per window (1 s apart for 1-minute candles, so exact there).
   * The step is a whole number of seconds, so a second-aligned window samples only points of its
   * 1-minute candles' grid: a coarse candle never reports a high above (or a low below) its minutes.
   */
  function range(id: string, from: number, to: number, fx: (t: number) => number) {
    const step = Math.max(1000, Math.ceil((to - from) / 240 / 1000) * 1000);
    let high = -Infinity;
    let low = Infinity;
    for (let t = from; t < to; t += step) {
      const p = priceUsd(id, t) * fx(t);
      if (p > high) high = p;
      if (p < low) low = p;
    }
    const last = priceUsd(id, to) * fx(to);
    return { high: Math.max(high, last), low: Math.min(low, last) };
  }

  function fxFn(currency: string): (t: number) => number {
    return (t) => fxPerUsd(currency, t) ?? Number.NaN;
  }

  function stats24h(id: string, t: number, currency = 'usd'): Stats24h {
    const fx = fxFn(currency);
    const openTime = t - DAY;
    const open = priceUsd(id, openTime) * fx(openTime);
    const close = priceUsd(id, t) * fx(t);
    const { high, low } = range(id, openTime, t, fx);
    const quoteVolume = dailyVolumeUsd(id, t) * fx(t);
    const volume = quoteVolume / ((high + low) / 2);
    return {
      open,
      high,
      low,
      close,
      volume,
      quoteVolume,
      changePercent: (close / open - 1) * 100,
      openTime,
      closeTime: t,
    };
  }

  function candle(id: string, intervalMs: number, openTime: number, currency = 'usd'): MarketCandle {
    const fx = fxFn(currency);
    const end = Math.min(openTime + intervalMs - 1, now());
    const open = priceUsd(id, openTime) * fx(openTime);
    const close = priceUsd(id, end) * fx(end);
    const { high, low } = range(id, openTime, end, fx);
    const share = (end - openTime + 1) / DAY;
    const quoteVolume = dailyVolumeUsd(id, openTime) * share * fx(openTime);
    const volume = quoteVolume / ((open + close) / 2);
    const trades = Math.max(1, Math.round(quoteVolume / 2_500));
    return {
      openTime,
      closeTime: openTime + intervalMs - 1,
      open,
      high,
      low,
      close,
      volume,
      quoteVolume,
      trades,
    };
  }

  return {
    assets,
    now,
    byId: (id) => byId.get(id),
    bySymbol: (symbol) => assets.filter((a) => a.symbol.toLowerCase() === symbol.toLowerCase()),
    priceUsd,
    fxPerUsd,
    price,
    stats24h,
    candle,
    dailyVolumeUsd,
    currencies: [...Object.keys(FIAT_PER_USD), 'btc', 'eth'],
  };
}
