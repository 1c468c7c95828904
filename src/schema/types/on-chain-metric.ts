import { badUserInput, notFound } from '../../errors.js';
import type { MetricPoint, OnChainMetric } from '../../model.js';
import type { Builder } from '../builder.js';
import { CHAIN, inputLimit, METRIC_KIND, PROTOCOL_SLUG } from '../input-limits.js';
import type { AssetRefs } from './asset.js';
import type { Enums } from './enums.js';

// OnChainMetric: a chain-level number (fees, hashrate, gas, TVL, ...) with its unit and provenance.
// Query.onChainMetrics and Asset.onChainMetrics (for assets that are a chain's native coin).

export const CHAINS = ['bitcoin', 'ethereum'] as const;

const MAX_KINDS = 50;

export function addOnChainMetric(builder: Builder, enums: Enums, refs: AssetRefs) {
  const Point = builder.objectRef<MetricPoint>('MetricPoint').implement({
    fields: (t) => ({
      at: t.expose('at', { type: 'DateTime' }),
      value: t.exposeFloat('value'),
    }),
  });

  const Metric = builder.objectRef<OnChainMetric>('OnChainMetric').implement({
    fields: (t) => ({
      chain: t.exposeString('chain'),
      kind: t.exposeString('kind', {
        description: 'e.g. FEE_FASTEST, HASHRATE, BLOCK_HEIGHT, GAS_PROPOSE, TVL.',
      }),
      value: t.exposeFloat('value'),
      unit: t.exposeString('unit', { description: 'e.g. sat/vB, H/s, gwei, USD.' }),
      asOf: t.expose('asOf', { type: 'DateTime' }),
      source: t.expose('source', { type: enums.Provider }),
      history: t.field({
        type: [Point],
        nullable: true,
        description: 'Past values, oldest first, where the provider has them.',
        resolve: (m) => m.history,
      }),
    }),
  });

  builder.queryField('onChainMetrics', (t) =>
    t.field({
      type: [Metric],
      extensions: { cost: 5 },
      nullable: { list: false, items: true },
      description:
        'Metrics of one chain. A failing provider leaves null entries with a coded error for its metrics; the others still resolve.',
      args: {
        chain: t.arg.string({
          required: true,
          description: 'bitcoin, ethereum, or a DefiLlama chain name for TVL.',
          extensions: inputLimit(CHAIN),
        }),
        kinds: t.arg.stringList({
          required: false,
          extensions: inputLimit(METRIC_KIND, { maxItems: MAX_KINDS }),
        }),
      },
      resolve: async (_root, args, ctx) => {
        if (args.chain.trim() === '') throw badUserInput('chain must not be empty', 'chain');
        return asListItems(await ctx.services.onchain.forChain(args.chain, args.kinds ?? undefined));
      },
    }),
  );

  builder.queryField('protocolTvl', (t) =>
    t.field({
      type: Metric,
      nullable: true,
      description:
        "A DeFi protocol's total value locked (kind PROTOCOL_TVL, DefiLlama), with its daily history.",
      args: {
        slug: t.arg.string({
          required: true,
          description: 'DefiLlama protocol slug, e.g. aave-v3, lido.',
          extensions: inputLimit(PROTOCOL_SLUG),
        }),
      },
      resolve: async (_root, args, ctx) => {
        const metric = await ctx.services.onchain.forProtocol(args.slug);
        if (!metric) throw notFound('protocol', args.slug);
        return metric;
      },
    }),
  );

  builder.objectField(refs.Asset, 'onChainMetrics', (t) =>
    t.field({
      type: [Metric],
      extensions: { cost: 5 },
      nullable: { list: false, items: true },
      description: 'Metrics of the chain whose native coin this asset is; empty for tokens.',
      args: {
        kinds: t.arg.stringList({
          required: false,
          extensions: inputLimit(METRIC_KIND, { maxItems: MAX_KINDS }),
        }),
      },
      resolve: async (asset, args, ctx) =>
        asListItems(await ctx.services.onchain.forAsset(asset.id, args.kinds ?? undefined)),
    }),
  );
  return { OnChainMetric: Metric };
}

/** graphql-js turns an Error list item into a null entry plus an error with its path: partial data. */
function asListItems(items: Array<OnChainMetric | Error>): OnChainMetric[] {
  return items as OnChainMetric[];
}
