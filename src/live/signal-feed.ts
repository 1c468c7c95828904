import { alignUp } from '../market/intervals.js';
import type { Signal } from '../market/model.js';
import type { SignalLoaders, SignalService } from '../signals/service.js';
import type { Channels } from './channels.js';
import { conflate } from './conflate.js';
import { createPoller, type PollTimers, REAL_TIMERS } from './poller.js';
import { perTick, type SignalTick, signalTick, tickSignal } from './ticks.js';

// Subscription.signalChanged: each signal of each asset first, then each change. A signal changed when
// what it says changed: its direction or its strength (a re-computation that says the same is not an
// event). Signals are computed from candles (or read from a keyed provider), none of which push, so
// each (asset, interval) has one shared poller (one per process group with Redis, see channels.ts).
// Only closed candles count, so a signal can change only when a candle of its interval closes: the
// poller recomputes just after each close (a day apart for 1d, a minute for 1m), and sooner after a
// poll in which a source failed, every `pollMs` until the next close.

export type { SignalTick } from './ticks.js';

export interface SignalSubscription {
  assetIds: string[];
  interval: string;
}

export interface SignalFeed {
  subscribe(request: SignalSubscription): Promise<AsyncIterableIterator<Signal>>;
}

export function createSignalFeed(deps: {
  channels: Channels;
  signals: SignalService;
  /** Rejects with NOT_FOUND naming every unknown asset. */
  check(assetIds: string[]): Promise<void>;
  /** Fresh loaders for one poll, outside any request. */
  newLoaders(): SignalLoaders;
  /** How soon a poll in which a source failed is retried (never later than the next close). */
  pollMs: number;
  /** A poll's failure (`topic`: the asset and interval polled) or a subscription's. */
  onError?: (error: unknown, topic?: string) => void;
  /** A poll of `topic` in which nothing failed. */
  onSuccess?: (topic: string) => void;
  /** The poller's clock and timers (tests pass a manual clock). */
  timers?: PollTimers;
}): SignalFeed {
  const toSignal = perTick(tickSignal);
  const timers = deps.timers ?? REAL_TIMERS;

  /** The asset's signals; a source that failed (an Error entry) is reported and skipped. */
  async function fetchTicks(
    assetId: string,
    interval: string,
    report: (error: unknown) => void,
  ): Promise<SignalTick[]> {
    const results = await deps.signals.forAsset(deps.newLoaders(), assetId, interval);
    for (const r of results) if (r instanceof Error) report(r);
    return results.filter((r): r is Signal => !(r instanceof Error)).map(signalTick);
  }

  /**
   * Until just after the next close of an `interval` candle, or `pollMs` if sooner after a failure or
   * a signal served stale (its source's refresh is pending or failed: a daily signal would otherwise
   * stay stale for a day after its provider recovers).
   */
  function nextPollIn(interval: string) {
    return (now: number, failed: boolean, ticks: readonly SignalTick[]) => {
      const untilClose = alignUp(now + 1, interval) - now + CLOSE_GRACE_MS;
      const soon = failed || ticks.some((t) => t.stale);
      return soon ? Math.min(deps.pollMs, untilClose) : untilClose;
    };
  }

  return {
    async subscribe({ assetIds, interval }) {
      await deps.check(assetIds);
      return conflate<SignalTick, Signal>({
        listen: (offer) => {
          const offs = assetIds.map((assetId) => {
            const topic = `signal:${assetId}:${interval}`;
            return deps.channels.join(
              topic,
              createPoller<SignalTick>({
                pollMs: deps.pollMs,
                fetch: (report) => fetchTicks(assetId, interval, report),
                nextPollIn: nextPollIn(interval),
                keyOf: (s) => s.kind,
                same: sameSignal,
                // A source that keeps failing (a provider down, an interval the asset does not have,
                // the live feeds' share of a quota spent) fails every pollMs: the logger keeps it to one
                // line per kind of failure until a poll succeeds (telemetry/quiet-repeats.ts).
                onError: (error) => deps.onError?.(error, topic),
                onSuccess: () => deps.onSuccess?.(topic),
                timers,
              }),
              offer as (event: object) => void,
            );
          });
          return () => {
            for (const off of offs) off();
          };
        },
        // Its failures are not reported: the asset's poller, polling at once as it starts (or already
        // polling), reports the same ones.
        initial: async () => {
          const lists = await Promise.all(
            assetIds.map((id) => fetchTicks(id, interval, () => undefined).catch(() => [])),
          );
          return lists.flat();
        },
        keyOf: (s) => `${s.assetId}:${s.kind}`,
        map: toSignal,
        same: sameSignal,
        onError: deps.onError,
      });
    },
  };
}

/**
 * How long after a close the recomputation waits, so the provider has the closed candle (Binance
 * closes a kline on the boundary; CoinGecko's fallback can lag).
 */
const CLOSE_GRACE_MS = 2_000;

function sameSignal(a: SignalTick, b: SignalTick): boolean {
  return a.direction === b.direction && a.strength === b.strength;
}
