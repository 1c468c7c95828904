import type { Candle, Signal } from '../market/model.js';
import { macdCrossoverRule } from './rules/macd-crossover.js';
import { rangeBreakoutRule } from './rules/range-breakout.js';
import { rsiRule } from './rules/rsi-level.js';
import type { SignalKind, SignalRule } from './rules/rule.js';
import { smaCrossoverRule } from './rules/sma-crossover.js';
import { volatilityRegimeRule } from './rules/volatility-regime.js';

// Signals computed from candles, as opposed to those a provider publishes. Pure: the same candles,
// interval and `now` always give the same signals, ids included, so callers may cache them by id.
//
// Contracts:
// - Only closed candles count: one whose closeTime is after `now` is still forming and is dropped.
//   `now` is used for nothing else.
// - A kind appears only when at least MIN_CANDLES[kind] closed candles exist; never padded or guessed.
// - id = `${assetId}:${kind}:${interval}:${openTime of the last candle used, ISO}`; generatedAt = that
//   candle's closeTime; source 'computed'; strength ∈ [0, 1]; rationale one line.
// - asOf = when the candles were fetched (`fetchedAt`, default `now`): the signal is the verdict their
//   data gave as of then; stale as given (the cache's flag on the candles).
// - Signals come in the fixed order of RULES.

export type { SignalKind } from './rules/rule.js';

export interface ComputeSignalsInput {
  assetId: string;
  /** Ascending by openTime (strictly); a RangeError says where not. */
  candles: readonly Candle[];
  /** Interval label, e.g. '1h', '1d'; goes into ids and rationales verbatim. */
  interval: string;
  now: Date;
  /** When the candles were fetched (default `now`). */
  fetchedAt?: Date;
  /** The candles were served from cache past their TTL (default false). */
  stale?: boolean;
}

const RULES: readonly SignalRule[] = [
  smaCrossoverRule,
  rsiRule,
  macdCrossoverRule,
  rangeBreakoutRule,
  volatilityRegimeRule,
];

/** Fewest closed candles for which each kind is produced at all. */
export const MIN_CANDLES: Readonly<Record<SignalKind, number>> = Object.freeze({
  SMA_CROSSOVER: smaCrossoverRule.minCandles,
  RSI: rsiRule.minCandles,
  MACD_CROSSOVER: macdCrossoverRule.minCandles,
  RANGE_BREAKOUT: rangeBreakoutRule.minCandles,
  VOLATILITY_REGIME: volatilityRegimeRule.minCandles,
});

/**
 * Closed candles at which each kind reads its full-length windows (e.g. 101 for the 100-bar volatility
 * baseline); fetch max(...values) + 1 to cover a still-forming last candle.
 */
export const FULL_CANDLES: Readonly<Record<SignalKind, number>> = Object.freeze({
  SMA_CROSSOVER: smaCrossoverRule.fullCandles,
  RSI: rsiRule.fullCandles,
  MACD_CROSSOVER: macdCrossoverRule.fullCandles,
  RANGE_BREAKOUT: rangeBreakoutRule.fullCandles,
  VOLATILITY_REGIME: volatilityRegimeRule.fullCandles,
});

export function computeSignals(input: ComputeSignalsInput): Signal[] {
  assertAscending(input.candles);
  const nowMs = input.now.getTime();
  const candles = input.candles.filter((c) => c.closeTime.getTime() <= nowMs);
  const last = candles.at(-1);
  if (!last) return [];
  const closes = candles.map((c) => c.close);
  const asOf = new Date((input.fetchedAt ?? input.now).getTime());
  const stale = input.stale ?? false;
  const signals: Signal[] = [];
  for (const rule of RULES) {
    if (candles.length < rule.minCandles) continue;
    const verdict = rule.evaluate({ candles, closes, interval: input.interval });
    if (!verdict) continue;
    signals.push({
      id: `${input.assetId}:${rule.kind}:${input.interval}:${last.openTime.toISOString()}`,
      assetId: input.assetId,
      kind: rule.kind,
      direction: verdict.direction,
      strength: verdict.strength,
      generatedAt: new Date(last.closeTime.getTime()),
      source: 'computed',
      interval: input.interval,
      rationale: verdict.rationale,
      asOf,
      stale,
    });
  }
  return signals;
}

function assertAscending(candles: readonly Candle[]): void {
  for (let i = 1; i < candles.length; i++) {
    const before = candles[i - 1]!.openTime;
    const at = candles[i]!.openTime;
    if (!(at.getTime() > before.getTime())) {
      throw new RangeError(
        `candles must be strictly ascending by openTime; candle ${i} opens at ${at.toISOString()}, ` +
          `not after ${before.toISOString()}`,
      );
    }
  }
}
