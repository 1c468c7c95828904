import { afterEach, describe, expect, it } from 'vitest';
import { createLocalBus } from '../../src/live/bus.js';
import { createChannels } from '../../src/live/channels.js';
import { createLocalLeases } from '../../src/live/leases.js';
import type { PollTimers } from '../../src/live/poller.js';
import { createSignalFeed } from '../../src/live/signal-feed.js';
import { alignDown } from '../../src/market/intervals.js';
import type { Signal } from '../../src/market/model.js';
import type { SignalLoaders, SignalService } from '../../src/signals/service.js';
import { createQuietRepeats, kindOf } from '../../src/telemetry/quiet-repeats.js';
import { HOUR, MINUTE } from '../helpers/clock.js';
import { captureLogger, INFO, linesOf, WARN } from '../helpers/log-lines.js';
import { settle } from '../helpers/manual-clock.js';

// Subscription.signalChanged recomputes when a candle of its interval closes, not on a fixed period:
// driven by a manual clock and timers, counting the recomputations the feed asks the service for.

/** Timers that fire only when the test moves the clock, in due order. */
function manualTimers(start: number) {
  let t = start;
  let seq = 0;
  const pending = new Map<number, { at: number; run: () => void }>();
  const timers: PollTimers = {
    now: () => t,
    setTimeout(run, ms) {
      const id = ++seq;
      pending.set(id, { at: t + ms, run });
      return id;
    },
    clearTimeout(handle) {
      pending.delete(handle as number);
    },
  };
  return {
    timers,
    now: () => t,
    /** Moves the clock to `to`, running every timer due on the way (and those they set). */
    async advanceTo(to: number) {
      await settle();
      for (;;) {
        const due = [...pending].filter(([, p]) => p.at <= to).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        pending.delete(due[0]);
        t = due[1].at;
        due[1].run();
        await settle();
      }
      t = to;
    },
  };
}

/** A service whose RSI moves with each closed candle; it records when it was asked. */
function countingService(now: () => number, interval: string) {
  const calls: number[] = [];
  let failNext = 0;
  let failing = false;
  let staleNext = 0;
  const service: SignalService = {
    async forAsset(_loaders, assetId) {
      calls.push(now());
      if (failNext > 0 || failing) {
        failNext = Math.max(0, failNext - 1);
        return [new Error('binance klines: HTTP 503')];
      }
      const closed = alignDown(now(), interval);
      const stale = staleNext > 0;
      if (stale) staleNext -= 1;
      const signal: Signal = {
        id: `Signal:${assetId}:RSI:${interval}`,
        assetId,
        kind: 'RSI',
        direction: 'NEUTRAL',
        strength: ((closed / 60_000) % 997) / 997,
        generatedAt: new Date(closed),
        asOf: new Date(now()),
        stale,
        source: 'binance',
        interval,
        rationale: 'test',
      };
      return [signal];
    },
  };
  return {
    service,
    calls,
    failOnce: () => {
      failNext = 1;
    },
    failFromNowOn: (on: boolean) => {
      failing = on;
    },
    staleOnce: () => {
      staleNext = 1;
    },
  };
}

const START = Date.parse('2025-06-02T10:17:30.000Z');
const POLL_MS = 5 * MINUTE;

describe('signalChanged cadence', () => {
  let stop: (() => Promise<unknown>) | undefined;
  afterEach(async () => {
    await stop?.();
    stop = undefined;
  });

  async function subscribe(interval: string) {
    const clock = manualTimers(START);
    const counting = countingService(clock.now, interval);
    const errors: unknown[] = [];
    // As live.ts logs them: through the shared quiet-repeats logger, on the test's clock.
    const { logger, lines } = captureLogger();
    const quiet = createQuietRepeats({ logger, now: clock.now });
    const channels = createChannels({ bus: createLocalBus(), leases: createLocalLeases() });
    const feed = createSignalFeed({
      channels,
      signals: counting.service,
      check: async () => {},
      newLoaders: () => ({}) as SignalLoaders,
      pollMs: POLL_MS,
      onError: (error, topic) => {
        errors.push(error);
        if (topic) quiet.failed(topic, kindOf(error), { topic }, 'signal poll failed');
      },
      onSuccess: (topic) => quiet.recovered(topic, { topic }, 'signal poll recovered'),
      timers: clock.timers,
    });
    const stream = await feed.subscribe({ assetIds: ['bitcoin'], interval });
    const events: Signal[] = [];
    void (async () => {
      for await (const signal of stream) events.push(signal);
    })();
    stop = async () => {
      await stream.return?.();
      await channels.close();
    };
    await clock.advanceTo(START);
    return { clock, ...counting, errors, events, lines };
  }

  it('1h: recomputes once per closed hourly candle, just after it closes', async () => {
    const { clock, calls, events } = await subscribe('1h');
    // At subscribe: the first event's computation and the poller's first poll.
    const atStart = calls.length;
    expect(calls.every((at) => at === START)).toBe(true);

    await clock.advanceTo(Date.parse('2025-06-02T10:59:59.000Z'));
    expect(calls.length).toBe(atStart); // no candle closed, nothing to recompute

    await clock.advanceTo(Date.parse('2025-06-02T13:30:00.000Z'));
    const later = calls.slice(atStart);
    expect(later).toHaveLength(3);
    for (const [i, at] of later.entries()) {
      const close = Date.parse('2025-06-02T11:00:00.000Z') + i * HOUR;
      expect(at).toBeGreaterThanOrEqual(close);
      expect(at - close).toBeLessThan(MINUTE);
    }
    // Each close changed the signal, and each change reached the subscriber.
    await settle();
    expect(events.map((e) => e.generatedAt.toISOString())).toEqual([
      '2025-06-02T10:00:00.000Z',
      '2025-06-02T11:00:00.000Z',
      '2025-06-02T12:00:00.000Z',
      '2025-06-02T13:00:00.000Z',
    ]);
  });

  it('1d: two days cost two recomputations, not one per candle TTL', async () => {
    const { clock, calls } = await subscribe('1d');
    const atStart = calls.length;
    await clock.advanceTo(START + 2 * 24 * HOUR);
    const later = calls.slice(atStart).map((at) => new Date(at).toISOString().slice(0, 13));
    expect(later).toEqual(['2025-06-03T00', '2025-06-04T00']);
  });

  it('a poll in which a source failed is reported and retried after pollMs, then back to the closes', async () => {
    const { clock, calls, errors, failOnce } = await subscribe('1h');
    const atStart = calls.length;
    failOnce();
    await clock.advanceTo(Date.parse('2025-06-02T11:00:30.000Z'));
    expect(calls.length).toBe(atStart + 1);
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/HTTP 503/);

    await clock.advanceTo(Date.parse('2025-06-02T11:59:00.000Z'));
    const retries = calls.slice(atStart + 1);
    expect(retries).toHaveLength(1);
    expect(retries[0]! - calls[atStart]!).toBe(POLL_MS);

    await clock.advanceTo(Date.parse('2025-06-02T12:00:30.000Z'));
    expect(calls.length).toBe(atStart + 3);
  });

  it('a failure repeated on every poll is logged once, its recovery once, and a new episode again', async () => {
    const { clock, calls, errors, failFromNowOn, lines } = await subscribe('1h');
    const warns = () => linesOf(lines, WARN, 'signal poll failed');
    failFromNowOn(true);
    const before = calls.length;
    // Closes at 11:00, then a retry every pollMs: a dozen failing polls, each reported to onError.
    await clock.advanceTo(Date.parse('2025-06-02T12:00:00.000Z'));
    const failed = calls.length - before;
    expect(failed).toBeGreaterThanOrEqual(10);
    expect(errors).toHaveLength(failed);
    // The first failure, then summaries further and further apart with the repeats counted.
    expect(warns()[0]).toMatchObject({ topic: 'signal:bitcoin:1h' });
    expect(warns()[0]).not.toHaveProperty('repeats');
    const summaries = warns().slice(1);
    expect(summaries.length).toBeLessThan(failed / 2);
    expect(summaries.reduce((n, l) => n + (l.repeats as number), 0)).toBeLessThanOrEqual(failed - 1);
    expect(linesOf(lines, INFO, 'signal poll recovered')).toHaveLength(0);

    failFromNowOn(false);
    await clock.advanceTo(Date.parse('2025-06-02T13:00:03.000Z'));
    expect(linesOf(lines, INFO, 'signal poll recovered')).toEqual([
      expect.objectContaining({ topic: 'signal:bitcoin:1h', failures: failed }),
    ]);
    const beforeSecond = warns().length;
    failFromNowOn(true);
    await clock.advanceTo(Date.parse('2025-06-02T14:00:03.000Z'));
    // A new episode: its first failure is news again.
    expect(warns()[beforeSecond]).not.toHaveProperty('repeats');
  });

  it('a daily signal served stale is asked again after pollMs, not a day later, and is no error', async () => {
    const { clock, calls, errors, staleOnce } = await subscribe('1d');
    const atStart = calls.length;
    staleOnce();
    await clock.advanceTo(Date.parse('2025-06-03T00:00:30.000Z'));
    expect(calls.length).toBe(atStart + 1);
    await clock.advanceTo(Date.parse('2025-06-03T00:10:00.000Z'));
    expect(calls.length).toBe(atStart + 2);
    expect(calls.at(-1)! - calls.at(-2)!).toBe(POLL_MS);
    expect(errors).toHaveLength(0);
    // Fresh again: back to one poll per close.
    await clock.advanceTo(Date.parse('2025-06-03T23:59:00.000Z'));
    expect(calls.length).toBe(atStart + 2);
  });
});
