import type { ObjectRef } from '@pothos/core';
import type { GraphQLError } from 'graphql';
import type { Cached } from '../../cache.js';
import type { Context } from '../../context.js';
import { badUserInput } from '../../errors.js';
import type { Price, ProviderName } from '../../market/model.js';
import { median, QUOTE_PROVIDERS, type QuoteProvider } from '../../market/quotes.js';
import type { Builder, BuilderTypes } from '../builder.js';
import type { AssetRefs } from './asset.js';
import type { Enums } from './enums.js';

// Asset.price and Asset.quotes: one price picked from (or agreed between) several providers.
// AUTO asks providers in health/quota order and fails over per batch; a named source asks only that
// provider; MEDIAN takes every provider's quote and reports the consensus with its spread.

const SOURCE_DESCRIPTIONS: Record<keyof typeof SOURCES, string> = {
  AUTO: 'The healthiest enabled provider with quota left; fails over to the next on an error.',
  COINGECKO: 'CoinGecko simple/price, in any Currency.',
  BINANCE: 'Binance spot, the USDT pair taken as USD and converted for other currencies.',
  COINCAP: 'CoinCap v3 (needs a key), USD converted for other currencies.',
  DEFILLAMA: 'DefiLlama coins prices, USD converted for other currencies.',
};

/** AUTO, then each quote provider under its upper-case name. */
const SOURCES = {
  AUTO: 'auto',
  ...(Object.fromEntries(QUOTE_PROVIDERS.map((p) => [p.toUpperCase(), p])) as {
    [P in QuoteProvider as Uppercase<P>]: P;
  }),
} as const;

export function addAssetPrice(
  builder: Builder,
  enums: Enums,
  refs: AssetRefs,
  PriceRef: ObjectRef<PothosSchemaTypes.ExtendDefaultTypes<BuilderTypes>, Price>,
) {
  const PriceSource = builder.enumType('PriceSource', {
    description:
      'Which provider a price comes from; AUTO picks the healthiest with quota left and fails over.',
    values: Object.fromEntries(
      Object.entries(SOURCES).map(([k, v]) => [
        k,
        { value: v, description: SOURCE_DESCRIPTIONS[k as keyof typeof SOURCES] },
      ]),
    ) as Record<keyof typeof SOURCES, { value: (typeof SOURCES)[keyof typeof SOURCES]; description: string }>,
  });
  const PriceAggregate = builder.enumType('PriceAggregate', {
    description: 'Whether Asset.price is one provider’s quote or the consensus of all of them.',
    values: {
      NONE: { value: 'none', description: 'One provider’s price.' },
      MEDIAN: {
        value: 'median',
        description: 'The median of every provider’s quote, with the spread between them.',
      },
    },
  });

  builder.objectFields(PriceRef, (t) => ({
    spread: t.exposeFloat('spread', {
      nullable: true,
      description:
        'Aggregated prices: (highest − lowest quote) / value, in percent; null for one provider’s price.',
    }),
    sources: t.field({
      type: [enums.Provider],
      nullable: true,
      description:
        'Aggregated prices: the providers whose quotes were combined; null for one provider’s price.',
      resolve: (p) => p.sources ?? null,
    }),
  }));

  builder.objectField(refs.Asset, 'price', (t) =>
    t.field({
      type: PriceRef,
      nullable: true,
      description:
        'Spot price in `currency`. Null with a coded error when no provider could answer (UPSTREAM_* codes) or none lists the asset (NOT_FOUND).',
      args: {
        currency: t.arg({
          type: enums.Currency,
          required: false,
          defaultValue: 'usd',
          description: 'Quote currency.',
        }),
        source: t.arg({
          type: PriceSource,
          required: false,
          defaultValue: 'auto',
          description: 'Which provider to ask; a named one must be enabled (BAD_USER_INPUT otherwise).',
        }),
        aggregate: t.arg({
          type: PriceAggregate,
          required: false,
          defaultValue: 'none',
          description: 'MEDIAN combines every enabled provider (leave `source` at AUTO).',
        }),
      },
      resolve: async (asset, args, ctx) => {
        const currency = args.currency ?? 'usd';
        const source = args.source ?? 'auto';
        if ((args.aggregate ?? 'none') === 'median') {
          if (source !== 'auto')
            throw badUserInput('aggregate: MEDIAN combines every provider; leave source at AUTO', 'source');
          return medianPrice(ctx, asset.id, currency);
        }
        if (source === 'auto')
          return withStale(ctx, await ctx.loaders.price.load({ currency, assetId: asset.id }));
        assertEnabled(ctx, source);
        return withStale(
          ctx,
          await ctx.loaders.quote.load({ provider: source, currency, assetId: asset.id }),
        );
      },
    }),
  );

  builder.objectField(refs.Asset, 'quotes', (t) =>
    t.field({
      type: [PriceRef],
      nullable: { list: false, items: true },
      description:
        'Each enabled provider’s quote. Providers that do not list the asset are left out; one that fails leaves a null entry and a coded error.',
      args: {
        currency: t.arg({
          type: enums.Currency,
          required: false,
          defaultValue: 'usd',
          description: 'Quote currency.',
        }),
      },
      resolve: async (asset, args, ctx) => {
        const results = await loadQuotes(ctx, asset.id, args.currency ?? 'usd');
        // graphql-js turns an Error list item into a null entry plus an error with its path.
        return results.flatMap(
          ({ result }): Array<Price | Error> =>
            result instanceof Error ? (isNotFound(result) ? [] : [result]) : [withStale(ctx, result)],
        ) as Price[];
      },
    }),
  );
}

function enabledQuoteProviders(ctx: Context): QuoteProvider[] {
  return QUOTE_PROVIDERS.filter((p) => ctx.services.config.providers[p].enabled);
}

function assertEnabled(ctx: Context, provider: QuoteProvider) {
  if (!ctx.services.config.providers[provider].enabled) {
    throw badUserInput(
      `source ${provider.toUpperCase()} is not enabled on this gateway (keyed providers need a key)`,
      'source',
    );
  }
}

async function loadQuotes(ctx: Context, assetId: string, currency: string) {
  const providers = enabledQuoteProviders(ctx);
  const results = await ctx.loaders.quote.loadMany(
    providers.map((provider) => ({ provider, currency, assetId })),
  );
  return providers.map((provider, i) => ({ provider, result: results[i]! }));
}

async function medianPrice(ctx: Context, assetId: string, currency: string): Promise<Price> {
  const results = await loadQuotes(ctx, assetId, currency);
  const quotes = results.flatMap(({ result }) => (result instanceof Error ? [] : [withStale(ctx, result)]));
  if (quotes.length === 0) {
    throw (
      results.map((r) => r.result).find((r): r is Error => r instanceof Error && !isNotFound(r)) ??
      (results[0]?.result as Error)
    );
  }
  const values = quotes.map((q) => q.value);
  const value = median(values);
  return {
    assetId,
    currency,
    value,
    change24h: quotes.find((q) => q.change24h !== null)?.change24h ?? null,
    // The consensus is as old as its oldest input.
    asOf: new Date(Math.min(...quotes.map((q) => q.asOf.getTime()))),
    source: 'computed',
    stale: quotes.some((q) => q.stale),
    spread: value > 0 ? ((Math.max(...values) - Math.min(...values)) / value) * 100 : 0,
    sources: quotes.map((q) => q.source as ProviderName),
  };
}

/** The quote as served, recorded as part of the answer (a stale one AUTO set aside is not). */
function withStale(ctx: Context, cached: Cached<Price>): Price {
  ctx.reads?.served(cached);
  return { ...cached.value, stale: cached.value.stale || cached.stale };
}

function isNotFound(error: Error): boolean {
  return (error as GraphQLError).extensions?.code === 'NOT_FOUND';
}
