import { badUserInput } from '../../errors.js';
import type { Price } from '../../market/model.js';
import type { Builder } from '../builder.js';
import { ASSET_ID, distinctAssetIds, inputLimit } from '../input-limits.js';
import type { AssetRefs } from './asset.js';
import type { CurrencyValue, Enums } from './enums.js';

// Price: one quote of one asset in one currency, with its provenance, and the live
// Subscription.priceUpdated, which yields the same type. Asset.price and Asset.quotes: ./asset-price.ts.

const MAX_SUBSCRIBED_ASSETS = 100;

export function addPrice(builder: Builder, enums: Enums, refs: AssetRefs) {
  const PriceRef = builder.objectRef<Price>('Price').implement({
    description: 'A price with its provenance: which provider said it, and when.',
    fields: (t) => ({
      assetId: t.exposeID('assetId', { description: 'Canonical id of the priced asset, e.g. "bitcoin".' }),
      asset: t.field({
        type: refs.Asset,
        nullable: true,
        description: 'The priced asset; null with a coded error when its catalogue entry cannot be loaded.',
        resolve: async (price, _args, ctx) => (await ctx.loaders.asset.load(price.assetId)).value,
      }),
      value: t.exposeFloat('value', { description: 'Price of one unit of the asset, in `currency`.' }),
      currency: t.field({
        type: enums.Currency,
        description: 'Currency of `value`.',
        resolve: (p) => p.currency as CurrencyValue,
      }),
      change24h: t.exposeFloat('change24h', {
        nullable: true,
        description:
          'Percent change over the last 24 h (-2.5 = down 2.5 %); null when the provider does not say.',
      }),
      asOf: t.expose('asOf', { type: 'DateTime', description: 'When the provider last updated this value.' }),
      source: t.expose('source', {
        type: enums.Provider,
        description: 'Provider that quoted it; COMPUTED for an aggregate (see `sources`).',
      }),
      stale: t.exposeBoolean('stale', {
        description: 'True when served past its freshness window, e.g. because the provider is failing.',
      }),
    }),
  });

  builder.subscriptionField('priceUpdated', (t) =>
    t.field({
      authScopes: { subscribe: true },
      type: PriceRef,
      description:
        'Live prices: the current price of each asset first, then every change. A slow client receives the latest value, never a backlog.',
      args: {
        assetIds: t.arg.idList({
          required: true,
          description: `Canonical ids of the assets, 1 to ${MAX_SUBSCRIBED_ASSETS}; any unknown id fails the whole subscription before its first event, with one NOT_FOUND naming every unknown id (\`extensions.ids\`).`,
          extensions: inputLimit(ASSET_ID, { maxItems: MAX_SUBSCRIBED_ASSETS }),
        }),
        currency: t.arg({
          type: enums.Currency,
          required: false,
          defaultValue: 'usd',
          description: 'Quote currency of the events.',
        }),
        throttleMs: t.arg.int({
          required: false,
          description:
            'At most one event per asset per this many milliseconds (0 to 3600000; default 0: every change).',
        }),
      },
      subscribe: async (_root, args, ctx) => {
        const ids = distinctAssetIds(args.assetIds, MAX_SUBSCRIBED_ASSETS);
        const throttleMs = args.throttleMs ?? 0;
        if (throttleMs < 0 || throttleMs > 3_600_000) {
          throw badUserInput(`throttleMs must be between 0 and 3600000, got ${throttleMs}`, 'throttleMs');
        }
        return ctx.services.priceFeed.subscribe({
          assetIds: ids,
          currency: args.currency ?? 'usd',
          throttleMs,
        });
      },
      resolve: (price) => price,
    }),
  );

  return { Price: PriceRef };
}
