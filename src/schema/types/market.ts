import type { MarketData } from '../../model.js';
import type { Builder } from '../builder.js';
import type { AssetRefs } from './asset.js';
import type { CurrencyValue, Enums } from './enums.js';

// Market: the 24 h market picture of an asset in one currency (Asset.market).

export function addMarket(builder: Builder, enums: Enums, refs: AssetRefs) {
  const Market = builder.objectRef<MarketData & { stale: boolean }>('Market').implement({
    fields: (t) => ({
      currency: t.field({ type: enums.Currency, resolve: (p) => p.currency as CurrencyValue }),
      price: t.exposeFloat('price'),
      marketCap: t.exposeFloat('marketCap', { nullable: true }),
      volume24h: t.exposeFloat('volume24h', { nullable: true }),
      change24h: t.exposeFloat('change24h', { nullable: true, description: 'Percent.' }),
      high24h: t.exposeFloat('high24h', { nullable: true }),
      low24h: t.exposeFloat('low24h', { nullable: true }),
      circulatingSupply: t.exposeFloat('circulatingSupply', { nullable: true }),
      totalSupply: t.exposeFloat('totalSupply', { nullable: true }),
      maxSupply: t.exposeFloat('maxSupply', { nullable: true }),
      asOf: t.expose('asOf', { type: 'DateTime' }),
      source: t.expose('source', { type: enums.Provider }),
      stale: t.exposeBoolean('stale'),
    }),
  });

  builder.objectField(refs.Asset, 'market', (t) =>
    t.field({
      type: Market,
      nullable: true,
      args: { currency: t.arg({ type: enums.Currency, required: false, defaultValue: 'usd' }) },
      resolve: async (asset, args, ctx) => {
        const cached = await ctx.loaders.market.load(`${args.currency ?? 'usd'}:${asset.id}`);
        return { ...cached.value, stale: cached.stale };
      },
    }),
  );
  return { Market };
}
