import type { Builder } from '../builder.js';
import { ASSET_ID, distinctAssetIds, inputLimit } from '../input-limits.js';
import type { Enums } from './enums.js';
import type { addSignal } from './signal.js';

// Subscription.signalChanged: live signals (the feed: src/live/signal-feed.ts).

const MAX_ASSETS = 50;

export function addLiveSignal(builder: Builder, enums: Enums, refs: ReturnType<typeof addSignal>) {
  builder.subscriptionField('signalChanged', (t) =>
    t.field({
      authScopes: { subscribe: true },
      type: refs.Signal,
      description:
        "Live signals: each signal of each asset first, then each change of a signal's direction or strength (recomputed upstream once for all subscribers). A slow client receives the latest value per signal, never a backlog.",
      args: {
        assetIds: t.arg.idList({
          required: true,
          description: `Canonical ids of the assets, 1 to ${MAX_ASSETS}; any unknown id fails the whole subscription before its first event, with one NOT_FOUND naming every unknown id (\`extensions.ids\`).`,
          extensions: inputLimit(ASSET_ID, { maxItems: MAX_ASSETS }),
        }),
        interval: t.arg({
          type: enums.CandleInterval,
          required: false,
          defaultValue: '1d',
          description: 'Candle interval the signals read.',
        }),
      },
      subscribe: (_root, args, ctx) => {
        const ids = distinctAssetIds(args.assetIds, MAX_ASSETS);
        return ctx.services.live.signals.subscribe({ assetIds: ids, interval: args.interval ?? '1d' });
      },
      resolve: (signal) => signal,
    }),
  );
}
