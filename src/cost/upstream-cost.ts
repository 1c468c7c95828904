import type { Config } from '../config.js';
import { intervalMs } from '../market/intervals.js';
import { QUOTE_PROVIDERS, type QuoteProvider } from '../market/quotes.js';
import { BINANCE_SYMBOLS_PER_CALL, MAX_KLINES } from '../sources/binance.js';
import { MAX_IDS as COINCAP_IDS_PER_CALL } from '../sources/coincap.js';
import { COINGECKO_IDS_PER_CALL } from '../sources/coingecko.js';
import { DEFILLAMA_COINS_PER_CALL } from '../sources/defillama.js';
import { IDS_PER_CALL as TOKENMETRICS_IDS_PER_CALL } from '../sources/tokenmetrics.js';

// What each field can make us ask of providers, in upstream calls, for `parents` objects of its parent
// type with the field's arguments: the cost model of plugins/use-limits.ts (docs/architecture.md,
// "An honest cost model"). Batched fields cost one call per batch of the provider's real batch size
// (exported by src/sources/), per distinct argument set (an alias with another currency is another
// call); fields that need a call per parent (a candle window, a chain's metrics) cost that per parent.
// The figure is for a cold cache on the first provider asked: an upper bound of what the request
// can spend, never a guess at what the cache will save. Fields absent here cost nothing upstream.

export type Args = Readonly<Record<string, unknown>>;

export interface FieldCost {
  /** Upstream calls for `parents` objects of the parent type. */
  calls(args: Args, parents: number): number;
  /** Objects each parent yields for the children's count (lists and connections); 1 when absent. */
  items?(args: Args): number;
}

export interface CostModelOptions {
  config: Pick<Config, 'providers'>;
  /** Page size of connections queried without `first` / `ids`. */
  defaultPageSize: number;
  /** Larger pages are refused by the resolvers (BAD_USER_INPUT); counted at this size. */
  maxPageSize: number;
  now?: () => number;
}

/** Candles in a window queried without from/to (src/schema/types/candle.ts). */
const DEFAULT_WINDOW_CANDLES = 30;
const MAX_WINDOW_CANDLES = 10_000;
/** Signals read one window of at most this many candles per asset (src/signals/compute.ts FULL_CANDLES). */
const SIGNAL_WINDOW_CANDLES = MAX_KLINES;
/** Token Metrics endpoints asked per batch of assets (trading signals, trader and investor grades). */
const TOKENMETRICS_ENDPOINTS = 3;
/** Alternatives one asset's sameSymbol lists, at most, for the children's count. */
const SAME_SYMBOL_ITEMS = 10;
/** Calls per chain: mempool.space groups + DefiLlama TVL for bitcoin, Etherscan gas + TVL for ethereum, ... */
const CHAIN_CALLS: Readonly<Record<string, number>> = { bitcoin: 6, ethereum: 2, all: 2 };
/** Any other chain: its TVL row, read from the chains list. */
const OTHER_CHAIN_CALLS = 1;

const BATCH: Readonly<Record<QuoteProvider, number>> = {
  coingecko: COINGECKO_IDS_PER_CALL,
  binance: BINANCE_SYMBOLS_PER_CALL.tickerPrices,
  coincap: COINCAP_IDS_PER_CALL,
  defillama: DEFILLAMA_COINS_PER_CALL,
};
/** Providers that quote in USD only: another currency needs an exchange rate, one call per currency. */
const USD_ONLY: ReadonlySet<QuoteProvider> = new Set(['binance', 'coincap', 'defillama']);

export type CostTable = ReadonlyMap<string, FieldCost>;

/** The table, keyed by schema coordinate (`Type.field`); test/cost/upstream-cost.test.ts checks every key exists. */
export function upstreamCostTable(options: CostModelOptions): CostTable {
  const { config, defaultPageSize, maxPageSize } = options;
  const now = options.now ?? Date.now;
  const enabled = (p: QuoteProvider) => config.providers[p].enabled;
  const batches = (n: number, size: number) => (n <= 0 ? 0 : Math.ceil(n / size));
  const pageSize = (args: Args) =>
    clamp(
      (typeof args.first === 'number' ? args.first : undefined) ??
        (Array.isArray(args.ids) ? args.ids.length : undefined) ??
        defaultPageSize,
      1,
      maxPageSize,
    );
  const currencyOf = (args: Args) => (typeof args.currency === 'string' ? args.currency : 'usd');
  const quoteCalls = (provider: QuoteProvider, currency: string, parents: number) =>
    batches(parents, BATCH[provider]) + (currency !== 'usd' && USD_ONLY.has(provider) ? 1 : 0);
  const everyProvider = (currency: string, parents: number) =>
    QUOTE_PROVIDERS.filter(enabled).reduce((sum, p) => sum + quoteCalls(p, currency, parents), 0);
  const windowCandles = (args: Args) => {
    const step = intervalMs(typeof args.interval === 'string' ? args.interval : '1d');
    const to = args.to instanceof Date ? Math.min(args.to.getTime(), now()) : now();
    if (!(args.from instanceof Date)) return DEFAULT_WINDOW_CANDLES;
    return clamp(Math.ceil((to - args.from.getTime()) / step), 1, MAX_WINDOW_CANDLES);
  };
  const signalCalls = (assets: number) =>
    assets * batches(SIGNAL_WINDOW_CANDLES, MAX_KLINES) +
    (config.providers.tokenmetrics.enabled
      ? TOKENMETRICS_ENDPOINTS * batches(assets, TOKENMETRICS_IDS_PER_CALL)
      : 0);
  const chainCalls = (chain: unknown) =>
    typeof chain === 'string' ? (CHAIN_CALLS[chain] ?? OTHER_CHAIN_CALLS) : OTHER_CHAIN_CALLS;
  const listLength = (value: unknown) => (Array.isArray(value) ? value.length : 0);

  return new Map<string, FieldCost>([
    // One markets page per batch of ids (or per page asked for).
    [
      'Query.assets',
      { calls: (args, parents) => parents * batches(pageSize(args), BATCH.coingecko), items: pageSize },
    ],
    // One markets page (of the ranking, or of the category's), unless a name search needs no figures.
    ['Query.searchAssets', { calls: (args, parents) => parents * searchMarketCalls(args) }],
    // Asset ids resolve from the registry; Signal and OnChainMetric ids cost what their fields do.
    [
      'Query.nodes',
      {
        calls: (args, parents) =>
          parents *
          (Array.isArray(args.ids)
            ? args.ids.filter((id) => typeof id === 'string' && id.includes(':')).length
            : 0),
        items: (args) => listLength(args.ids),
      },
    ],
    [
      'Query.node',
      { calls: (args, parents) => parents * (typeof args.id === 'string' && args.id.includes(':') ? 1 : 0) },
    ],
    [
      'Query.signals',
      {
        calls: (args, parents) => parents * signalCalls(listLength(args.assetIds)),
        items: (args) => listLength(args.assetIds),
      },
    ],
    ['Query.onChainMetrics', { calls: (args, parents) => parents * chainCalls(args.chain) }],
    ['Query.protocolTvl', { calls: (_args, parents) => parents }],
    // Batched across every asset of the answer, one batch set per currency and source.
    [
      'Asset.price',
      {
        calls(args, parents) {
          const currency = currencyOf(args);
          if (args.aggregate === 'median') return everyProvider(currency, parents);
          const source =
            typeof args.source === 'string' && args.source !== 'auto' ? args.source : 'coingecko';
          return quoteCalls(source as QuoteProvider, currency, parents);
        },
      },
    ],
    [
      'Asset.quotes',
      {
        calls: (args, parents) => everyProvider(currencyOf(args), parents),
        items: () => QUOTE_PROVIDERS.filter(enabled).length,
      },
    ],
    ['Asset.market', { calls: (_args, parents) => batches(parents, BATCH.coingecko) }],
    // Not batchable: one window per asset, split into calls of MAX_KLINES rows.
    [
      'Asset.candles',
      {
        calls: (args, parents) => parents * batches(windowCandles(args), MAX_KLINES),
        items: (args) =>
          Math.min(windowCandles(args), typeof args.first === 'number' ? args.first : MAX_KLINES),
      },
    ],
    ['Asset.signals', { calls: (_args, parents) => signalCalls(parents) }],
    // Only native coins have chain metrics; each chain is fetched once however many assets ask.
    [
      'Asset.onChainMetrics',
      {
        calls: (_args, parents) =>
          parents === 0 ? 0 : Math.max(...Object.values(CHAIN_CALLS)) + CHAIN_CALLS.ethereum! + parents,
      },
    ],
    // A subscription costs what its first answer does; later events come from the shared live feeds.
    [
      'Subscription.priceUpdated',
      {
        calls: (args, parents) =>
          parents * quoteCalls('coingecko', currencyOf(args), listLength(args.assetIds)),
      },
    ],
    [
      'Subscription.signalChanged',
      { calls: (args, parents) => parents * signalCalls(listLength(args.assetIds)) },
    ],
    ['Subscription.onChainMetricUpdated', { calls: (args, parents) => parents * chainCalls(args.chain) }],
    ['Asset.sameSymbol', { calls: () => 0, items: () => SAME_SYMBOL_ITEMS }],
  ]);
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(Math.max(n, min), max);
}

/** Query.searchAssets reads no market figures only for a name search with no range, category or order. */
function searchMarketCalls(args: Args): number {
  const filter = (args.filter ?? {}) as Record<string, unknown>;
  const text = typeof args.query === 'string' ? args.query.trim() : '';
  const ordered = typeof args.orderBy === 'string' && args.orderBy !== 'MARKET_CAP_DESC';
  const filtered = Object.values(filter).some((v) => v != null);
  return text && !ordered && !filtered ? 0 : 1;
}
