import { volatility } from '../indicators.js';
import { clampUnit, formatPercent, type RuleInput, type SignalRule, type Verdict } from './rule.js';

// VOLATILITY_REGIME: realised volatility (sample stdev of log returns, per bar) over the last SHORT
// returns against the last LONG returns, or all available returns when fewer (at least 2 × SHORT, so
// the long window is meaningfully longer). Volatility has no direction: the signal is always NEUTRAL and
// the rationale names the regime. ratio = short / long; ≥ 1.25 is high (expanding), ≤ 0.8 low
// (contracting), else normal. Strength = min(1, |ln ratio| / ln 2): 0 at ratio 1, 1 at a doubling or
// halving, symmetric for expansion and contraction. No movement at all (both zero) reads strength 0.

const SHORT = 20;
const LONG = 100;
const HIGH_RATIO = 1.25;
const LOW_RATIO = 0.8;

export const volatilityRegimeRule: SignalRule = {
  kind: 'VOLATILITY_REGIME',
  minCandles: 2 * SHORT + 1,
  fullCandles: LONG + 1,
  evaluate: evaluateVolatilityRegime,
};

function evaluateVolatilityRegime({ closes, interval }: RuleInput): Verdict | null {
  const longPeriod = Math.min(LONG, closes.length - 1);
  const window = closes.slice(-(longPeriod + 1));
  // Log returns need positive prices; a zero or negative close (dead or broken market) cannot be judged.
  if (window.some((c) => c <= 0)) return null;
  const shortVol = volatility(window, SHORT).at(-1)!;
  const longVol = volatility(window, longPeriod).at(-1)!;
  const inputs = `over ${SHORT} bars ${formatPercent(shortVol)} vs ${longPeriod} bars ${formatPercent(longVol)}`;
  const label = `Realised volatility of ${interval} log returns ${inputs}`;
  if (longVol === 0) {
    return { direction: 'NEUTRAL', strength: 0, rationale: `${label}: no volatility (flat closes)` };
  }
  const ratio = shortVol / longVol;
  const regime =
    ratio >= HIGH_RATIO
      ? 'high volatility (expanding)'
      : ratio <= LOW_RATIO
        ? 'low volatility (contracting)'
        : 'normal volatility';
  return {
    direction: 'NEUTRAL',
    strength: clampUnit(Math.abs(Math.log(ratio)) / Math.LN2),
    rationale: `${label} (ratio ${ratio.toFixed(2)}): ${regime}`,
  };
}
