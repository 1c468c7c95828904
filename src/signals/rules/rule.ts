import type { Candle, SignalDirection } from '../../market/model.js';

// The contract every computed-signal rule honours. A rule sees only closed candles, oldest first, and
// at least `minCandles` of them (computeSignals skips the kind otherwise, it never pads or guesses);
// it answers with a direction, a strength in [0, 1] and a one-line rationale naming its inputs and
// values. Ids, timestamps and provenance are computeSignals' business, not the rule's.

export type SignalKind = 'SMA_CROSSOVER' | 'RSI' | 'MACD_CROSSOVER' | 'RANGE_BREAKOUT' | 'VOLATILITY_REGIME';

export interface RuleInput {
  /** Closed candles, ascending by openTime, at least the rule's `minCandles`. */
  candles: readonly Candle[];
  /** `candles[i].close`, precomputed once for every rule. */
  closes: readonly number[];
  /** Candle interval label used in rationales, e.g. '1d'. */
  interval: string;
}

export interface Verdict {
  direction: SignalDirection;
  /** 0..1 */
  strength: number;
  /** One line, no newline. */
  rationale: string;
}

export interface SignalRule {
  readonly kind: SignalKind;
  /** Fewest closed candles the rule can judge; below it the kind is absent. */
  readonly minCandles: number;
  /** Candles at which every window the rule reads is at full length (what a caller should fetch). */
  readonly fullCandles: number;
  /** null when these candles cannot be judged at all (e.g. non-positive closes for log returns). */
  evaluate(input: RuleInput): Verdict | null;
}

/** Clamps to [0, 1]; a NaN (0/0 on degenerate input) reads as no strength at all. */
export function clampUnit(x: number): number {
  if (Number.isNaN(x)) return 0;
  return Math.min(1, Math.max(0, x));
}

/**
 * True when `difference` is rounding noise next to `scale` (relative 1e-9): two moving averages of a
 * flat or linear series can differ by a few ulps, which must read as level, not as a direction.
 */
export function isNegligible(difference: number, scale: number): boolean {
  return Math.abs(difference) <= 1e-9 * Math.abs(scale);
}

/** Six significant digits without trailing zeros: 64123.5, 0.000123457, 100. */
export function formatNumber(x: number): string {
  return String(Number(x.toPrecision(6)));
}

/** A ratio as a percentage with two decimals: 0.01234 → '1.23%'. */
export function formatPercent(ratio: number): string {
  return `${(ratio * 100).toFixed(2)}%`;
}
