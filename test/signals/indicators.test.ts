import { describe, expect, it } from 'vitest';
import {
  bollinger,
  ema,
  highest,
  logReturns,
  lowest,
  macd,
  rsi,
  type Series,
  sma,
  stdev,
  volatility,
} from '../../src/signals/indicators.js';

/** Compares aligned series: nulls exactly, numbers to 9 decimals. */
function expectSeries(actual: Series, expected: Series): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((value, i) => {
    const want = expected[i];
    if (want == null) expect(value, `index ${i}`).toBeNull();
    else expect(value, `index ${i}`).toBeCloseTo(want, 9);
  });
}

describe('sma', () => {
  it('averages each window ending at i, null during warm-up', () => {
    // SMA(3) of [1,2,3,4,5]: (1+2+3)/3 = 2, (2+3+4)/3 = 3, (3+4+5)/3 = 4.
    expectSeries(sma([1, 2, 3, 4, 5], 3), [null, null, 2, 3, 4]);
  });

  it('returns all nulls, aligned, when the series is shorter than the period', () => {
    expect(sma([1, 2], 3)).toEqual([null, null]);
    expect(sma([], 3)).toEqual([]);
  });

  it('is the identity for period 1', () => {
    expectSeries(sma([4, 8, 15], 1), [4, 8, 15]);
  });
});

describe('ema', () => {
  it('is seeded with the SMA of the first period values, then smoothed with 2/(period+1)', () => {
    // EMA(3), α = 2/4 = 0.5, over [2,4,6,8,12,6]:
    //   seed at index 2 = (2+4+6)/3 = 4
    //   index 3: 4 + 0.5·(8 − 4)  = 6
    //   index 4: 6 + 0.5·(12 − 6) = 9
    //   index 5: 9 + 0.5·(6 − 9)  = 7.5
    expectSeries(ema([2, 4, 6, 8, 12, 6], 3), [null, null, 4, 6, 9, 7.5]);
  });

  it('uses α = 2/(period+1) for other periods too', () => {
    // EMA(4), α = 0.4, over [1,2,3,4,10]: seed (1+2+3+4)/4 = 2.5; index 4: 2.5 + 0.4·(10 − 2.5) = 5.5.
    expectSeries(ema([1, 2, 3, 4, 10], 4), [null, null, null, 2.5, 5.5]);
  });
});

describe('rsi', () => {
  it("follows Wilder's smoothing on a small series worked by hand (period 3)", () => {
    // closes [10, 11, 10.5, 11.5, 11, 12, 12] → changes +1, −0.5, +1, −0.5, +1, 0
    // index 3: avgGain = (1+0+1)/3 = 2/3, avgLoss = (0+0.5+0)/3 = 1/6, RS = 4,   RSI = 100 − 100/5   = 80
    // index 4 (−0.5): avgGain = (2/3·2 + 0)/3 = 4/9,  avgLoss = (1/6·2 + 0.5)/3 = 5/18, RS = 1.6,
    //                 RSI = 100 − 100/2.6 = 61.538461538…
    // index 5 (+1):   avgGain = (4/9·2 + 1)/3 = 17/27, avgLoss = (5/18·2 + 0)/3 = 5/27, RS = 3.4,
    //                 RSI = 100 − 100/4.4 = 77.272727…
    // index 6 (0):    avgGain = 34/81, avgLoss = 10/81, RS = 3.4 again, RSI = 77.272727…
    expectSeries(rsi([10, 11, 10.5, 11.5, 11, 12, 12], 3), [
      null,
      null,
      null,
      80,
      100 - 100 / 2.6,
      100 - 100 / 4.4,
      100 - 100 / 4.4,
    ]);
  });

  it('matches hand arithmetic on the classic 14-period example series', () => {
    const closes = [
      44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.1, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61, 46.28, 46.28,
      46.0,
    ];
    // changes 1..14: −0.25 +0.06 −0.54 +0.72 +0.50 +0.27 +0.32 +0.42 +0.24 −0.19 +0.14 −0.42 +0.67 0.00
    // gains sum 0.06+0.72+0.50+0.27+0.32+0.42+0.24+0.14+0.67 = 3.34 → avgGain = 3.34/14 = 0.2385714…
    // losses sum 0.25+0.54+0.19+0.42 = 1.40 → avgLoss = 0.1
    // index 14: RS = 2.385714…, RSI = 100 − 100/3.385714… = 70.4641…
    // index 15 (−0.28): avgGain = 0.2385714·13/14 = 0.2215306…, avgLoss = (0.1·13 + 0.28)/14 = 0.1128571…,
    //                   RS = 1.962929…, RSI = 100 − 100/2.962929… = 66.2497…
    const out = rsi(closes);
    expect(out.slice(0, 14).every((v) => v === null)).toBe(true);
    const avgGain14 = 3.34 / 14;
    const avgLoss14 = 1.4 / 14;
    expect(out[14]).toBeCloseTo(100 - 100 / (1 + avgGain14 / avgLoss14), 6);
    expect(out[14]).toBeCloseTo(70.4641, 3);
    const avgGain15 = (avgGain14 * 13) / 14;
    const avgLoss15 = (avgLoss14 * 13 + 0.28) / 14;
    expect(out[15]).toBeCloseTo(100 - 100 / (1 + avgGain15 / avgLoss15), 6);
    expect(out[15]).toBeCloseTo(66.2497, 3);
  });

  it('is 100 on a rising series, 0 on a falling one and 50 on a flat one', () => {
    const rising = Array.from({ length: 30 }, (_, i) => 100 + i);
    expect(rsi(rising).at(-1)).toBe(100);
    expect(rsi(rising.toReversed()).at(-1)).toBe(0);
    expect(rsi(new Array(30).fill(7)).at(-1)).toBe(50);
  });

  it('needs period + 1 values for the first point', () => {
    expect(rsi([1, 2, 3], 3)).toEqual([null, null, null]);
    expect(rsi([1, 2, 3, 4], 3)[3]).toBe(100);
  });
});

describe('macd', () => {
  it('matches a hand computation with small periods (3, 6, 3)', () => {
    const closes = [10, 10, 10, 10, 10, 10, 17, 17, 10, 10];
    // EMA(3), α = 1/2: seed idx2 = 10; idx3..5 = 10; idx6 = 10 + (17−10)/2 = 13.5; idx7 = 15.25;
    //   idx8 = 15.25 + (10 − 15.25)/2 = 12.625; idx9 = 11.3125
    // EMA(6), α = 2/7: seed idx5 = 10; idx6 = 10 + 2/7·7 = 12; idx7 = 12 + 2/7·5 = 94/7;
    //   idx8 = 94/7 + 2/7·(10 − 94/7) = 610/49; idx9 = 610/49 + 2/7·(10 − 610/49) = 4030/343
    // MACD line: idx5 = 0; idx6 = 1.5; idx7 = 61/4 − 94/7 = 51/28; idx8 = 101/8 − 610/49 = 69/392;
    //   idx9 = 181/16 − 4030/343 = −2397/5488
    // Signal EMA(3) of the line, seeded with (0 + 1.5 + 51/28)/3 = 31/28 at idx7;
    //   idx8 = (31/28 + 69/392)/2 = 503/784; idx9 = (503/784 − 2397/5488)/2 = 281/2744
    // Histogram: idx7 = 51/28 − 31/28 = 5/7; idx8 = 69/392 − 503/784 = −365/784;
    //   idx9 = −2397/5488 − 562/5488 = −2959/5488
    const out = macd(closes, 3, 6, 3);
    const nulls = (n: number): null[] => new Array(n).fill(null);
    expectSeries(out.macd, [...nulls(5), 0, 1.5, 51 / 28, 69 / 392, -2397 / 5488]);
    expectSeries(out.signal, [...nulls(7), 31 / 28, 503 / 784, 281 / 2744]);
    expectSeries(out.histogram, [...nulls(7), 5 / 7, -365 / 784, -2959 / 5488]);
  });

  it('defaults to (12, 26, 9): line from index 25, signal and histogram from index 33', () => {
    const closes = Array.from({ length: 40 }, (_, i) => 100 + Math.sin(i / 3) * 5);
    const out = macd(closes);
    expect(out.macd[24]).toBeNull();
    expect(out.macd[25]).toBeTypeOf('number');
    expect(out.signal[32]).toBeNull();
    expect(out.signal[33]).toBeTypeOf('number');
    expect(out.histogram[33]).toBeCloseTo(out.macd[33]! - out.signal[33]!, 12);
  });

  it('returns aligned all-null series when too short', () => {
    const out = macd([1, 2, 3], 3, 6, 3);
    expect(out).toEqual({
      macd: [null, null, null],
      signal: [null, null, null],
      histogram: [null, null, null],
    });
  });
});

describe('stdev, logReturns and volatility', () => {
  it('computes the population and sample standard deviation of each window', () => {
    // [2,4,4,4,5,5,7,9]: mean 5, squared deviations 9+1+1+1+0+0+4+16 = 32;
    // population √(32/8) = 2, sample √(32/7) = 2.138089935…
    const values = [2, 4, 4, 4, 5, 5, 7, 9];
    expect(stdev(values, 8).at(-1)).toBeCloseTo(2, 12);
    expect(stdev(values, 8, 1).at(-1)).toBeCloseTo(Math.sqrt(32 / 7), 12);
    // window of 2 ending at index 1: [2,4] → mean 3, population √((1+1)/2) = 1
    expectSeries(stdev(values, 2).slice(0, 2), [null, 1]);
  });

  it('takes natural-log returns, index 0 null', () => {
    expectSeries(logReturns([100, 110, 99]), [null, Math.log(1.1), Math.log(0.9)]);
  });

  it('is the sample stdev of log returns, annualised by √factor', () => {
    // Prices 100, 100e^r, 100, 100e^r → returns r, −r, r (r = 0.1); mean r/3; deviations 2r/3, −4r/3, 2r/3;
    // squares sum (4+16+4)/9·r² = 24r²/9; sample variance (÷2) = 4r²/3; stdev = 2r/√3 = 0.115470…
    const r = 0.1;
    const prices = [100, 100 * Math.exp(r), 100, 100 * Math.exp(r)];
    expectSeries(volatility(prices, 3), [null, null, null, (2 * r) / Math.sqrt(3)]);
    expect(volatility(prices, 3, 365).at(-1)).toBeCloseTo(((2 * r) / Math.sqrt(3)) * Math.sqrt(365), 9);
  });

  it('is zero on a flat series', () => {
    expect(volatility([5, 5, 5, 5], 3).at(-1)).toBe(0);
  });
});

describe('highest, lowest and bollinger', () => {
  it('takes the extreme of each window, current value included', () => {
    const values = [3, 1, 4, 1, 5, 9, 2, 6];
    expect(highest(values, 3)).toEqual([null, null, 4, 4, 5, 9, 9, 9]);
    expect(lowest(values, 3)).toEqual([null, null, 1, 1, 1, 1, 2, 2]);
  });

  it('builds bands from the SMA ± k population stdevs', () => {
    // [2,4,4,4,5,5,7,9]: SMA 5, population stdev 2 → k = 2 gives 9 and 1, k = 1.5 gives 8 and 2.
    const values = [2, 4, 4, 4, 5, 5, 7, 9];
    const bands = bollinger(values, 8);
    expect(bands.middle.at(-1)).toBeCloseTo(5, 12);
    expect(bands.upper.at(-1)).toBeCloseTo(9, 12);
    expect(bands.lower.at(-1)).toBeCloseTo(1, 12);
    expect(bands.upper[6]).toBeNull();
    expect(bollinger(values, 8, 1.5).lower.at(-1)).toBeCloseTo(2, 12);
  });
});

describe('input validation', () => {
  const values = [1, 2, 3, 4, 5];

  it.each([0, -1, 2.5, Number.NaN, Number.POSITIVE_INFINITY])(
    'rejects period %s with a RangeError naming it',
    (bad) => {
      for (const call of [
        () => sma(values, bad),
        () => ema(values, bad),
        () => rsi(values, bad),
        () => stdev(values, bad),
        () => volatility(values, bad),
        () => highest(values, bad),
        () => lowest(values, bad),
        () => bollinger(values, bad),
        () => macd(values, bad, 26, 9),
        () => macd(values, 12, 26, bad),
      ]) {
        expect(call).toThrow(RangeError);
        expect(call).toThrow(`got ${String(bad)}`);
      }
    },
  );

  it('rejects a MACD whose fast period is not shorter than the slow one', () => {
    expect(() => macd(values, 26, 12, 9)).toThrow(RangeError);
    expect(() => macd(values, 26, 12, 9)).toThrow('fast 26, slow 12');
    expect(() => macd(values, 5, 5, 3)).toThrow(RangeError);
  });

  it('rejects the periods each statistic cannot use', () => {
    expect(() => stdev(values, 1, 1)).toThrow(RangeError);
    expect(() => volatility(values, 1)).toThrow('got 1');
    expect(() => volatility(values, 3, 0)).toThrow('annualizationFactor');
    expect(() => bollinger(values, 3, -1)).toThrow('got -1');
  });

  it('rejects non-finite values and non-positive prices for log returns, naming the index', () => {
    expect(() => sma([1, Number.NaN, 3], 2)).toThrow('values[1] must be a finite number, got NaN');
    expect(() => ema([1, 2, Number.POSITIVE_INFINITY], 2)).toThrow(RangeError);
    expect(() => logReturns([1, 0, 3])).toThrow('values[1] must be positive');
    expect(() => volatility([1, 2, -3, 4], 2)).toThrow(RangeError);
  });
});
