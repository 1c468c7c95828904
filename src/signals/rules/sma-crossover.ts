import { sma } from '../indicators.js';
import {
  clampUnit,
  formatNumber,
  formatPercent,
  isNegligible,
  type RuleInput,
  type SignalRule,
  type Verdict,
} from './rule.js';

// SMA_CROSSOVER: the fast SMA against the slow SMA of closes. Direction is where the fast line stands
// now — above the slow line BULLISH, below BEARISH, level NEUTRAL — which covers both "crossed above
// within the last bars" and "is above"; a cross inside the lookback is named in the rationale.
// Strength is the normalised gap |fast − slow| / slow scaled so a gap of GAP_FULL_SCALE (5 %) or more
// reads 1: strength = min(1, gap / 0.05).

const FAST = 20;
const SLOW = 50;
/** Bars searched back for the latest cross (the last bar included). */
const CROSS_LOOKBACK = 5;
const GAP_FULL_SCALE = 0.05;

export const smaCrossoverRule: SignalRule = {
  kind: 'SMA_CROSSOVER',
  minCandles: SLOW,
  fullCandles: SLOW + CROSS_LOOKBACK,
  evaluate: evaluateSmaCrossover,
};

function evaluateSmaCrossover({ closes, interval }: RuleInput): Verdict {
  const fast = sma(closes, FAST);
  const slow = sma(closes, SLOW);
  const last = closes.length - 1;
  const f = fast[last]!;
  const s = slow[last]!;
  const level = isNegligible(f - s, s);
  const gap = level ? 0 : Math.abs(f - s) / Math.abs(s);
  const relation = level ? 'level with' : f > s ? 'above' : 'below';
  const cross = findLatestCross(fast, slow, last);
  const crossText = cross ? `; crossed ${cross.side} ${describeBarsAgo(cross.barsAgo)}` : '';
  return {
    direction: level ? 'NEUTRAL' : f > s ? 'BULLISH' : 'BEARISH',
    strength: clampUnit(gap / GAP_FULL_SCALE),
    rationale:
      `SMA(${FAST}) = ${formatNumber(f)} ${relation} SMA(${SLOW}) = ${formatNumber(s)} on ${interval} closes ` +
      `(gap ${formatPercent(gap)})${crossText}`,
  };
}

function findLatestCross(
  fast: readonly (number | null)[],
  slow: readonly (number | null)[],
  last: number,
): { side: 'above' | 'below'; barsAgo: number } | null {
  for (let barsAgo = 0; barsAgo < CROSS_LOOKBACK; barsAgo++) {
    const i = last - barsAgo;
    const before = difference(fast, slow, i - 1);
    const after = difference(fast, slow, i);
    if (before == null || after == null) return null;
    if (before <= 0 && after > 0) return { side: 'above', barsAgo };
    if (before >= 0 && after < 0) return { side: 'below', barsAgo };
  }
  return null;
}

function difference(
  fast: readonly (number | null)[],
  slow: readonly (number | null)[],
  i: number,
): number | null {
  const f = fast[i];
  const s = slow[i];
  return f == null || s == null ? null : f - s;
}

function describeBarsAgo(barsAgo: number): string {
  if (barsAgo === 0) return 'on the last bar';
  return barsAgo === 1 ? '1 bar ago' : `${barsAgo} bars ago`;
}
