import { hasScope } from '../../auth/client.js';
import type { Context } from '../../context.js';
import { notFound, toClientError } from '../../errors.js';
import type { Signal } from '../../market/model.js';
import type { Builder } from '../builder.js';
import { ASSET_ID, distinctAssetIds, ENUM_LIST, inputLimit } from '../input-limits.js';
import { malformedNodeId } from '../node-id.js';
import type { AssetRefs } from './asset.js';
import { CANDLE_INTERVALS, type Enums } from './enums.js';

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

const KIND_DESCRIPTIONS: Record<(typeof SIGNAL_KINDS)[number], string> = {
  SMA_CROSSOVER:
    'SMA(20) against SMA(50) of closes: fast above slow BULLISH, below BEARISH. Strength 1 at a gap of 5 % or more.',
  RSI: "Wilder's RSI(14): above 70 (overbought) BEARISH, below 30 (oversold) BULLISH, else NEUTRAL.",
  MACD_CROSSOVER:
    'MACD(12, 26, 9) histogram sign: positive BULLISH, negative BEARISH. Strength 1 at a histogram of 1 % of the price.',
  RANGE_BREAKOUT:
    'Last close against the high-low range of the 20 candles before it: above BULLISH, below BEARISH, inside NEUTRAL.',
  VOLATILITY_REGIME:
    'Realised volatility of the last 20 returns against the last 100; always NEUTRAL, the rationale names the regime (high, normal, low).',
  TM_TRADING_SIGNAL: 'Token Metrics daily trading signal (needs a Token Metrics key; D1 only).',
  TM_TRADER_GRADE:
    'Token Metrics trader grade (0-100): 65 or more BULLISH, 35 or less BEARISH (needs a key; D1 only).',
  TM_INVESTOR_GRADE:
    'Token Metrics investor grade (0-100): 65 or more BULLISH, 35 or less BEARISH (needs a key; D1 only).',
};

const MAX_ASSETS = 50;

const COMPUTED_KINDS: readonly string[] = SIGNAL_KINDS.filter((k) => !k.startsWith('TM_'));

/**
 * The kinds to ask for when the caller named none: all of them, but not the licensed ones for a caller
 * who may not see them (their provider's quota is not spent on answers that would be refused).
 * Kinds named explicitly are asked for, and a licensed one is refused with FORBIDDEN (see above).
 */
function defaultKinds(ctx: Context): readonly string[] | undefined {
  return ctx.client === undefined || hasScope(ctx.client, 'signals:licensed') ? undefined : COMPUTED_KINDS;
}

/** What a Signal's node id names: the signal of one kind for one asset at one interval, not one computation. */
interface SignalKey {
  assetId: string;
  kind: string;
  interval: string;
}

const INTERVAL_VALUES: readonly string[] = Object.values(CANDLE_INTERVALS).map((i) => i.value);

function parseSignalKey(id: string): SignalKey {
  const [assetId, kind, interval, ...rest] = id.split(':');
  if (
    !assetId ||
    !kind ||
    !interval ||
    rest.length > 0 ||
    !(SIGNAL_KINDS as readonly string[]).includes(kind) ||
    !INTERVAL_VALUES.includes(interval)
  ) {
    throw malformedNodeId('Signal', id, '<asset id>:<SignalKind>:<interval, e.g. 1d>');
  }
  return { assetId, kind, interval };
}

export function addSignal(builder: Builder, enums: Enums, refs: AssetRefs) {
  const Direction = builder.enumType('SignalDirection', {
    description: 'Which way a signal leans.',
    values: {
      BULLISH: { description: 'Points to a rising price.' },
      BEARISH: { description: 'Points to a falling price.' },
      NEUTRAL: { description: 'Points neither way (or, for VOLATILITY_REGIME, has no direction).' },
    } as const,
  });
  const Kind = builder.enumType('SignalKind', {
    description:
      'What a signal reads. Computed kinds work for every asset with enough candles; TM_* kinds come from Token Metrics.',
    values: Object.fromEntries(SIGNAL_KINDS.map((k) => [k, { description: KIND_DESCRIPTIONS[k] }])) as Record<
      (typeof SIGNAL_KINDS)[number],
      { description: string }
    >,
  });

  const SignalRef = builder.node(builder.objectRef<Signal>('Signal'), {
    // Token Metrics data is licensed: only callers with signals:licensed see it. Checked where a Signal
    // is returned, so a refused one is a null entry with its error and the rest of the list is served.
    runScopesOnType: true,
    authScopes: (signal) => (signal.source === 'tokenmetrics' ? { signalsLicensed: true } : true),
    description:
      'A directional call about an asset, with the inputs that produced it: computed from its candles (source COMPUTED) or published by Token Metrics.',
    id: {
      // One id per (asset, kind, interval): refetching it, or a signalChanged event, updates the same object.
      resolve: (s) => `${s.assetId}:${s.kind}:${s.interval}`,
      parse: parseSignalKey,
      description:
        'Names the signal of this kind for this asset and interval ("Signal:bitcoin:RSI:1d"); node(id:) gives its current value.',
    },
    loadMany: (keys, ctx) =>
      Promise.all(
        keys.map(async (key): Promise<Signal | Error> => {
          try {
            await ctx.loaders.asset.load(key.assetId);
            const found = await ctx.services.signals.forAsset(ctx.loaders, key.assetId, key.interval, [
              key.kind,
            ]);
            const signal = found.find((s): s is Signal => !(s instanceof Error) && s.kind === key.kind);
            if (signal) return signal;
            // A source that failed is reported as such, never as a missing signal.
            const failure = found.find((s): s is Error => s instanceof Error);
            return failure
              ? toClientError(failure)
              : notFound('signal', `${key.assetId}:${key.kind}:${key.interval}`);
          } catch (error) {
            return toClientError(error);
          }
        }),
      ) as Promise<Signal[]>,
    fields: (t) => ({
      assetId: t.exposeID('assetId', { description: 'Canonical id of the asset, e.g. "bitcoin".' }),
      kind: t.field({
        type: Kind,
        description: 'What the signal reads.',
        resolve: (s) => s.kind as (typeof SIGNAL_KINDS)[number],
      }),
      direction: t.expose('direction', { type: Direction, description: 'Which way it leans.' }),
      strength: t.exposeFloat('strength', { description: '0 (weak) to 1 (strong).' }),
      generatedAt: t.expose('generatedAt', {
        type: 'DateTime',
        description: 'Close time of the data the signal was computed from.',
      }),
      source: t.expose('source', {
        type: enums.Provider,
        description: 'COMPUTED (from candles) or TOKENMETRICS.',
      }),
      interval: t.exposeString('interval', { description: 'Candle interval the signal reads, e.g. 1d.' }),
      rationale: t.exposeString('rationale', { description: 'One line naming the inputs and their values.' }),
      asOf: t.expose('asOf', {
        type: 'DateTime',
        description:
          "When the data it was computed from was current: when its candles were fetched (COMPUTED; `generatedAt` is the close of the last candle used), or Token Metrics' own date.",
      }),
      stale: t.exposeBoolean('stale', {
        description:
          'True when the data it was computed from was served past its freshness window, e.g. because the provider is failing.',
      }),
    }),
  });

  builder.objectField(refs.Asset, 'signals', (t) =>
    t.field({
      type: [SignalRef],
      nullable: { list: false, items: true },
      description:
        'Current signals of this asset. A kind without enough candles is left out; a failing source leaves a null entry with a coded error.',
      args: {
        interval: t.arg({
          type: enums.CandleInterval,
          required: false,
          defaultValue: '1d',
          description: 'Candle interval the signals read.',
        }),
        kinds: t.arg({
          type: [Kind],
          required: false,
          description: 'Only these kinds (default: all available).',
          extensions: inputLimit(ENUM_LIST),
        }),
      },
      resolve: async (asset, a, ctx) =>
        asListItems(
          await ctx.services.signals.forAsset(
            ctx.loaders,
            asset.id,
            a.interval ?? '1d',
            a.kinds ?? defaultKinds(ctx),
          ),
        ),
    }),
  );

  builder.queryField('signals', (t) =>
    t.field({
      type: [SignalRef],
      nullable: { list: true, items: true },
      description:
        'Current signals of several assets, asset by asset. A kind without enough candles is left out; a failing source leaves a null entry with a coded error, an unknown asset id a null entry with NOT_FOUND.',
      args: {
        assetIds: t.arg.idList({
          required: true,
          description: `Canonical ids of the assets, 1 to ${MAX_ASSETS}.`,
          extensions: inputLimit(ASSET_ID, { maxItems: MAX_ASSETS }),
        }),
        interval: t.arg({
          type: enums.CandleInterval,
          required: false,
          defaultValue: '1d',
          description: 'Candle interval the signals read.',
        }),
        kinds: t.arg({
          type: [Kind],
          required: false,
          description: 'Only these kinds (default: all available).',
          extensions: inputLimit(ENUM_LIST),
        }),
      },
      resolve: async (_root, a, ctx) => {
        const ids = distinctAssetIds(a.assetIds, MAX_ASSETS);
        // An id no catalogue lists is NOT_FOUND, not a failed candle call; with the catalogue itself
        // failing nothing is ruled unknown (an outage is never NOT_FOUND) and every id is tried.
        const known = await ctx.services.registry.list().then(
          (assets) => new Set(assets.map((asset) => asset.id)),
          () => undefined,
        );
        const lists = await Promise.all(
          ids.map((id) =>
            known && !known.has(id)
              ? [notFound('asset', id)]
              : ctx.services.signals.forAsset(
                  ctx.loaders,
                  id,
                  a.interval ?? '1d',
                  a.kinds ?? defaultKinds(ctx),
                ),
          ),
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
