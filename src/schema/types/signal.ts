import { badUserInput } from '../../errors.js';
import type { Signal } from '../../model.js';
import type { Builder } from '../builder.js';
import { ASSET_ID, ENUM_LIST, inputLimit } from '../input-limits.js';
import type { AssetRefs } from './asset.js';
import type { Enums } from './enums.js';

// Signal: a directional call about an asset, computed from its candles or reported by a provider
// (Token Metrics), always with the inputs that produced it. Query.signals and Asset.signals.

export const SIGNAL_KINDS = [
  'SMA_CROSSOVER',
  'RSI',
  'MACD_CROSSOVER',
  'RANGE_BREAKOUT',
  'VOLATILITY_REGIME',
  'TM_TRADING_SIGNAL',
  'TM_TRADER_GRADE',
  'TM_INVESTOR_GRADE',
] as const;

const MAX_ASSETS = 50;

export function addSignal(builder: Builder, enums: Enums, refs: AssetRefs) {
  const Direction = builder.enumType('SignalDirection', {
    values: ['BULLISH', 'BEARISH', 'NEUTRAL'] as const,
  });
  const Kind = builder.enumType('SignalKind', { values: SIGNAL_KINDS });

  const SignalRef = builder.objectRef<Signal>('Signal').implement({
    fields: (t) => ({
      id: t.exposeID('id'),
      assetId: t.exposeID('assetId'),
      kind: t.field({ type: Kind, resolve: (s) => s.kind as (typeof SIGNAL_KINDS)[number] }),
      direction: t.expose('direction', { type: Direction }),
      strength: t.exposeFloat('strength', { description: '0 (weak) to 1 (strong).' }),
      generatedAt: t.expose('generatedAt', {
        type: 'DateTime',
        description: 'Close time of the data the signal was computed from.',
      }),
      source: t.expose('source', { type: enums.Provider }),
      interval: t.exposeString('interval', { description: 'Candle interval the signal reads, e.g. 1d.' }),
      rationale: t.exposeString('rationale', { description: 'One line naming the inputs and their values.' }),
    }),
  });

  builder.objectField(refs.Asset, 'signals', (t) =>
    t.field({
      type: [SignalRef],
      nullable: { list: false, items: true },
      extensions: { cost: 10 },
      args: {
        interval: t.arg({ type: enums.CandleInterval, required: false, defaultValue: '1d' }),
        kinds: t.arg({
          type: [Kind],
          required: false,
          description: 'Only these kinds (default: all available).',
          extensions: inputLimit(ENUM_LIST),
        }),
      },
      resolve: async (asset, a, ctx) =>
        asListItems(
          await ctx.services.signals.forAsset(ctx, asset.id, a.interval ?? '1d', a.kinds ?? undefined),
        ),
    }),
  );

  builder.queryField('signals', (t) =>
    t.field({
      type: [SignalRef],
      nullable: { list: false, items: true },
      extensions: { cost: 10 },
      args: {
        assetIds: t.arg.idList({
          required: true,
          extensions: inputLimit(ASSET_ID, { maxItems: MAX_ASSETS }),
        }),
        interval: t.arg({ type: enums.CandleInterval, required: false, defaultValue: '1d' }),
        kinds: t.arg({
          type: [Kind],
          required: false,
          description: 'Only these kinds (default: all available).',
          extensions: inputLimit(ENUM_LIST),
        }),
      },
      resolve: async (_root, a, ctx) => {
        const ids = [...new Set(a.assetIds.map(String))];
        if (ids.length === 0 || ids.length > MAX_ASSETS) {
          throw badUserInput(`assetIds must name 1 to ${MAX_ASSETS} assets, got ${ids.length}`, 'assetIds');
        }
        const lists = await Promise.all(
          ids.map((id) => ctx.services.signals.forAsset(ctx, id, a.interval ?? '1d', a.kinds ?? undefined)),
        );
        return asListItems(lists.flat());
      },
    }),
  );
  return { Signal: SignalRef };
}

/** graphql-js turns an Error list item into a null entry plus an error with its path: partial data. */
function asListItems(items: Array<Signal | Error>): Signal[] {
  return items as Signal[];
}
