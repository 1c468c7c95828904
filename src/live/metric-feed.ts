import { notFound } from '../errors.js';
import type { OnChainMetric } from '../market/model.js';
import type { OnChainService } from '../market/onchain.js';
import type { Channels } from './channels.js';
import { conflate } from './conflate.js';
import { createPoller } from './poller.js';
import { type MetricTick, metricTick, perTick, tickMetric } from './ticks.js';

// Subscription.onChainMetricUpdated: the current value of each metric of a chain first, then each
// change. On-chain providers have no push, so each (chain, kinds) key has one shared poller (one per
// process group with Redis, see channels.ts) that emits only the metrics whose value changed.
// Live events carry no history (query onChainMetrics for it).

export type { MetricTick } from './ticks.js';

export interface MetricSubscription {
  chain: string;
  /** Kinds to follow (case-insensitive); all of the chain's when absent. */
  kinds?: readonly string[];
}

export interface MetricFeed {
  /** Rejects with NOT_FOUND when the chain (and kinds) has no metric at all. */
  subscribe(request: MetricSubscription): Promise<AsyncIterableIterator<OnChainMetric>>;
}

export function createMetricFeed(deps: {
  channels: Channels;
  onchain: OnChainService;
  pollMs: number;
  /** A poll's failure (`topic`: the chain and kinds polled) or a subscription's. */
  onError?: (error: unknown, topic?: string) => void;
  /** A poll of `topic` that answered. */
  onSuccess?: (topic: string) => void;
}): MetricFeed {
  const toMetric = perTick(tickMetric);

  async function fetchTicks(chain: string, kinds: readonly string[] | undefined) {
    const results = await deps.onchain.forChain(chain, kinds);
    const ticks = results.filter((r): r is OnChainMetric => !(r instanceof Error)).map(metricTick);
    return { ticks, failed: results.length - ticks.length };
  }

  return {
    async subscribe(request) {
      const chain = request.chain.trim().toLowerCase();
      const kinds = request.kinds
        ? [...new Set(request.kinds.map((k) => k.trim().toUpperCase()))].sort()
        : undefined;
      const first = await fetchTicks(chain, kinds);
      if (first.ticks.length === 0 && first.failed === 0) {
        throw notFound('on-chain metrics for chain', kinds ? `${chain} (${kinds.join(', ')})` : chain);
      }
      const topic = `onchain:${chain}:${kinds?.join(',') ?? '*'}`;
      const produce = createPoller<MetricTick>({
        pollMs: deps.pollMs,
        fetch: async () => (await fetchTicks(chain, kinds)).ticks,
        keyOf: (m) => m.kind,
        same: sameMetric,
        onError: (error) => deps.onError?.(error, topic),
        onSuccess: () => deps.onSuccess?.(topic),
      });
      return conflate<MetricTick, OnChainMetric>({
        listen: (offer) => deps.channels.join(topic, produce, offer as (event: object) => void),
        initial: async () => first.ticks,
        keyOf: (m) => m.kind,
        timeOf: (m) => m.asOf,
        map: toMetric,
        same: sameMetric,
        onError: deps.onError,
      });
    },
  };
}

function sameMetric(a: MetricTick, b: MetricTick): boolean {
  return a.value === b.value && a.unit === b.unit && a.source === b.source;
}
