import type { ProviderEndpoints, UpstreamName } from '../config.js';
import type { ProviderName } from '../market/model.js';
import type { DialectFactory } from './dialect.js';
import { createBinanceDialect } from './providers/binance/dialect.js';
import { createCoinCapDialect, SANDBOX_COINCAP_KEY } from './providers/coincap/dialect.js';
import { createCoinGeckoDialect } from './providers/coingecko/dialect.js';
import { createDefiLlamaDialect } from './providers/defillama/dialect.js';
import { createEtherscanDialect, SANDBOX_ETHERSCAN_KEY } from './providers/etherscan/dialect.js';
import { createMempoolDialect } from './providers/mempool/dialect.js';
import { createTokenMetricsDialect, SANDBOX_TOKENMETRICS_KEY } from './providers/tokenmetrics/dialect.js';

/** Every provider dialect the sandbox can run, by provider name. */
export const DIALECTS: Partial<Record<ProviderName, DialectFactory>> = {
  coingecko: createCoinGeckoDialect,
  binance: createBinanceDialect,
  defillama: createDefiLlamaDialect,
  mempool: createMempoolDialect,
  tokenmetrics: createTokenMetricsDialect,
  coincap: createCoinCapDialect,
  etherscan: createEtherscanDialect,
};

/** The demo keys the sandbox's keyed dialects accept; the sandbox profile uses them when no key is set. */
export const SANDBOX_KEYS: Partial<Record<UpstreamName, string>> = {
  tokenmetrics: SANDBOX_TOKENMETRICS_KEY,
  coincap: SANDBOX_COINCAP_KEY,
  etherscan: SANDBOX_ETHERSCAN_KEY,
};

/** The sandbox's providers as loadConfig's `endpoints`: URL, WebSocket URL, demo key. */
export function sandboxEndpoints(sandbox: {
  endpoints: Partial<Record<ProviderName, { url: string; wsUrl?: string }>>;
}): ProviderEndpoints {
  return Object.fromEntries(
    Object.entries(sandbox.endpoints).map(([name, e]) => [
      name,
      { url: e.url, wsUrl: e.wsUrl, key: SANDBOX_KEYS[name as UpstreamName] },
    ]),
  );
}
