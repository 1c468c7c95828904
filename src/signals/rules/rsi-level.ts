import { rsi } from '../indicators.js';
import { clampUnit, type RuleInput, type SignalRule, type Verdict } from './rule.js';

// RSI: Wilder's RSI(14) of closes against the 30/70 bands. Above 70 is overbought → BEARISH, below 30
// oversold → BULLISH, with strength = distance beyond the band / 30, capped at 1 (RSI 100 or 0 reads 1).
// In between the signal is NEUTRAL and its strength says how far the RSI leans from the midpoint
// toward a band: |RSI − 50| / 20, so 0 at 50 and approaching 1 at either band.

const PERIOD = 14;
const OVERBOUGHT = 70;
const OVERSOLD = 30;

export const rsiRule: SignalRule = {
  kind: 'RSI',
  minCandles: PERIOD + 1,
  fullCandles: PERIOD + 1,
  evaluate: evaluateRsi,
};

function evaluateRsi({ closes, interval }: RuleInput): Verdict {
  const value = rsi(closes, PERIOD)[closes.length - 1]!;
  const shown = value.toFixed(1);
  const label = `RSI(${PERIOD}) = ${shown} on ${interval} closes`;
  if (value > OVERBOUGHT) {
    return {
      direction: 'BEARISH',
      strength: clampUnit((value - OVERBOUGHT) / 30),
      rationale: `${label} > ${OVERBOUGHT} (overbought)`,
    };
  }
  if (value < OVERSOLD) {
    return {
      direction: 'BULLISH',
      strength: clampUnit((OVERSOLD - value) / 30),
      rationale: `${label} < ${OVERSOLD} (oversold)`,
    };
  }
  return {
    direction: 'NEUTRAL',
    strength: clampUnit(Math.abs(value - 50) / (OVERBOUGHT - 50)),
    rationale: `${label} within ${OVERSOLD}–${OVERBOUGHT} (neutral)`,
  };
}
