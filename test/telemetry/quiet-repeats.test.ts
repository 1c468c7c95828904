import { describe, expect, it } from 'vitest';
import { createQuietRepeats } from '../../src/telemetry/quiet-repeats.js';
import { captureLogger, DEBUG, INFO, linesOf, WARN } from '../helpers/log-lines.js';

// One warning per kind of failure per episode, summaries further and further apart, one info line on
// recovery: counted on a pino logger writing into an array, on a clock the test moves.

const SECOND = 1_000;
const MINUTE = 60 * SECOND;

function setup(options: { summaryMs?: number; maxSummaryMs?: number; maxKeys?: number } = {}) {
  let t = 0;
  const { logger, lines } = captureLogger();
  const quiet = createQuietRepeats({ logger, now: () => t, ...options });
  const fail = (key = 'coingecko coins/list', kind = 'unavailable 503') =>
    quiet.failed(key, kind, { key, kind }, 'upstream call failed');
  return {
    quiet,
    lines,
    fail,
    warns: () => linesOf(lines, WARN, 'upstream call failed'),
    tick: (ms: number) => {
      t += ms;
    },
  };
}

describe('createQuietRepeats', () => {
  it('warns on the first failure, keeps repeats at debug, and logs the recovery once at info', () => {
    const { quiet, lines, fail, warns, tick } = setup();
    expect(fail()).toBe(true);
    for (let i = 0; i < 20; i++) {
      tick(2 * SECOND);
      expect(fail()).toBe(false);
    }
    expect(warns()).toHaveLength(1);
    expect(warns()[0]).not.toHaveProperty('repeats');
    expect(linesOf(lines, DEBUG, 'upstream call failed')).toHaveLength(20);
    expect(quiet.failing('coingecko coins/list')).toBe(true);

    expect(
      quiet.recovered('coingecko coins/list', { provider: 'coingecko' }, 'upstream calls recovered'),
    ).toBe(true);
    const recovered = linesOf(lines, INFO, 'upstream calls recovered');
    expect(recovered).toEqual([
      expect.objectContaining({ provider: 'coingecko', failures: 21, failingForMs: 40 * SECOND }),
    ]);
    // Nothing was failing any more: a second success says nothing.
    expect(quiet.recovered('coingecko coins/list', {}, 'upstream calls recovered')).toBe(false);
    expect(linesOf(lines, INFO, 'upstream calls recovered')).toHaveLength(1);
    // And the next failure is news again.
    fail();
    expect(warns()).toHaveLength(2);
  });

  it('logs a different failure of the same key, but not one it flaps back to', () => {
    const { fail, warns, tick } = setup();
    fail('k', 'unavailable 503');
    tick(SECOND);
    fail('k', 'refused breaker_open');
    tick(SECOND);
    fail('k', 'unavailable 503');
    fail('k', 'refused breaker_open');
    expect(warns().map((l) => l.kind)).toEqual(['unavailable 503', 'refused breaker_open']);
  });

  it('keeps keys apart', () => {
    const { quiet, fail, warns } = setup();
    fail('coingecko coins/list');
    fail('coincap assets');
    fail('coingecko coins/list');
    expect(warns().map((l) => l.key)).toEqual(['coingecko coins/list', 'coincap assets']);
    quiet.recovered('coincap assets', {}, 'recovered');
    expect(quiet.failing('coingecko coins/list')).toBe(true);
  });

  it('sums repeats up after summaryMs, then at doubling intervals up to maxSummaryMs', () => {
    const { fail, warns, tick } = setup({ summaryMs: MINUTE, maxSummaryMs: 4 * MINUTE });
    fail();
    // One failure every 10 s for 20 minutes.
    for (let i = 0; i < 120; i++) {
      tick(10 * SECOND);
      fail();
    }
    const summaries = warns().slice(1);
    // Summaries at 1, 3, 7, 11, 15, 19 minutes.
    expect(summaries.map((l) => l.failingForMs)).toEqual([1, 3, 7, 11, 15, 19].map((m) => m * MINUTE));
    expect(summaries.map((l) => l.repeats)).toEqual([6, 12, 24, 24, 24, 24]);
  });

  it('ends an episode nobody reports the end of after maxSummaryMs without a failure', () => {
    const { fail, warns, tick } = setup({ summaryMs: MINUTE, maxSummaryMs: 10 * MINUTE });
    fail();
    tick(5 * SECOND);
    fail();
    tick(10 * MINUTE);
    fail();
    // The new episode's first line, carrying the repeat the last one did not tell.
    expect(warns()).toHaveLength(2);
    expect(warns()[1]).toMatchObject({ repeats: 1 });
    expect(warns()[1]).not.toHaveProperty('failingForMs');
  });

  it('forgets the oldest episode past maxKeys', () => {
    const { quiet, fail } = setup({ maxKeys: 2 });
    fail('a');
    fail('b');
    fail('c');
    expect(['a', 'b', 'c'].map((k) => quiet.failing(k))).toEqual([false, true, true]);
  });
});
