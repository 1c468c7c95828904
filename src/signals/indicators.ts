// Pure technical indicators. Every function takes a plain number series (oldest first) and returns a
// series of the same length, aligned index for index with its input: `out[i]` is the indicator as of
// `values[i]`, and `null` while the indicator is still warming up (too few values behind `i`). A series
// shorter than the warm-up is therefore all nulls, never an error.
//
// Inputs are checked, not trusted: a period must be a positive integer and every value a finite number,
// otherwise a RangeError names the offending argument and value. Windows are summed afresh rather than
// with a running sum, so results match hand arithmetic without accumulated drift (the series here are
// at most a few thousand candles long).

export type Series = (number | null)[];

export interface MacdResult {
  /** EMA(fast) − EMA(slow); defined from index slow − 1. */
  macd: Series;
  /** EMA(signal) of the MACD line, seeded like `ema`; defined from index slow + signal − 2. */
  signal: Series;
  /** macd − signal; defined where `signal` is. */
  histogram: Series;
}

export interface BollingerResult {
  middle: Series;
  upper: Series;
  lower: Series;
}

/** Simple moving average: mean of the `period` values ending at i. */
export function sma(values: readonly number[], period: number): Series {
  assertPeriod('period', period);
  assertFiniteValues(values);
  return mapWindows(values, period, (window) => sumOf(window) / period);
}

/**
 * Exponential moving average with α = 2 / (period + 1). Seeded with the SMA of the first `period`
 * values (the first defined point, at index period − 1, equals that SMA); from there
 * EMA[i] = EMA[i−1] + α·(values[i] − EMA[i−1]).
 */
export function ema(values: readonly number[], period: number): Series {
  assertPeriod('period', period);
  assertFiniteValues(values);
  const out: Series = new Array(values.length).fill(null);
  if (values.length < period) return out;
  const alpha = 2 / (period + 1);
  let previous = sumOf(values.slice(0, period)) / period;
  out[period - 1] = previous;
  for (let i = period; i < values.length; i++) {
    previous += alpha * (values[i]! - previous);
    out[i] = previous;
  }
  return out;
}

/**
 * Relative Strength Index with Wilder's smoothing. Changes start at index 1; the first averages (at
 * index `period`) are the simple means of the first `period` gains and losses, then
 * avg[i] = (avg[i−1]·(period − 1) + change[i]) / period. RSI = 100 − 100 / (1 + avgGain / avgLoss):
 * 100 when avgLoss is 0 and avgGain is not. When both are 0 (no movement at all) RS is undefined and
 * the RSI is 50, the neutral midpoint, rather than a spurious "overbought" 100.
 */
export function rsi(values: readonly number[], period = 14): Series {
  assertPeriod('period', period);
  assertFiniteValues(values);
  const out: Series = new Array(values.length).fill(null);
  if (values.length <= period) return out;
  let avgGain = 0;
  let avgLoss = 0;
  for (let i = 1; i <= period; i++) {
    const change = values[i]! - values[i - 1]!;
    if (change > 0) avgGain += change;
    else avgLoss -= change;
  }
  avgGain /= period;
  avgLoss /= period;
  out[period] = toRsi(avgGain, avgLoss);
  for (let i = period + 1; i < values.length; i++) {
    const change = values[i]! - values[i - 1]!;
    avgGain = (avgGain * (period - 1) + Math.max(change, 0)) / period;
    avgLoss = (avgLoss * (period - 1) + Math.max(-change, 0)) / period;
    out[i] = toRsi(avgGain, avgLoss);
  }
  return out;
}

/** MACD line, signal line and histogram; every EMA involved is seeded as in `ema`. */
export function macd(values: readonly number[], fast = 12, slow = 26, signal = 9): MacdResult {
  assertPeriod('fast', fast);
  assertPeriod('slow', slow);
  assertPeriod('signal', signal);
  if (fast >= slow) {
    throw new RangeError(`macd fast period must be shorter than slow period, got fast ${fast}, slow ${slow}`);
  }
  const fastEma = ema(values, fast);
  const slowEma = ema(values, slow);
  const line: Series = values.map((_, i) => {
    const f = fastEma[i];
    const s = slowEma[i];
    return f == null || s == null ? null : f - s;
  });
  const lineStart = slow - 1;
  const defined = line.slice(lineStart) as number[];
  const signalLine: Series = [
    ...new Array<null>(Math.min(lineStart, values.length)).fill(null),
    ...ema(defined, signal),
  ];
  const histogram: Series = line.map((m, i) => {
    const s = signalLine[i];
    return m == null || s == null ? null : m - s;
  });
  return { macd: line, signal: signalLine, histogram };
}

/**
 * Rolling standard deviation of the `period` values ending at i. `ddof` is the delta degrees of
 * freedom: 0 (default) divides by n, the population form Bollinger bands use; 1 divides by n − 1,
 * the sample form. `period` must exceed `ddof`.
 */
export function stdev(values: readonly number[], period: number, ddof: 0 | 1 = 0): Series {
  assertPeriod('period', period);
  if (ddof !== 0 && ddof !== 1) throw new RangeError(`stdev ddof must be 0 or 1, got ${ddof}`);
  if (period <= ddof) throw new RangeError(`stdev period must exceed ddof ${ddof}, got ${period}`);
  assertFiniteValues(values);
  return mapWindows(values, period, (window) => standardDeviation(window, ddof));
}

/** Natural-log returns ln(values[i] / values[i−1]); index 0 is null. Values must be positive. */
export function logReturns(values: readonly number[]): Series {
  assertPositiveValues(values);
  return values.map((v, i) => (i === 0 ? null : Math.log(v / values[i - 1]!)));
}

/**
 * Realised volatility: the sample standard deviation (n − 1) of the `period` log returns ending at i,
 * times √annualizationFactor. With factor 1 it is per bar; pass the bars per year (365 for daily
 * crypto candles, 8760 for hourly) to annualise. Needs period + 1 values, so index `period` is the
 * first defined point. Values must be positive; period must be at least 2.
 */
export function volatility(values: readonly number[], period: number, annualizationFactor = 1): Series {
  assertPeriod('period', period);
  if (period < 2) throw new RangeError(`volatility period must be at least 2, got ${period}`);
  if (!Number.isFinite(annualizationFactor) || annualizationFactor <= 0) {
    throw new RangeError(`annualizationFactor must be a positive finite number, got ${annualizationFactor}`);
  }
  const returns = logReturns(values);
  const scale = Math.sqrt(annualizationFactor);
  return returns.map((_, i) =>
    i < period ? null : standardDeviation(returns.slice(i - period + 1, i + 1) as number[], 1) * scale,
  );
}

/** Highest value of the `period` values ending at i (the current value included). */
export function highest(values: readonly number[], period: number): Series {
  assertPeriod('period', period);
  assertFiniteValues(values);
  return mapWindows(values, period, (window) => Math.max(...window));
}

/** Lowest value of the `period` values ending at i (the current value included). */
export function lowest(values: readonly number[], period: number): Series {
  assertPeriod('period', period);
  assertFiniteValues(values);
  return mapWindows(values, period, (window) => Math.min(...window));
}

/** Bollinger bands: SMA(period) ± k · population stdev(period). */
export function bollinger(values: readonly number[], period = 20, k = 2): BollingerResult {
  if (!Number.isFinite(k) || k < 0) throw new RangeError(`bollinger k must be a finite number ≥ 0, got ${k}`);
  const middle = sma(values, period);
  const deviation = stdev(values, period, 0);
  const band = (sign: 1 | -1): Series =>
    middle.map((m, i) => (m == null ? null : m + sign * k * deviation[i]!));
  return { middle, upper: band(1), lower: band(-1) };
}

function toRsi(avgGain: number, avgLoss: number): number {
  if (avgLoss === 0) return avgGain === 0 ? 50 : 100;
  return 100 - 100 / (1 + avgGain / avgLoss);
}

function mapWindows(values: readonly number[], period: number, reduce: (window: number[]) => number): Series {
  return values.map((_, i) => (i < period - 1 ? null : reduce(values.slice(i - period + 1, i + 1))));
}

function sumOf(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum;
}

function standardDeviation(values: readonly number[], ddof: 0 | 1): number {
  const mean = sumOf(values) / values.length;
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  return Math.sqrt(squares / (values.length - ddof));
}

function assertPeriod(name: string, period: number): void {
  if (!Number.isInteger(period) || period < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${String(period)}`);
  }
}

function assertFiniteValues(values: readonly number[]): void {
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new RangeError(`values[${i}] must be a finite number, got ${String(v)}`);
    }
  });
}

function assertPositiveValues(values: readonly number[]): void {
  assertFiniteValues(values);
  values.forEach((v, i) => {
    if (v <= 0) throw new RangeError(`values[${i}] must be positive for log returns, got ${v}`);
  });
}
