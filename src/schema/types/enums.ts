import { CURRENCIES } from '../../market/model.js';
import { PROVIDERS } from '../../market/providers.js';
import type { Builder } from '../builder.js';

// Enums shared by several types. GraphQL names are ours; values are the internal codes.

export { CURRENCIES };
export type CurrencyValue = (typeof CURRENCIES)[number];

export const CANDLE_INTERVALS = {
  M1: { value: '1m' },
  M5: { value: '5m' },
  M15: { value: '15m' },
  M30: { value: '30m' },
  H1: { value: '1h' },
  H4: { value: '4h' },
  D1: { value: '1d' },
  W1: { value: '1w' },
} as const;

const CURRENCY_NAMES: Record<CurrencyValue, string> = {
  usd: 'US dollar',
  eur: 'Euro',
  gbp: 'Pound sterling',
  jpy: 'Japanese yen',
  chf: 'Swiss franc',
  cad: 'Canadian dollar',
  aud: 'Australian dollar',
  btc: 'Bitcoin: amounts in BTC',
  eth: 'Ether: amounts in ETH',
};

const INTERVAL_NAMES: Record<keyof typeof CANDLE_INTERVALS, string> = {
  M1: '1 minute',
  M5: '5 minutes',
  M15: '15 minutes',
  M30: '30 minutes',
  H1: '1 hour',
  H4: '4 hours',
  D1: '1 day',
  W1: '1 week',
};

const PROVIDER_NAMES: Record<(typeof PROVIDERS)[number], string> = {
  coingecko: 'CoinGecko (catalogue, markets, spot prices, OHLC candles, FX).',
  binance: 'Binance spot market (USDT pairs taken as USD: prices, klines, live tickers).',
  defillama: 'DefiLlama (spot prices by contract, TVL, stablecoin supply).',
  mempool: 'mempool.space (Bitcoin fees, hashrate, difficulty, mempool, block height).',
  tokenmetrics: 'Token Metrics (trading signals and grades; needs a key).',
  coincap: 'CoinCap v3 (spot prices; needs a key).',
  etherscan: 'Etherscan (Ethereum gas oracle; needs a key).',
  computed:
    'Derived by marketgraph from provider data (signals from candles, median prices, aggregated candles).',
};

export function addEnums(builder: Builder) {
  const Currency = builder.enumType('Currency', {
    description: 'Quote currency. Fiat codes are ISO 4217; BTC and ETH quote in the coin itself.',
    values: Object.fromEntries(
      CURRENCIES.map((c) => [c.toUpperCase(), { value: c, description: CURRENCY_NAMES[c] }]),
    ) as Record<Uppercase<CurrencyValue>, { value: CurrencyValue; description: string }>,
  });
  const CandleInterval = builder.enumType('CandleInterval', {
    description: 'Candle length. Candles open on UTC boundaries of their length (weeks on Mondays).',
    values: Object.fromEntries(
      Object.entries(CANDLE_INTERVALS).map(([name, { value }]) => [
        name,
        { value, description: `${INTERVAL_NAMES[name as keyof typeof CANDLE_INTERVALS]} (${value}).` },
      ]),
    ) as unknown as Record<
      keyof typeof CANDLE_INTERVALS,
      { value: (typeof CANDLE_INTERVALS)[keyof typeof CANDLE_INTERVALS]['value'] }
    >,
  });
  const Provider = builder.enumType('Provider', {
    description: 'Where a value came from. COMPUTED values are derived by marketgraph from provider data.',
    values: Object.fromEntries(
      PROVIDERS.map((p) => [p.toUpperCase(), { value: p, description: PROVIDER_NAMES[p] }]),
    ) as Record<
      Uppercase<(typeof PROVIDERS)[number]>,
      { value: (typeof PROVIDERS)[number]; description: string }
    >,
  });
  return { Currency, CandleInterval, Provider };
}

export type Enums = ReturnType<typeof addEnums>;
