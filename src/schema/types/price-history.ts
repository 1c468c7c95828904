import type { Context } from '../../context.js';
import { badUserInput, notFound, toClientError } from '../../errors.js';
import type { Builder } from '../builder.js';
import { DATE_TIME, inputLimit } from '../input-limits.js';
import type { AssetRefs } from './asset.js';
import type { CurrencyValue, Enums } from './enums.js';

// Asset.priceHistory (prices over a range) and Asset.priceAt (the price at a past instant), from
// CoinGecko's market_chart/range through src/price-history.ts.

const DAY = 86_400_000;
/** CoinGecko's public plans serve the past year of market_chart/range. */
const MAX_SPAN_DAYS = 365;
/** priceAt reads the range ending at the instant and takes its last point (5-minute spacing there). */
const LOOKBACK_MS = 3_600_000;

interface Point {
  at: Date;
  value: number;
  volume24h: number | null;
}
interface History {
  currency: CurrencyValue;
  fetchedAt: number;
  stale: boolean;
  points: Point[];
}

export function addPriceHistory(builder: Builder, enums: Enums, { Asset }: AssetRefs) {
  const PricePoint = builder
    .objectRef<Point & { currency: CurrencyValue; asOf: Date; stale: boolean }>('PricePoint')
    .implement({
      description: 'A past price of an asset (CoinGecko market_chart).',
      fields: (t) => ({
        at: t.expose('at', { type: 'DateTime', description: 'When the price held.' }),
        value: t.exposeFloat('value', { description: 'Price of one unit of the asset, in `currency`.' }),
        volume24h: t.exposeFloat('volume24h', {
          nullable: true,
          description: 'Rolling 24 h traded value at `at`, in `currency`; null where the provider has none.',
        }),
        currency: t.field({
          type: enums.Currency,
          description: 'Currency of `value`.',
          resolve: (p) => p.currency,
        }),
        source: t.field({
          type: enums.Provider,
          description: 'COINGECKO.',
          resolve: () => 'coingecko' as const,
        }),
        asOf: t.expose('asOf', {
          type: 'DateTime',
          description:
            'When the points this one came with were fetched from the provider (`at` is when the price held).',
        }),
        stale: t.exposeBoolean('stale', {
          description: 'True when served past its freshness window, e.g. because the provider is failing.',
        }),
      }),
    });
  const PriceHistory = builder.objectRef<History>('PriceHistory').implement({
    description: 'Prices of an asset over a range, oldest first, with their provenance.',
    fields: (t) => ({
      points: t.field({
        type: [PricePoint],
        description:
          'The prices in [from, to], oldest first; CoinGecko spaces them by the span: ~5 minutes up to a day, hourly up to 90 days, daily beyond.',
        resolve: (h) => {
          const served = { currency: h.currency, asOf: new Date(h.fetchedAt), stale: h.stale };
          return h.points.map((p) => ({ ...p, ...served }));
        },
      }),
      currency: t.field({
        type: enums.Currency,
        description: 'Currency of the prices.',
        resolve: (h) => h.currency,
      }),
      source: t.field({
        type: enums.Provider,
        description: 'COINGECKO.',
        resolve: () => 'coingecko' as const,
      }),
      asOf: t.field({
        type: 'DateTime',
        description: 'When these points were fetched from the provider.',
        resolve: (h) => new Date(h.fetchedAt),
      }),
      stale: t.exposeBoolean('stale', {
        description: 'True when served past its freshness window, e.g. because the provider is failing.',
      }),
    }),
  });

  const load = async (
    ctx: Context,
    assetId: string,
    currency: CurrencyValue,
    from: Date,
    to: Date,
  ): Promise<History> => {
    try {
      const cached = await ctx.services.priceHistory.range(assetId, currency, from, to);
      return {
        currency,
        fetchedAt: cached.fetchedAt,
        stale: cached.stale,
        points: cached.value.map((p) => ({
          at: p.at,
          value: p.price,
          volume24h: p.volume,
        })),
      };
    } catch (error) {
      throw toClientError(error);
    }
  };

  builder.objectField(Asset, 'priceHistory', (t) =>
    t.field({
      type: PriceHistory,
      nullable: true,
      extensions: { cost: 10 },
      description: `Prices over [from, to] (at most ${MAX_SPAN_DAYS} days, within the past ${MAX_SPAN_DAYS} days), from CoinGecko. Null with a coded error when the provider could not answer.`,
      args: {
        from: t.arg({
          type: 'DateTime',
          required: true,
          description: 'Start of the range, inclusive.',
          extensions: inputLimit(DATE_TIME),
        }),
        to: t.arg({
          type: 'DateTime',
          required: false,
          description: 'End of the range, inclusive; default and at most now.',
          extensions: inputLimit(DATE_TIME),
        }),
        currency: t.arg({
          type: enums.Currency,
          required: false,
          defaultValue: 'usd',
          description: 'Quote currency.',
        }),
      },
      resolve: async (asset, args, ctx) => {
        const now = ctx.services.now();
        const to = Math.min(args.to?.getTime() ?? now, now);
        const from = args.from.getTime();
        if (from >= to) throw badUserInput('from must be before to (and before now)', 'from');
        if (from < now - MAX_SPAN_DAYS * DAY)
          throw badUserInput(`from must be within the past ${MAX_SPAN_DAYS} days`, 'from');
        return load(ctx, asset.id, args.currency ?? 'usd', new Date(from), new Date(to));
      },
    }),
  );

  builder.objectField(Asset, 'priceAt', (t) =>
    t.field({
      type: PricePoint,
      nullable: true,
      extensions: { cost: 10 },
      description: `The price at a past instant (within the past ${MAX_SPAN_DAYS} days): the last CoinGecko point at or before it, at most an hour earlier. Null with NOT_FOUND when there is none, or a coded error when the provider could not answer.`,
      args: {
        at: t.arg({
          type: 'DateTime',
          required: true,
          description: 'The instant.',
          extensions: inputLimit(DATE_TIME),
        }),
        currency: t.arg({
          type: enums.Currency,
          required: false,
          defaultValue: 'usd',
          description: 'Quote currency.',
        }),
      },
      resolve: async (asset, args, ctx) => {
        const now = ctx.services.now();
        const at = args.at.getTime();
        if (at > now) throw badUserInput('at must not be in the future', 'at');
        if (at < now - MAX_SPAN_DAYS * DAY)
          throw badUserInput(`at must be within the past ${MAX_SPAN_DAYS} days`, 'at');
        const history = await load(
          ctx,
          asset.id,
          args.currency ?? 'usd',
          new Date(at - LOOKBACK_MS),
          new Date(at),
        );
        const point = history.points.at(-1);
        if (!point) throw notFound('a price in the hour before that instant for', asset.id);
        return {
          ...point,
          currency: history.currency,
          asOf: new Date(history.fetchedAt),
          stale: history.stale,
        };
      },
    }),
  );
}
