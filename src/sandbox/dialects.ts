import type { ProviderName } from '../model.js';
import { createBinanceDialect } from './binance.js';
import { createCoinGeckoDialect } from './coingecko.js';
import type { DialectFactory } from './dialect.js';

/** Every provider dialect the sandbox can run, by provider name. */
export const DIALECTS: Partial<Record<ProviderName, DialectFactory>> = {
  coingecko: createCoinGeckoDialect,
  binance: createBinanceDialect,
};
