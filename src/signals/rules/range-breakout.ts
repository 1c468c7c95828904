import {
  clampUnit,
  formatNumber,
  formatPercent,
  type RuleInput,
  type SignalRule,
  type Verdict,
} from './rule.js';

// RANGE_BREAKOUT: the last close against the range of the WINDOW candles before it (their highest high
// and lowest low; the last candle itself is excluded, or it could never break out of its own range).
// Above the high → BULLISH, below the low → BEARISH, with strength = excess beyond the edge over half the
// range width, capped at 1 (a close half a range beyond the edge reads 1; a zero-width range broken by
// any amount reads 1). Inside the range (edges included) → NEUTRAL with strength = distance from the
// middle over half the width: 0 at the middle, 1 at an edge, 0 for a zero-width range.

const WINDOW = 20;

export const rangeBreakoutRule: SignalRule = {
  kind: 'RANGE_BREAKOUT',
  minCandles: WINDOW + 1,
  fullCandles: WINDOW + 1,
  evaluate: evaluateRangeBreakout,
};

function evaluateRangeBreakout({ candles, interval }: RuleInput): Verdict {
  const last = candles[candles.length - 1]!;
  const previous = candles.slice(-WINDOW - 1, -1);
  const high = Math.max(...previous.map((c) => c.high));
  const low = Math.min(...previous.map((c) => c.low));
  const halfWidth = (high - low) / 2;
  const close = last.close;
  const range = `previous ${WINDOW}-bar range ${formatNumber(low)}–${formatNumber(high)}`;
  const shown = `${interval} close ${formatNumber(close)}`;
  if (close > high || close < low) {
    const above = close > high;
    const excess = above ? close - high : low - close;
    const edge = above ? high : low;
    return {
      direction: above ? 'BULLISH' : 'BEARISH',
      strength: halfWidth === 0 ? 1 : clampUnit(excess / halfWidth),
      rationale:
        `${shown} ${above ? 'above' : 'below'} the ${range} by ${formatPercent(excess / edge)} ` +
        `(breakout ${above ? 'up' : 'down'})`,
    };
  }
  const offset = halfWidth === 0 ? 0 : (close - (low + halfWidth)) / halfWidth;
  const side = offset > 0 ? 'upper' : offset < 0 ? 'lower' : 'middle';
  return {
    direction: 'NEUTRAL',
    strength: clampUnit(Math.abs(offset)),
    rationale:
      `${shown} inside the ${range} ` +
      (side === 'middle'
        ? '(at the middle)'
        : `(${side} half, ${formatPercent(Math.abs(offset))} of the way to the edge)`),
  };
}
