import { macd } from '../indicators.js';
import {
  clampUnit,
  formatNumber,
  formatPercent,
  isNegligible,
  type RuleInput,
  type SignalRule,
  type Verdict,
} from './rule.js';

// MACD_CROSSOVER: MACD(12, 26, 9) of closes. The sign of the latest histogram (MACD − signal) gives the
// direction — positive BULLISH, negative BEARISH, zero NEUTRAL — and a sign change on the last bar is
// called out as a fresh cross. Strength is the histogram relative to price, scaled so |hist| / close of
// HIST_FULL_SCALE (1 %) or more reads 1: strength = min(1, |hist| / close / 0.01).

const FAST = 12;
const SLOW = 26;
const SIGNAL = 9;
const HIST_FULL_SCALE = 0.01;

export const macdCrossoverRule: SignalRule = {
  kind: 'MACD_CROSSOVER',
  // The histogram starts at index SLOW + SIGNAL − 2; one more bar gives the previous value to compare.
  minCandles: SLOW + SIGNAL,
  fullCandles: SLOW + SIGNAL,
  evaluate: evaluateMacdCrossover,
};

function evaluateMacdCrossover({ closes, interval }: RuleInput): Verdict {
  const { macd: line, signal, histogram } = macd(closes, FAST, SLOW, SIGNAL);
  const last = closes.length - 1;
  const close = closes[last]!;
  const hist = settle(histogram[last]!, close);
  const previous = settle(histogram[last - 1]!, close);
  const relative = Math.abs(hist) / Math.abs(close);
  const relation = hist > 0 ? 'above' : hist < 0 ? 'below' : 'level with';
  const fresh =
    (previous <= 0 && hist > 0) || (previous >= 0 && hist < 0)
      ? `; crossed ${relation} signal on the last bar`
      : '';
  return {
    direction: hist > 0 ? 'BULLISH' : hist < 0 ? 'BEARISH' : 'NEUTRAL',
    strength: clampUnit(relative / HIST_FULL_SCALE),
    rationale:
      `MACD(${FAST},${SLOW},${SIGNAL}) = ${formatNumber(line[last]!)} ${relation} signal ${formatNumber(signal[last]!)} ` +
      `on ${interval} closes (histogram ${formatNumber(hist)}, ${formatPercent(relative)} of close)${fresh}`,
  };
}

/** Rounding noise reads as exactly zero: a linear trend has a flat MACD line and no histogram at all. */
function settle(hist: number, close: number): number {
  return isNegligible(hist, close) ? 0 : hist;
}
