/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
/** Candle length. Candles open on UTC boundaries of their length (weeks on Mondays). */
export type CandleInterval =
  /** 1 day (1d). */
  | 'D1'
  /** 1 hour (1h). */
  | 'H1'
  /** 4 hours (4h). */
  | 'H4'
  /** 1 minute (1m). */
  | 'M1'
  /** 5 minutes (5m). */
  | 'M5'
  /** 15 minutes (15m). */
  | 'M15'
  /** 30 minutes (30m). */
  | 'M30'
  /** 1 week (1w). */
  | 'W1';

/** Quote currency. Fiat codes are ISO 4217; BTC and ETH quote in the coin itself. */
export type Currency =
  /** Australian dollar */
  | 'AUD'
  /** Bitcoin: amounts in BTC */
  | 'BTC'
  /** Canadian dollar */
  | 'CAD'
  /** Swiss franc */
  | 'CHF'
  /** Ether: amounts in ETH */
  | 'ETH'
  /** Euro */
  | 'EUR'
  /** Pound sterling */
  | 'GBP'
  /** Japanese yen */
  | 'JPY'
  /** US dollar */
  | 'USD';

/** Where a value came from. COMPUTED values are derived by marketgraph from provider data. */
export type Provider =
  /** Binance spot market (USDT pairs taken as USD: prices, klines, live tickers). */
  | 'BINANCE'
  /** CoinCap v3 (spot prices; needs a key). */
  | 'COINCAP'
  /** CoinGecko (catalogue, markets, spot prices, OHLC candles, FX). */
  | 'COINGECKO'
  /** Derived by marketgraph from provider data (signals from candles, median prices, aggregated candles). */
  | 'COMPUTED'
  /** DefiLlama (spot prices by contract, TVL, stablecoin supply). */
  | 'DEFILLAMA'
  /** Etherscan (Ethereum gas oracle; needs a key). */
  | 'ETHERSCAN'
  /** mempool.space (Bitcoin fees, hashrate, difficulty, mempool, block height). */
  | 'MEMPOOL'
  /** Token Metrics (trading signals and grades; needs a key). */
  | 'TOKENMETRICS';

/** Which way a signal leans. */
export type SignalDirection =
  /** Points to a falling price. */
  | 'BEARISH'
  /** Points to a rising price. */
  | 'BULLISH'
  /** Points neither way (or, for VOLATILITY_REGIME, has no direction). */
  | 'NEUTRAL';

/** What a signal reads. Computed kinds work for every asset with enough candles; TM_* kinds come from Token Metrics. */
export type SignalKind =
  /** MACD(12, 26, 9) histogram sign: positive BULLISH, negative BEARISH. Strength 1 at a histogram of 1 % of the price. */
  | 'MACD_CROSSOVER'
  /** Last close against the high-low range of the 20 candles before it: above BULLISH, below BEARISH, inside NEUTRAL. */
  | 'RANGE_BREAKOUT'
  /** Wilder's RSI(14): above 70 (overbought) BEARISH, below 30 (oversold) BULLISH, else NEUTRAL. */
  | 'RSI'
  /** SMA(20) against SMA(50) of closes: fast above slow BULLISH, below BEARISH. Strength 1 at a gap of 5 % or more. */
  | 'SMA_CROSSOVER'
  /** Token Metrics investor grade (0-100): 65 or more BULLISH, 35 or less BEARISH (needs a key; D1 only). */
  | 'TM_INVESTOR_GRADE'
  /** Token Metrics trader grade (0-100): 65 or more BULLISH, 35 or less BEARISH (needs a key; D1 only). */
  | 'TM_TRADER_GRADE'
  /** Token Metrics daily trading signal (needs a Token Metrics key; D1 only). */
  | 'TM_TRADING_SIGNAL'
  /** Realised volatility of the last 20 returns against the last 100; always NEUTRAL, the rationale names the regime (high, normal, low). */
  | 'VOLATILITY_REGIME';

export type AssetDetailQueryVariables = Exact<{
  id: string | number;
  from?: string | null | undefined;
  interval: CandleInterval;
}>;


export type AssetDetailQuery = { asset: { id: string, symbol: string, name: string, rank: number | null, contracts: Array<{ chain: string, address: string }>, market: { price: number, marketCap: number | null, volume24h: number | null, change24h: number | null, high24h: number | null, low24h: number | null, circulatingSupply: number | null, asOf: string, source: Provider, stale: boolean } | null, candles: { edges: Array<{ node: { openTime: string, closeTime: string, open: number, high: number, low: number, close: number, volume: number | null, source: Provider } }>, gaps: Array<{ from: string, to: string }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } | null, signals: Array<{ kind: SignalKind, direction: SignalDirection, strength: number, rationale: string, generatedAt: string, source: Provider } | null> } | null };

export type TopAssetsQueryVariables = Exact<{
  first: number;
  currency: Currency;
}>;


export type TopAssetsQuery = { assets: { edges: Array<{ node: { id: string, symbol: string, price: { value: number, currency: Currency, asOf: string, source: Provider } | null } }> } };


export const AssetDetailDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"AssetDetail"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"from"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"DateTime"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"interval"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CandleInterval"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"asset"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"by"},"value":{"kind":"ObjectValue","fields":[{"kind":"ObjectField","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}]}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"symbol"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"rank"}},{"kind":"Field","name":{"kind":"Name","value":"contracts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"chain"}},{"kind":"Field","name":{"kind":"Name","value":"address"}}]}},{"kind":"Field","name":{"kind":"Name","value":"market"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"currency"},"value":{"kind":"EnumValue","value":"USD"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"price"}},{"kind":"Field","name":{"kind":"Name","value":"marketCap"}},{"kind":"Field","name":{"kind":"Name","value":"volume24h"}},{"kind":"Field","name":{"kind":"Name","value":"change24h"}},{"kind":"Field","name":{"kind":"Name","value":"high24h"}},{"kind":"Field","name":{"kind":"Name","value":"low24h"}},{"kind":"Field","name":{"kind":"Name","value":"circulatingSupply"}},{"kind":"Field","name":{"kind":"Name","value":"asOf"}},{"kind":"Field","name":{"kind":"Name","value":"source"}},{"kind":"Field","name":{"kind":"Name","value":"stale"}}]}},{"kind":"Field","name":{"kind":"Name","value":"candles"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"interval"},"value":{"kind":"Variable","name":{"kind":"Name","value":"interval"}}},{"kind":"Argument","name":{"kind":"Name","value":"from"},"value":{"kind":"Variable","name":{"kind":"Name","value":"from"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"openTime"}},{"kind":"Field","name":{"kind":"Name","value":"closeTime"}},{"kind":"Field","name":{"kind":"Name","value":"open"}},{"kind":"Field","name":{"kind":"Name","value":"high"}},{"kind":"Field","name":{"kind":"Name","value":"low"}},{"kind":"Field","name":{"kind":"Name","value":"close"}},{"kind":"Field","name":{"kind":"Name","value":"volume"}},{"kind":"Field","name":{"kind":"Name","value":"source"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"gaps"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"from"}},{"kind":"Field","name":{"kind":"Name","value":"to"}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"signals"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"direction"}},{"kind":"Field","name":{"kind":"Name","value":"strength"}},{"kind":"Field","name":{"kind":"Name","value":"rationale"}},{"kind":"Field","name":{"kind":"Name","value":"generatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"source"}}]}}]}}]}}]} as unknown as DocumentNode<AssetDetailQuery, AssetDetailQueryVariables>;
export const TopAssetsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"TopAssets"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"currency"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Currency"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"assets"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"symbol"}},{"kind":"Field","name":{"kind":"Name","value":"price"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"currency"},"value":{"kind":"Variable","name":{"kind":"Name","value":"currency"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"value"}},{"kind":"Field","name":{"kind":"Name","value":"currency"}},{"kind":"Field","name":{"kind":"Name","value":"asOf"}},{"kind":"Field","name":{"kind":"Name","value":"source"}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<TopAssetsQuery, TopAssetsQueryVariables>;