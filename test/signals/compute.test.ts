import { describe, expect, it } from 'vitest';
import type { Candle, Signal } from '../../src/market/model.js';
import { computeSignals, FULL_CANDLES, MIN_CANDLES, type SignalKind } from '../../src/signals/compute.js';
import { macd, sma } from '../../src/signals/indicators.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);
const KINDS: SignalKind[] = ['SMA_CROSSOVER', 'RSI', 'MACD_CROSSOVER', 'RANGE_BREAKOUT', 'VOLATILITY_REGIME'];

interface Bar {
  close: number;
  high?: number;
  low?: number;
}

/** Daily candles opening at T0 + i days; open = previous close, high/low default to max/min(open, close). */
function candlesOf(bars: readonly (number | Bar)[]): Candle[] {
  let previous: number | undefined;
  return bars.map((bar, i) => {
    const { close, high, low } =
      typeof bar === 'number' ? { close: bar, high: undefined, low: undefined } : bar;
    const open = previous ?? close;
    previous = close;
    return {
      openTime: new Date(T0 + i * DAY),
      closeTime: new Date(T0 + (i + 1) * DAY - 1),
      open,
      high: high ?? Math.max(open, close),
      low: low ?? Math.min(open, close),
      close,
      volume: 1,
      source: 'binance',
    };
  });
}

function run(bars: readonly (number | Bar)[], now = new Date(T0 + 10_000 * DAY)): Signal[] {
  return computeSignals({ assetId: 'bitcoin', candles: candlesOf(bars), interval: '1d', now });
}

function byKind(signals: readonly Signal[], kind: SignalKind): Signal {
  const found = signals.find((s) => s.kind === kind);
  if (!found) throw new Error(`no ${kind} signal among ${signals.map((s) => s.kind).join(', ')}`);
  return found;
}

/** Closes from a start price and a list of per-bar steps. */
function walk(start: number, steps: readonly number[]): number[] {
  const closes = [start];
  for (const step of steps) closes.push(closes.at(-1)! + step);
  return closes;
}

/** Deterministic PRNG (mulberry32) so the property test is reproducible. */
function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomWalk(seed: number, length: number): number[] {
  const random = createRandom(seed);
  const closes = [100];
  while (closes.length < length) {
    const jump = random() < 0.05 ? (random() - 0.5) * 0.4 : 0;
    closes.push(closes.at(-1)! * Math.exp((random() - 0.5) * 0.06 + jump));
  }
  return closes;
}

describe('computeSignals on monotonic and flat series', () => {
  const rising = Array.from({ length: 120 }, (_, i) => 100 + i); // closes 100..219
  const falling = Array.from({ length: 120 }, (_, i) => 300 - i); // closes 300..181

  it('reads a rising series as overbought but trending up', () => {
    const signals = run(rising);
    expect(signals.map((s) => s.kind)).toEqual(KINDS);
    // SMA(20) = mean(200..219) = 209.5 > SMA(50) = mean(170..219) = 194.5; gap 15/194.5 = 7.7 % ≥ 5 % → 1
    expect(byKind(signals, 'SMA_CROSSOVER')).toMatchObject({ direction: 'BULLISH', strength: 1 });
    // Only gains: RSI 100, 30 beyond the band → strength 1.
    expect(byKind(signals, 'RSI')).toMatchObject({
      direction: 'BEARISH',
      strength: 1,
      rationale: 'RSI(14) = 100.0 on 1d closes > 70 (overbought)',
    });
    // Seeded EMAs of a linear series sit exactly (p − 1)/2 bars of slope behind it, so the MACD line is
    // the constant (26 − 12)/2 = 7, the signal line 7 too, and the histogram 0: no momentum change.
    expect(byKind(signals, 'MACD_CROSSOVER')).toMatchObject({ direction: 'NEUTRAL', strength: 0 });
    // Previous 20 candles (closes 199..218, opens 198..217): high 218, low 198, half-width 10;
    // close 219 is 1 above the high → strength 1/10.
    const breakout = byKind(signals, 'RANGE_BREAKOUT');
    expect(breakout.direction).toBe('BULLISH');
    expect(breakout.strength).toBeCloseTo(0.1, 12);
    expect(byKind(signals, 'VOLATILITY_REGIME').direction).toBe('NEUTRAL');
  });

  it('reads a falling series as the mirror image', () => {
    const signals = run(falling);
    expect(byKind(signals, 'SMA_CROSSOVER')).toMatchObject({ direction: 'BEARISH', strength: 1 });
    expect(byKind(signals, 'RSI')).toMatchObject({
      direction: 'BULLISH',
      strength: 1,
      rationale: 'RSI(14) = 0.0 on 1d closes < 30 (oversold)',
    });
    expect(byKind(signals, 'MACD_CROSSOVER')).toMatchObject({ direction: 'NEUTRAL', strength: 0 });
    // Previous 20: closes 201..182, opens 202..183 → high 202, low 182, half-width 10; close 181 is 1 below.
    const breakout = byKind(signals, 'RANGE_BREAKOUT');
    expect(breakout.direction).toBe('BEARISH');
    expect(breakout.strength).toBeCloseTo(0.1, 12);
  });

  it('reads a flat series as neutral with no strength, every kind present', () => {
    const signals = run(new Array(120).fill(100));
    expect(signals.map((s) => s.kind)).toEqual(KINDS);
    for (const signal of signals) {
      expect(signal, signal.kind).toMatchObject({ direction: 'NEUTRAL', strength: 0 });
    }
    expect(byKind(signals, 'RSI').rationale).toBe('RSI(14) = 50.0 on 1d closes within 30–70 (neutral)');
    expect(byKind(signals, 'VOLATILITY_REGIME').rationale).toContain('no volatility');
  });
});

describe('freshness of computed signals', () => {
  const closes = Array.from({ length: 120 }, (_, i) => 100 + i);

  it('are as of when their candles were fetched, stale as the candles were served', () => {
    const now = new Date(T0 + 10_000 * DAY);
    const fetchedAt = new Date(T0 + 9_000 * DAY);
    const signals = computeSignals({
      assetId: 'bitcoin',
      candles: candlesOf(closes),
      interval: '1d',
      now,
      fetchedAt,
      stale: true,
    });
    expect(signals).toHaveLength(KINDS.length);
    for (const s of signals) {
      expect(s, s.kind).toMatchObject({
        asOf: fetchedAt,
        stale: true,
        generatedAt: new Date(T0 + 120 * DAY - 1),
      });
    }
    // Without them: as of `now`, not stale.
    for (const s of run(closes, now)) expect(s, s.kind).toMatchObject({ asOf: now, stale: false });
  });
});

describe('RSI signal', () => {
  // 14 changes of ±1 from 100. With g gains and l losses the first Wilder averages are g/14 and l/14.
  const pattern = (gains: number, losses: number): number[] =>
    walk(100, [...new Array(losses).fill(-1), ...new Array(gains).fill(1)]);

  it('is BEARISH above 70: 10 gains, 4 losses → RS 2.5, RSI 100 − 100/3.5 = 71.43, strength (71.43 − 70)/30 = 1/21', () => {
    const signals = run(pattern(10, 4));
    // 15 candles: only RSI (needs 15) qualifies; the other kinds need 21+.
    expect(signals.map((s) => s.kind)).toEqual(['RSI']);
    const signal = signals[0]!;
    expect(signal.direction).toBe('BEARISH');
    expect(signal.strength).toBeCloseTo(1 / 21, 12);
    expect(signal.rationale).toBe('RSI(14) = 71.4 on 1d closes > 70 (overbought)');
  });

  it('is BULLISH below 30: 4 gains, 10 losses → RS 0.4, RSI 100 − 100/1.4 = 28.57, strength 1/21', () => {
    const signal = byKind(run(pattern(4, 10)), 'RSI');
    expect(signal.direction).toBe('BULLISH');
    expect(signal.strength).toBeCloseTo(1 / 21, 12);
    expect(signal.rationale).toBe('RSI(14) = 28.6 on 1d closes < 30 (oversold)');
  });

  it('is NEUTRAL between the bands, strength = |RSI − 50| / 20: 8 gains, 6 losses → RSI 400/7, strength 5/14', () => {
    // RS = 8/6, RSI = 100 − 100/(7/3) = 400/7 = 57.142857; (400/7 − 50)/20 = (50/7)/20 = 5/14
    const signal = byKind(run(pattern(8, 6)), 'RSI');
    expect(signal.direction).toBe('NEUTRAL');
    expect(signal.strength).toBeCloseTo(5 / 14, 12);
    expect(signal.rationale).toBe('RSI(14) = 57.1 on 1d closes within 30–70 (neutral)');
  });
});

describe('SMA_CROSSOVER signal', () => {
  it('scales the normalised gap: 30 closes at 100 then 20 at 102', () => {
    // SMA(20) = 102; SMA(50) = (30·100 + 20·102)/50 = 100.8; gap = 1.2/100.8 = 1/84 = 1.19 %;
    // strength = (1/84)/0.05 = 5/21. SMA(50) exists only on the last bar, so no cross can be dated.
    const signal = byKind(run([...new Array(30).fill(100), ...new Array(20).fill(102)]), 'SMA_CROSSOVER');
    expect(signal.direction).toBe('BULLISH');
    expect(signal.strength).toBeCloseTo(5 / 21, 12);
    expect(signal.rationale).toBe('SMA(20) = 102 above SMA(50) = 100.8 on 1d closes (gap 1.19%)');
  });

  it('names a cross inside the lookback', () => {
    const closes = Array.from({ length: 300 }, (_, i) => 100 + 20 * Math.sin((2 * Math.PI * i) / 120));
    const fast = sma(closes, 20);
    const slow = sma(closes, 50);
    const crossUp = closes.findIndex((_, i) => i > 50 && fast[i - 1]! <= slow[i - 1]! && fast[i]! > slow[i]!);
    const crossDown = closes.findIndex(
      (_, i) => i > 50 && fast[i - 1]! >= slow[i - 1]! && fast[i]! < slow[i]!,
    );
    expect(crossUp).toBeGreaterThan(50);
    expect(crossDown).toBeGreaterThan(50);

    const up = byKind(run(closes.slice(0, crossUp + 3)), 'SMA_CROSSOVER');
    expect(up.direction).toBe('BULLISH');
    expect(up.rationale).toContain('; crossed above 2 bars ago');
    const down = byKind(run(closes.slice(0, crossDown + 1)), 'SMA_CROSSOVER');
    expect(down.direction).toBe('BEARISH');
    expect(down.rationale).toContain('; crossed below on the last bar');
    // Five bars after the cross it is outside the lookback and no longer mentioned.
    expect(byKind(run(closes.slice(0, crossUp + 6)), 'SMA_CROSSOVER').rationale).not.toContain('crossed');
  });
});

describe('MACD_CROSSOVER signal', () => {
  it('reads an accelerating rise as BULLISH and an accelerating fall as BEARISH', () => {
    // closes 100 + 0.05·i²: slope 0.1·i, so the MACD line ≈ (12.5 − 5.5)·0.1·i = 0.7·i grows 0.7 a bar and
    // the signal EMA(9) lags it by (9 − 1)/2 = 4 bars: histogram ≈ 4 · 0.7 = 2.8 against a last close of
    // 100 + 0.05·119² = 808.05 → strength ≈ 2.8 / 808.05 / 0.01 = 0.3465. The fall 1000 − 0.05·i² mirrors
    // it: histogram ≈ −2.8 against a close of 291.95 → strength ≈ 0.959. (≈: the EMA lags are asymptotic,
    // hence 2-decimal checks.)
    const up = byKind(run(Array.from({ length: 120 }, (_, i) => 100 + 0.05 * i * i)), 'MACD_CROSSOVER');
    expect(up.direction).toBe('BULLISH');
    expect(up.strength).toBeCloseTo(2.8 / 808.05 / 0.01, 2);
    const down = byKind(run(Array.from({ length: 120 }, (_, i) => 1000 - 0.05 * i * i)), 'MACD_CROSSOVER');
    expect(down.direction).toBe('BEARISH');
    expect(down.strength).toBeCloseTo(2.8 / 291.95 / 0.01, 2);
  });

  it('follows the histogram sign, flags a fresh cross and scales |hist| / close', () => {
    const closes = Array.from({ length: 200 }, (_, i) => 100 + 10 * Math.sin((2 * Math.PI * i) / 60));
    const { histogram } = macd(closes);
    const crossUp = closes.findIndex((_, i) => i > 34 && histogram[i - 1]! <= 0 && histogram[i]! > 0);
    const crossDown = closes.findIndex((_, i) => i > 34 && histogram[i - 1]! >= 0 && histogram[i]! < 0);
    expect(crossUp).toBeGreaterThan(34);
    expect(crossDown).toBeGreaterThan(34);

    const up = byKind(run(closes.slice(0, crossUp + 1)), 'MACD_CROSSOVER');
    expect(up.direction).toBe('BULLISH');
    expect(up.rationale).toContain('crossed above signal on the last bar');
    expect(up.strength).toBeCloseTo(Math.min(1, Math.abs(histogram[crossUp]!) / closes[crossUp]! / 0.01), 12);

    const down = byKind(run(closes.slice(0, crossDown + 1)), 'MACD_CROSSOVER');
    expect(down.direction).toBe('BEARISH');
    expect(down.rationale).toContain('crossed below signal on the last bar');

    const later = byKind(run(closes.slice(0, crossDown + 3)), 'MACD_CROSSOVER');
    expect(later.direction).toBe('BEARISH');
    expect(later.rationale).not.toContain('crossed');
  });
});

describe('RANGE_BREAKOUT signal', () => {
  // 20 candles in a 99–101 range (close 100), then the candle under test. Half-width is 1.
  const range: Bar[] = new Array(20).fill({ close: 100, high: 101, low: 99 });
  const judge = (last: Bar): Signal => byKind(run([...range, last]), 'RANGE_BREAKOUT');

  it('is BULLISH on a close above the previous high: (101.5 − 101)/1 = 0.5', () => {
    const signal = judge({ close: 101.5, high: 102, low: 100.5 });
    expect(signal).toMatchObject({ direction: 'BULLISH', strength: 0.5 });
    expect(signal.rationale).toBe(
      '1d close 101.5 above the previous 20-bar range 99–101 by 0.50% (breakout up)',
    );
  });

  it('is BEARISH on a close below the previous low, capped at 1', () => {
    expect(judge({ close: 98.6, high: 99.5, low: 98.5 }).direction).toBe('BEARISH');
    expect(judge({ close: 98.6, high: 99.5, low: 98.5 }).strength).toBeCloseTo(0.4, 12);
    expect(judge({ close: 97, high: 99, low: 96 })).toMatchObject({ direction: 'BEARISH', strength: 1 });
  });

  it('is NEUTRAL inside the range, strength = distance from the middle / half-width', () => {
    // The last candle's own wick (high 150) is not part of the range it is judged against.
    expect(judge({ close: 100.5, high: 150, low: 100 })).toMatchObject({
      direction: 'NEUTRAL',
      strength: 0.5,
    });
    expect(judge({ close: 99, high: 100, low: 99 })).toMatchObject({ direction: 'NEUTRAL', strength: 1 });
    expect(judge({ close: 100, high: 100, low: 100 })).toMatchObject({ direction: 'NEUTRAL', strength: 0 });
  });
});

describe('VOLATILITY_REGIME signal', () => {
  // Log returns alternating ±a then ±b; each block has zero mean, so the sample variance is
  // (sum of squares)/(n − 1) over the window.
  const closesFrom = (returns: number[]): number[] => {
    const closes = [100];
    for (const r of returns) closes.push(closes.at(-1)! * Math.exp(r));
    return closes;
  };
  const alternating = (count: number, size: number): number[] =>
    Array.from({ length: count }, (_, i) => (i % 2 === 0 ? size : -size));

  it('flags expansion: 80 returns of ±1 % then 20 of ±2 %', () => {
    // short: 20·(0.02)²/19 → σ = 0.02·√(20/19); long: (80·0.01² + 20·0.02²)/99 = 160·0.01²/99 → σ = 0.01·√(160/99)
    // ratio = 2·√(20/19) / √(160/99) = 1.61409…; strength = ln(ratio)/ln 2 = 0.6907…
    const signal = byKind(
      run(closesFrom([...alternating(80, 0.01), ...alternating(20, 0.02)])),
      'VOLATILITY_REGIME',
    );
    const ratio = (2 * Math.sqrt(20 / 19)) / Math.sqrt(160 / 99);
    expect(signal.direction).toBe('NEUTRAL');
    expect(signal.strength).toBeCloseTo(Math.log(ratio) / Math.LN2, 9);
    expect(signal.rationale).toBe(
      'Realised volatility of 1d log returns over 20 bars 2.05% vs 100 bars 1.27% (ratio 1.61): high volatility (expanding)',
    );
  });

  it('flags contraction: 80 returns of ±2 % then 20 of ±1 %', () => {
    // short σ = 0.01·√(20/19); long: (80·0.02² + 20·0.01²)/99 = 340·0.01²/99 → ratio = √(20/19)/√(340/99) = 0.5536…
    const signal = byKind(
      run(closesFrom([...alternating(80, 0.02), ...alternating(20, 0.01)])),
      'VOLATILITY_REGIME',
    );
    const ratio = Math.sqrt(20 / 19) / Math.sqrt(340 / 99);
    expect(signal.strength).toBeCloseTo(-Math.log(ratio) / Math.LN2, 9);
    expect(signal.rationale).toContain('low volatility (contracting)');
  });

  it('uses all available returns when fewer than 100', () => {
    const signal = byKind(run(closesFrom(alternating(40, 0.01))), 'VOLATILITY_REGIME');
    // 40 identical-magnitude returns: both windows have σ = 0.01·√(n/(n−1)); ratio √(20/19)/√(40/39) ≈ 1.013
    expect(signal.rationale).toContain('vs 40 bars');
    expect(signal.rationale).toContain('normal volatility');
    expect(signal.strength).toBeCloseTo(Math.log(Math.sqrt(20 / 19) / Math.sqrt(40 / 39)) / Math.LN2, 9);
  });

  it('is skipped when a close in its window is not positive, other kinds still computed', () => {
    const closes = new Array(120).fill(1);
    closes[110] = 0;
    const kinds = run(closes).map((s) => s.kind);
    expect(kinds).not.toContain('VOLATILITY_REGIME');
    expect(kinds).toContain('RSI');
  });
});

describe('candle requirements', () => {
  it('publishes the minimum and full candle counts per kind', () => {
    expect(MIN_CANDLES).toEqual({
      SMA_CROSSOVER: 50,
      RSI: 15,
      MACD_CROSSOVER: 35,
      RANGE_BREAKOUT: 21,
      VOLATILITY_REGIME: 41,
    });
    expect(FULL_CANDLES.VOLATILITY_REGIME).toBe(101);
    for (const kind of KINDS) expect(FULL_CANDLES[kind]).toBeGreaterThanOrEqual(MIN_CANDLES[kind]);
  });

  it.each(KINDS)('omits %s with one candle too few and produces it at the minimum', (kind) => {
    const closes = randomWalk(7, MIN_CANDLES[kind]);
    expect(run(closes.slice(0, -1)).map((s) => s.kind)).not.toContain(kind);
    expect(run(closes).map((s) => s.kind)).toContain(kind);
  });

  it('returns nothing for no candles', () => {
    expect(run([])).toEqual([]);
  });
});

describe('signal envelope', () => {
  it('derives ids, generatedAt and provenance from the last candle, deterministically', () => {
    const closes = randomWalk(1, 120);
    const first = run(closes);
    const second = run(closes);
    expect(second).toEqual(first);
    const lastOpen = new Date(T0 + 119 * DAY).toISOString(); // 2024-04-29T00:00:00.000Z
    for (const signal of first) {
      expect(signal.id).toBe(`bitcoin:${signal.kind}:1d:${lastOpen}`);
      expect(signal.generatedAt.getTime()).toBe(T0 + 120 * DAY - 1);
      expect(signal).toMatchObject({ assetId: 'bitcoin', source: 'computed', interval: '1d' });
    }
    expect(new Set(first.map((s) => s.id)).size).toBe(first.length);
  });

  it('ignores a candle still forming at now', () => {
    const closes = randomWalk(2, 121);
    // now falls inside the last candle: it is dropped and the previous candle is the last one used.
    const now = new Date(T0 + 120 * DAY + 3_600_000);
    const signals = run(closes, now);
    expect(signals.map((s) => s.kind)).toEqual(KINDS);
    for (const signal of signals) {
      expect(signal.id.endsWith(new Date(T0 + 119 * DAY).toISOString())).toBe(true);
      expect(signal.generatedAt.getTime()).toBe(T0 + 120 * DAY - 1);
      expect(signal.generatedAt.getTime()).not.toBe(now.getTime());
    }
    expect(signals).toEqual(run(closes.slice(0, 120), now));
  });

  it('keeps strength within [0, 1] and rationales on one line across random markets', () => {
    for (let seed = 1; seed <= 60; seed++) {
      for (const signal of run(randomWalk(seed, 150))) {
        expect(signal.strength, `${signal.id}`).toBeGreaterThanOrEqual(0);
        expect(signal.strength, `${signal.id}`).toBeLessThanOrEqual(1);
        expect(signal.rationale).not.toMatch(/[\r\n]/);
        expect(signal.rationale).not.toMatch(/NaN|Infinity|undefined/);
      }
    }
  });

  it('rejects candles that are not strictly ascending by openTime', () => {
    const candles = candlesOf([1, 2, 3]);
    const swapped = [candles[0]!, candles[2]!, candles[1]!];
    const call = () =>
      computeSignals({ assetId: 'bitcoin', candles: swapped, interval: '1d', now: new Date() });
    expect(call).toThrow(RangeError);
    expect(call).toThrow('candle 2 opens at 2024-01-02T00:00:00.000Z');
  });
});
