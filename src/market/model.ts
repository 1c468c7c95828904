// Vendor-neutral domain types. Sources map provider JSON into these; nothing above src/sources/ sees
// a vendor field name. Times are Date, amounts are JS numbers (float64 is enough for prices and
// supplies; hashrates ~1e20 stay within range, precision loss is below any displayed digit).

import type { ProviderName } from './providers.js';

export type { ProviderName };

/** Lower-case ISO code or crypto ticker used as a quote currency: 'usd', 'eur', 'btc', ... */
export type CurrencyCode = string;

/** Every currency the API quotes in (lower case, as the providers take them). */
export const CURRENCIES = ['usd', 'eur', 'gbp', 'jpy', 'chf', 'cad', 'aud', 'btc', 'eth'] as const;

export interface ContractAddress {
  /** Canonical chain slug: 'ethereum', 'binance-smart-chain', 'solana', 'arbitrum-one', ... */
  chain: string;
  address: string;
}

/** A provider's grouping of assets ('layer-1', 'stablecoins'); ids are CoinGecko's category ids. */
export interface AssetCategory {
  id: string;
  name: string;
}

export interface AssetInfo {
  /** Canonical id: the CoinGecko slug. */
  id: string;
  symbol: string;
  name: string;
  rank: number | null;
  logo: string | null;
  contracts: ContractAddress[];
}

export interface MarketData {
  assetId: string;
  currency: CurrencyCode;
  price: number;
  marketCap: number | null;
  volume24h: number | null;
  /** Percent, e.g. -2.5 for -2.5 %. */
  change24h: number | null;
  high24h: number | null;
  low24h: number | null;
  circulatingSupply: number | null;
  totalSupply: number | null;
  maxSupply: number | null;
  asOf: Date;
  source: ProviderName;
}

export interface Price {
  assetId: string;
  currency: CurrencyCode;
  value: number;
  /** Percent change over 24 h, null when the provider does not say. */
  change24h: number | null;
  asOf: Date;
  source: ProviderName;
  /** True when served from cache after the provider failed or the entry outlived its TTL. */
  stale: boolean;
  /** Aggregated prices only: (max − min) / value across the providers' quotes, in percent. */
  spread?: number;
  /** Aggregated prices only: the providers whose quotes went into the value. */
  sources?: ProviderName[];
}

export interface Candle {
  openTime: Date;
  closeTime: Date;
  open: number;
  high: number;
  low: number;
  close: number;
  /** Base-asset volume; null where the provider gives none (CoinGecko OHLC). */
  volume: number | null;
  source: ProviderName;
}

export type SignalDirection = 'BULLISH' | 'BEARISH' | 'NEUTRAL';

export interface Signal {
  id: string;
  assetId: string;
  kind: string;
  direction: SignalDirection;
  /** 0..1 */
  strength: number;
  generatedAt: Date;
  source: ProviderName;
  interval: string;
  rationale: string;
  /**
   * When the data the signal was computed from was current: when its candles were fetched (computed
   * signals; generatedAt is the close of the last one used), or the provider's own time.
   */
  asOf: Date;
  /** True when the data it was computed from was served from cache past its TTL. */
  stale: boolean;
}

export interface MetricPoint {
  at: Date;
  value: number;
}

export interface OnChainMetric {
  chain: string;
  kind: string;
  value: number;
  unit: string;
  asOf: Date;
  source: ProviderName;
  /** True when served from cache after the provider failed or the entry outlived its TTL. */
  stale: boolean;
  history: MetricPoint[] | null;
}
