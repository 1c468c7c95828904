import { badUserInput } from '../../errors.js';
import type { Builder } from '../builder.js';
import { CHAIN, inputLimit, METRIC_KIND } from '../input-limits.js';
import type { addOnChainMetric } from './on-chain-metric.js';

// Subscription.onChainMetricUpdated: live on-chain metrics (the feed: src/live/metric-feed.ts).

const MAX_KINDS = 50;

export function addLiveOnChain(builder: Builder, refs: ReturnType<typeof addOnChainMetric>) {
  builder.subscriptionField('onChainMetricUpdated', (t) =>
    t.field({
      authScopes: { subscribe: true },
      type: refs.OnChainMetric,
      description:
        'Live on-chain metrics of one chain: the current value of each metric first, then each change (polled upstream once for all subscribers; an unchanged value is not sent again). A slow client receives the latest value per metric, never a backlog. `history` is null on live events.',
      args: {
        chain: t.arg.string({
          required: true,
          description:
            'bitcoin, ethereum, all (DeFi totals), or a DefiLlama chain name for TVL; any other chain is NOT_FOUND, with the known chains in extensions.knownChains.',
          extensions: inputLimit(CHAIN),
        }),
        kinds: t.arg({
          type: [refs.OnChainMetricKind],
          required: false,
          description: `Only these kinds, 1 to ${MAX_KINDS} (default: every kind of the chain).`,
          extensions: inputLimit(METRIC_KIND, { maxItems: MAX_KINDS }),
        }),
      },
      subscribe: (_root, args, ctx) => {
        if (args.chain.trim() === '') throw badUserInput('chain must not be empty', 'chain');
        if (args.kinds && (args.kinds.length === 0 || args.kinds.length > MAX_KINDS)) {
          throw badUserInput(`kinds must name 1 to ${MAX_KINDS} kinds, got ${args.kinds.length}`, 'kinds');
        }
        return ctx.services.live.metrics.subscribe({ chain: args.chain, kinds: args.kinds ?? undefined });
      },
      resolve: (metric) => metric,
    }),
  );
}
