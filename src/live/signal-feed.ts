import type { Signal } from '../market/model.js';
import type { SignalLoaders, SignalService } from '../signals/service.js';
import type { Channels } from './channels.js';
import { conflate } from './conflate.js';
import { createPoller } from './poller.js';
import { perTick, type SignalTick, signalTick, tickSignal } from './ticks.js';

// Subscription.signalChanged: each signal of each asset first, then each change. A signal changed when
// what it says changed: its direction or its strength (a re-computation that says the same is not an
// event). Signals are computed from candles (or read from a keyed provider), none of which push, so
// each (asset, interval) has one shared poller (one per process group with Redis, see channels.ts).

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
  /** Rejects with NOT_FOUND naming the first unknown asset. */
  check(assetIds: string[]): Promise<void>;
  /** Fresh loaders for one poll, outside any request. */
  newLoaders(): SignalLoaders;
  pollMs: number;
  onError?: (error: unknown) => void;
}): SignalFeed {
  const toSignal = perTick(tickSignal);

  /** The asset's signals; a source that failed (an Error entry) is skipped and tried again next poll. */
  async function fetchTicks(assetId: string, interval: string): Promise<SignalTick[]> {
    const results = await deps.signals.forAsset(deps.newLoaders(), assetId, interval);
    return results.filter((r): r is Signal => !(r instanceof Error)).map(signalTick);
  }

  return {
    async subscribe({ assetIds, interval }) {
      await deps.check(assetIds);
      return conflate<SignalTick, Signal>({
        listen: (offer) => {
          const offs = assetIds.map((assetId) =>
            deps.channels.join(
              `signal:${assetId}:${interval}`,
              createPoller<SignalTick>({
                pollMs: deps.pollMs,
                fetch: () => fetchTicks(assetId, interval),
                keyOf: (s) => s.kind,
                same: sameSignal,
                onError: deps.onError,
              }),
              offer as (event: object) => void,
            ),
          );
          return () => {
            for (const off of offs) off();
          };
        },
        initial: async () => {
          const lists = await Promise.all(
            assetIds.map((id) =>
              fetchTicks(id, interval).catch((error) => {
                deps.onError?.(error);
                return [];
              }),
            ),
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

function sameSignal(a: SignalTick, b: SignalTick): boolean {
  return a.direction === b.direction && a.strength === b.strength;
}
