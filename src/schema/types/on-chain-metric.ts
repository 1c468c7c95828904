import { badUserInput, notFound, toClientError } from '../../errors.js';
import type { MetricPoint, OnChainMetric } from '../../market/model.js';
import type { OnChainService } from '../../market/onchain.js';
import type { Builder } from '../builder.js';
import { CHAIN, DATE_TIME, inputLimit, METRIC_KIND, PROTOCOL_SLUG } from '../input-limits.js';
import { malformedNodeId } from '../node-id.js';
import type { AssetRefs } from './asset.js';
import type { Enums } from './enums.js';

// OnChainMetric: a chain-level number (fees, hashrate, gas, TVL, ...) with its unit and provenance.
// Query.onChainMetrics and Asset.onChainMetrics (for assets that are a chain's native coin).

export const CHAINS = ['bitcoin', 'ethereum'] as const;

const MAX_KINDS = 50;

/** Every kind a source produces (the sources' names; a kind missing here fails as an unknown enum value). */
export const ON_CHAIN_METRIC_KINDS = {
  FEE_FASTEST: 'Fee rate for the next block, in sat/vB (Bitcoin, mempool.space).',
  FEE_HALF_HOUR: 'Fee rate to confirm within about 30 minutes, in sat/vB (Bitcoin, mempool.space).',
  FEE_HOUR: 'Fee rate to confirm within about an hour, in sat/vB (Bitcoin, mempool.space).',
  FEE_ECONOMY: 'Fee rate for unhurried transactions, in sat/vB (Bitcoin, mempool.space).',
  FEE_MINIMUM: 'Lowest fee rate the mempool accepts, in sat/vB (Bitcoin, mempool.space).',
  HASHRATE: 'Network hashrate in H/s, with history over the past month (Bitcoin, mempool.space).',
  DIFFICULTY:
    'Mining difficulty (a plain number: unit is empty), with its value at each past adjustment (Bitcoin, mempool.space).',
  NEXT_DIFFICULTY_ADJUSTMENT:
    'Estimated difficulty change at the next adjustment, in percent (Bitcoin, mempool.space).',
  MEMPOOL_SIZE: 'Size of the unconfirmed transactions, in vB (Bitcoin, mempool.space).',
  MEMPOOL_TX_COUNT: 'Number of unconfirmed transactions, unit tx (Bitcoin, mempool.space).',
  MEMPOOL_TOTAL_FEE: 'Fees offered by all unconfirmed transactions, in sat (Bitcoin, mempool.space).',
  BLOCK_HEIGHT: 'Height of the chain tip, in blocks (Bitcoin, mempool.space).',
  GAS_SAFE: 'Gas price likely to be included without hurry, in gwei (Ethereum, Etherscan; needs a key).',
  GAS_PROPOSE: 'Standard gas price, in gwei (Ethereum, Etherscan; needs a key).',
  GAS_FAST: 'Gas price for fast inclusion, in gwei (Ethereum, Etherscan; needs a key).',
  GAS_BASE_FEE: 'Suggested base fee of the next block, in gwei (Ethereum, Etherscan; needs a key).',
  TVL: 'Total value locked in DeFi on the chain (chain "all": across chains), in USD, with daily history (DefiLlama).',
  STABLECOIN_SUPPLY:
    'Circulating supply of all stablecoins, in USD, with daily history (chain "all", DefiLlama).',
  PROTOCOL_TVL:
    "A DeFi protocol's total value locked, in USD, with daily history (Query.protocolTvl, DefiLlama).",
} as const;
export type OnChainMetricKind = keyof typeof ON_CHAIN_METRIC_KINDS;

/** A history point as served: with its series' provenance. */
type ServedPoint = MetricPoint & Pick<OnChainMetric, 'asOf' | 'source' | 'stale'>;

/** What the resolvers hand to the type: a metric, plus the protocol slug of a PROTOCOL_TVL (its id needs it). */
type MetricShape = OnChainMetric & { protocol?: string };

/** What an OnChainMetric's node id names: one kind on one chain (or of one protocol), not one reading. */
interface MetricKey {
  kind: OnChainMetricKind;
  /** The chain, or the protocol slug for PROTOCOL_TVL. */
  scope: string;
}

function keyOf(m: MetricShape): string {
  return `${m.kind}:${m.kind === 'PROTOCOL_TVL' && m.protocol ? m.protocol : m.chain}`;
}

function parseMetricKey(id: string): MetricKey {
  const i = id.indexOf(':');
  const kind = id.slice(0, i);
  const scope = id.slice(i + 1);
  if (
    i < 0 ||
    !(kind in ON_CHAIN_METRIC_KINDS) ||
    scope.trim() === '' ||
    scope.length > 80 ||
    (kind === 'PROTOCOL_TVL' && !PROTOCOL_SLUG.pattern!.test(scope))
  ) {
    throw malformedNodeId(
      'OnChainMetric',
      id,
      '<OnChainMetricKind>:<chain, or protocol slug for PROTOCOL_TVL>',
    );
  }
  return { kind: kind as OnChainMetricKind, scope };
}

export function addOnChainMetric(builder: Builder, enums: Enums, refs: AssetRefs) {
  const Point = builder.objectRef<ServedPoint>('MetricPoint').implement({
    description:
      "One past value of a metric, in the metric's unit, with the provenance of the answer it came in.",
    fields: (t) => ({
      at: t.expose('at', { type: 'DateTime', description: 'When the value held.' }),
      value: t.exposeFloat('value', { description: "In the metric's `unit`." }),
      asOf: t.expose('asOf', {
        type: 'DateTime',
        description: "When the series this point came in was current: its metric's `asOf`.",
      }),
      source: t.expose('source', { type: enums.Provider, description: 'Provider of the series.' }),
      stale: t.exposeBoolean('stale', {
        description: 'True when served past its freshness window, e.g. because the provider is failing.',
      }),
    }),
  });

  const Kind = builder.enumType('OnChainMetricKind', {
    description: 'What an on-chain metric measures; each value names its unit and provider.',
    values: Object.fromEntries(
      Object.entries(ON_CHAIN_METRIC_KINDS).map(([kind, description]) => [kind, { description }]),
    ) as Record<OnChainMetricKind, { description: string }>,
  });

  const Metric = builder.node(builder.objectRef<MetricShape>('OnChainMetric'), {
    description: 'A chain-level number (fees, hashrate, gas, TVL, ...) with its unit and provenance.',
    id: {
      resolve: keyOf,
      parse: parseMetricKey,
      description:
        'Names this kind of metric on this chain ("OnChainMetric:FEE_FASTEST:bitcoin", "OnChainMetric:PROTOCOL_TVL:lido"); node(id:) gives its current value.',
    },
    loadMany: (keys, ctx) =>
      Promise.all(keys.map((key) => loadMetric(ctx.services.onchain, key))) as Promise<MetricShape[]>,
    fields: (t) => ({
      chain: t.exposeString('chain', {
        description:
          'Chain measured: "bitcoin", "ethereum", a DefiLlama chain slug for TVL, or "all" for totals across chains (TVL, STABLECOIN_SUPPLY, PROTOCOL_TVL).',
      }),
      kind: t.field({
        type: Kind,
        description: 'What is measured.',
        resolve: (m) => m.kind as OnChainMetricKind,
      }),
      value: t.exposeFloat('value', { description: 'Current value, in `unit`.' }),
      unit: t.exposeString('unit', {
        description:
          'Unit of value and history: sat/vB, H/s, blocks, vB, tx, sat, %, gwei or USD; empty for DIFFICULTY.',
      }),
      asOf: t.expose('asOf', {
        type: 'DateTime',
        description: "When the value held: the provider's own time where it gives one, else when we asked.",
      }),
      source: t.expose('source', { type: enums.Provider, description: 'Provider of the value.' }),
      stale: t.exposeBoolean('stale', {
        description: 'True when served past its freshness window, e.g. because the provider is failing.',
      }),
      history: t.field({
        type: [Point],
        nullable: true,
        description:
          'Past values in [from, to] (each bound optional), oldest first, where the provider has them; null otherwise.',
        args: {
          from: t.arg({
            type: 'DateTime',
            required: false,
            description: 'Only values at or after this instant.',
            extensions: inputLimit(DATE_TIME),
          }),
          to: t.arg({
            type: 'DateTime',
            required: false,
            description: 'Only values at or before this instant.',
            extensions: inputLimit(DATE_TIME),
          }),
        },
        resolve: (m, { from, to }) => {
          if (from && to && from.getTime() > to.getTime())
            throw badUserInput('from must not be after to', 'from');
          if (!m.history) return null;
          const lo = from?.getTime() ?? -Infinity;
          const hi = to?.getTime() ?? Infinity;
          const served = { asOf: m.asOf, source: m.source, stale: m.stale };
          return m.history
            .filter((p) => p.at.getTime() >= lo && p.at.getTime() <= hi)
            .map((p) => ({ ...p, ...served }));
        },
      }),
    }),
  });

  builder.queryField('onChainMetrics', (t) =>
    t.field({
      type: [Metric],
      nullable: { list: true, items: true },
      description:
        'Metrics of one chain. A failing provider leaves null entries with a coded error for its metrics; the others still resolve.',
      args: {
        chain: t.arg.string({
          required: true,
          description:
            'bitcoin, ethereum, all (DeFi totals), or a DefiLlama chain name for TVL; any other chain is NOT_FOUND, with the known chains in extensions.knownChains.',
          extensions: inputLimit(CHAIN),
        }),
        kinds: t.arg({
          type: [Kind],
          required: false,
          description:
            'Only these kinds (default: every kind the chain has); kinds the chain lacks are left out.',
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
        return { ...metric, protocol: args.slug };
      },
    }),
  );

  builder.objectField(refs.Asset, 'onChainMetrics', (t) =>
    t.field({
      type: [Metric],
      nullable: { list: false, items: true },
      description: 'Metrics of the chain whose native coin this asset is; empty for tokens.',
      args: {
        kinds: t.arg({
          type: [Kind],
          required: false,
          description:
            'Only these kinds (default: every kind the chain has); kinds the chain lacks are left out.',
          extensions: inputLimit(METRIC_KIND, { maxItems: MAX_KINDS }),
        }),
      },
      resolve: async (asset, args, ctx) =>
        asListItems(await ctx.services.onchain.forAsset(asset.id, args.kinds ?? undefined)),
    }),
  );
  return { OnChainMetric: Metric, OnChainMetricKind: Kind };
}

/** node(id:) of an OnChainMetric: its current value, the provider's failure, or NOT_FOUND. */
async function loadMetric(onchain: OnChainService, key: MetricKey): Promise<MetricShape | Error> {
  try {
    if (key.kind === 'PROTOCOL_TVL') {
      const metric = await onchain.forProtocol(key.scope);
      return metric ? { ...metric, protocol: key.scope } : notFound('protocol', key.scope);
    }
    const found = await onchain.forChain(key.scope, [key.kind]);
    const metric = found.find((m): m is OnChainMetric => !(m instanceof Error) && m.kind === key.kind);
    if (metric) return metric;
    const failure = found.find((m): m is Error => m instanceof Error);
    return failure ? toClientError(failure) : notFound('on-chain metric', `${key.kind}:${key.scope}`);
  } catch (error) {
    return toClientError(error);
  }
}

/** graphql-js turns an Error list item into a null entry plus an error with its path: partial data. */
function asListItems(items: Array<OnChainMetric | Error>): OnChainMetric[] {
  return items as OnChainMetric[];
}
