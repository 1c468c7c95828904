import type { MarketData } from '../../market/model.js';
import type { Builder } from '../builder.js';
import type { AssetRefs } from './asset.js';
import type { CurrencyValue, Enums } from './enums.js';

// Market: the 24 h market picture of an asset in one currency (Asset.market).

export function addMarket(builder: Builder, enums: Enums, refs: AssetRefs) {
  const Market = builder.objectRef<MarketData & { stale: boolean }>('Market').implement({
    description:
      'The 24 h market picture of an asset in one currency (CoinGecko markets). Amounts are in `currency`; supplies are in units of the asset. A null figure is one the provider does not report for this asset.',
    fields: (t) => ({
      currency: t.field({
        type: enums.Currency,
        description: 'Currency of price, marketCap, volume24h, high24h and low24h.',
        resolve: (p) => p.currency as CurrencyValue,
      }),
      price: t.exposeFloat('price', { description: 'Spot price in `currency`.' }),
      marketCap: t.exposeFloat('marketCap', {
        nullable: true,
        description: 'Price × circulating supply, in `currency`.',
      }),
      volume24h: t.exposeFloat('volume24h', {
        nullable: true,
        description: 'Traded value over the last 24 h, in `currency`.',
      }),
      change24h: t.exposeFloat('change24h', {
        nullable: true,
        description: 'Price change over the last 24 h, in percent (-2.5 = down 2.5 %).',
      }),
      high24h: t.exposeFloat('high24h', { nullable: true, description: 'Highest price of the last 24 h.' }),
      low24h: t.exposeFloat('low24h', { nullable: true, description: 'Lowest price of the last 24 h.' }),
      circulatingSupply: t.exposeFloat('circulatingSupply', {
        nullable: true,
        description: 'Coins in circulation, in units of the asset.',
      }),
      totalSupply: t.exposeFloat('totalSupply', {
        nullable: true,
        description: 'Coins in existence minus those burned, in units of the asset.',
      }),
      maxSupply: t.exposeFloat('maxSupply', {
        nullable: true,
        description: 'Most coins there will ever be, in units of the asset; null when uncapped or unknown.',
      }),
      asOf: t.expose('asOf', {
        type: 'DateTime',
        description: 'When the provider last updated these figures.',
      }),
      source: t.expose('source', { type: enums.Provider, description: 'Provider of the figures.' }),
      stale: t.exposeBoolean('stale', {
        description: 'True when served past its freshness window, e.g. because the provider is failing.',
      }),
    }),
  });

  builder.objectField(refs.Asset, 'market', (t) =>
    t.field({
      type: Market,
      nullable: true,
      description:
        'Market cap, volume, 24 h range and supply in `currency`. Null with a coded error when the provider failed and nothing cached could stand in, or (NOT_FOUND) when it has no market for the asset.',
      args: {
        currency: t.arg({
          type: enums.Currency,
          required: false,
          defaultValue: 'usd',
          description: 'Currency of the amounts.',
        }),
      },
      resolve: async (asset, args, ctx) => {
        const cached = await ctx.loaders.market.load({ currency: args.currency ?? 'usd', assetId: asset.id });
        return { ...cached.value, stale: cached.stale };
      },
    }),
  );
  return { Market };
}
