// The one list of providers. Everything else that names them (config, the Provider and PriceSource
// enums, quote adapters, the sandbox's dialects) is typed by or built from these lists.

/** Providers marketgraph calls, in the order the Provider enum and the configuration list them. */
export const UPSTREAMS = [
  'coingecko',
  'binance',
  'defillama',
  'mempool',
  'tokenmetrics',
  'coincap',
  'etherscan',
] as const;
export type UpstreamName = (typeof UPSTREAMS)[number];

/** Provider names as they appear in `Price.source`, metrics and error extensions. */
export const PROVIDERS = [...UPSTREAMS, 'computed'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

/** Providers with spot quotes, in AUTO's configured preference order. */
export const QUOTE_PROVIDERS = [
  'coingecko',
  'binance',
  'coincap',
  'defillama',
] as const satisfies readonly UpstreamName[];
export type QuoteProvider = (typeof QUOTE_PROVIDERS)[number];
