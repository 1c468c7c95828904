import type { CatalogueAsset } from '../../market/catalogue.js';
import type { Market } from '../../market/market.js';
import { hashText } from '../../market/noise.js';

// The numbers behind the Token Metrics dialect, derived only from the simulated market's daily closes
// (price at 00:00 UTC), so they are deterministic and consistent across endpoints: the TM_TRADER_GRADE
// in a trading-signals row equals the one trader-grades reports for the same token and date.
// Definitions are the sandbox's own (Token Metrics does not publish its models):
// - trend: 7-day SMA of closes at or above the 30-day SMA → 1, else -1; signal: ±1 when the SMAs are
//   further apart than a band of a quarter of the asset's daily volatility, 0 inside the band.
// - signal returns: compounded daily returns of holding long when the prior day's trend was 1 and
//   short when it was -1, over the last 30 days; holding returns: close now / close 30 days ago - 1.
//   Both are fractions (0.12 = +12 %).
// - grades 0..100 (≈5..95): TA from 7-day momentum, QUANT from the SMA gap, trader = their mean;
//   FUNDAMENTAL from rank, TECHNOLOGY a fixed per-asset score, VALUATION higher after 30-day falls,
//   investor = 0.4 F + 0.3 T + 0.3 V.

export const DAY = 86_400_000;

export interface TokenDay {
  /** 00:00 UTC of the day, ms. */
  date: number;
  trend: 1 | -1;
  signal: 1 | -1 | 0;
  signalReturns: number;
  holdingReturns: number;
  taGrade: number;
  quantGrade: number;
  traderGrade: number;
  traderGrade24hPctChange: number;
  investorGrade: number;
  investorGrade7dPctChange: number;
  fundamentalGrade: number;
  technologyGrade: number;
  valuationGrade: number;
}

export interface TokenAnalytics {
  day(asset: CatalogueAsset, date: number): TokenDay;
  /** Just the TRADING_SIGNAL, cheaper than `day` (for filtering). */
  signal(asset: CatalogueAsset, date: number): 1 | -1 | 0;
}

/** Memoizes daily closes and moving averages for its own lifetime; create one per request. */
export function createTokenAnalytics(market: Market): TokenAnalytics {
  const memos = new Map<string, { closes: Map<number, number>; smas: Map<number, number> }>();

  function memoOf(asset: CatalogueAsset) {
    let memo = memos.get(asset.id);
    if (!memo) {
      memo = { closes: new Map(), smas: new Map() };
      memos.set(asset.id, memo);
    }
    return memo;
  }

  function close(asset: CatalogueAsset, date: number): number {
    const { closes } = memoOf(asset);
    let value = closes.get(date);
    if (value === undefined) {
      value = market.priceUsd(asset.id, date);
      closes.set(date, value);
    }
    return value;
  }

  /** Simple moving average of `days` (7 or 30) daily closes ending at `date`. */
  function sma(asset: CatalogueAsset, date: number, days: 7 | 30): number {
    const { smas } = memoOf(asset);
    const key = date + days; // dates are whole days, so the offset cannot collide
    let value = smas.get(key);
    if (value === undefined) {
      let sum = 0;
      for (let k = 0; k < days; k++) sum += close(asset, date - k * DAY);
      value = sum / days;
      smas.set(key, value);
    }
    return value;
  }

  function trend(asset: CatalogueAsset, date: number): 1 | -1 {
    return sma(asset, date, 7) >= sma(asset, date, 30) ? 1 : -1;
  }

  function signal(asset: CatalogueAsset, date: number): 1 | -1 | 0 {
    const band = Math.max(0.001, asset.volatility / 4);
    const gap = sma(asset, date, 7) / sma(asset, date, 30) - 1;
    return gap > band ? 1 : gap < -band ? -1 : 0;
  }

  function traderParts(asset: CatalogueAsset, date: number) {
    const vol = asset.volatility;
    const momentum = Math.log(close(asset, date) / close(asset, date - 7 * DAY)) / (vol * Math.sqrt(7));
    const gap = Math.log(sma(asset, date, 7) / sma(asset, date, 30)) / (vol * Math.sqrt(7));
    const ta = 50 + 45 * Math.tanh(momentum);
    const quant = 50 + 45 * Math.tanh(1.5 * gap);
    return { ta, quant, trader: (ta + quant) / 2 };
  }

  function investorParts(asset: CatalogueAsset, date: number) {
    const vol = asset.volatility;
    const fundamental = Math.min(95, Math.max(25, 95 - 12 * Math.log(Math.max(1, asset.rank))));
    const technology = 45 + (hashText(asset.id) % 4500) / 100;
    const drift = Math.log(close(asset, date) / close(asset, date - 30 * DAY)) / (vol * Math.sqrt(30));
    const valuation = 50 - 45 * Math.tanh(drift);
    return {
      fundamental,
      technology,
      valuation,
      investor: 0.4 * fundamental + 0.3 * technology + 0.3 * valuation,
    };
  }

  function signalReturns(asset: CatalogueAsset, date: number): number {
    let growth = 1;
    for (let k = 30; k >= 1; k--) {
      const from = date - k * DAY;
      const dailyReturn = close(asset, from + DAY) / close(asset, from) - 1;
      growth *= 1 + trend(asset, from) * dailyReturn;
    }
    return growth - 1;
  }

  return {
    signal,
    day(asset, date) {
      const today = traderParts(asset, date);
      const yesterday = traderParts(asset, date - DAY);
      const investor = investorParts(asset, date);
      const weekAgo = investorParts(asset, date - 7 * DAY);
      return {
        date,
        trend: trend(asset, date),
        signal: signal(asset, date),
        signalReturns: signalReturns(asset, date),
        holdingReturns: close(asset, date) / close(asset, date - 30 * DAY) - 1,
        taGrade: today.ta,
        quantGrade: today.quant,
        traderGrade: today.trader,
        traderGrade24hPctChange: (today.trader / yesterday.trader - 1) * 100,
        investorGrade: investor.investor,
        investorGrade7dPctChange: (investor.investor / weekAgo.investor - 1) * 100,
        fundamentalGrade: investor.fundamental,
        technologyGrade: investor.technology,
        valuationGrade: investor.valuation,
      };
    },
  };
}
