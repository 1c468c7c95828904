import type { Builder } from '../builder.js';

// Enums shared by several types. GraphQL names are ours; values are the internal codes.

export const CURRENCIES = ['usd', 'eur', 'gbp', 'jpy', 'chf', 'cad', 'aud', 'btc', 'eth'] as const;
export type CurrencyValue = (typeof CURRENCIES)[number];

export const CANDLE_INTERVALS = {
  M1: { value: '1m', ms: 60_000 },
  M5: { value: '5m', ms: 300_000 },
  M15: { value: '15m', ms: 900_000 },
  M30: { value: '30m', ms: 1_800_000 },
  H1: { value: '1h', ms: 3_600_000 },
  H4: { value: '4h', ms: 14_400_000 },
  D1: { value: '1d', ms: 86_400_000 },
  W1: { value: '1w', ms: 604_800_000 },
} as const;

export const PROVIDERS = [
  'coingecko',
  'binance',
  'defillama',
  'mempool',
  'tokenmetrics',
  'coincap',
  'etherscan',
  'computed',
] as const;

export function addEnums(builder: Builder) {
  const Currency = builder.enumType('Currency', {
    description: 'Quote currency. Fiat codes are ISO 4217; BTC and ETH quote in the coin itself.',
    values: Object.fromEntries(CURRENCIES.map((c) => [c.toUpperCase(), { value: c }])) as Record<
      Uppercase<CurrencyValue>,
      { value: CurrencyValue }
    >,
  });
  const CandleInterval = builder.enumType('CandleInterval', {
    values: Object.fromEntries(
      Object.entries(CANDLE_INTERVALS).map(([name, { value }]) => [
        name,
        { value, description: `${value} candles` },
      ]),
    ) as unknown as Record<
      keyof typeof CANDLE_INTERVALS,
      { value: (typeof CANDLE_INTERVALS)[keyof typeof CANDLE_INTERVALS]['value'] }
    >,
  });
  const Provider = builder.enumType('Provider', {
    description: 'Where a value came from. COMPUTED values are derived by marketgraph from provider data.',
    values: Object.fromEntries(PROVIDERS.map((p) => [p.toUpperCase(), { value: p }])) as Record<
      Uppercase<(typeof PROVIDERS)[number]>,
      { value: (typeof PROVIDERS)[number] }
    >,
  });
  return { Currency, CandleInterval, Provider };
}

export type Enums = ReturnType<typeof addEnums>;
