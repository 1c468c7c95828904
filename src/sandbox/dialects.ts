import type { ProviderEndpointOverride, UpstreamName } from '../config.js';
import type { ProviderName } from '../market/model.js';
import { createBinanceDialect } from './binance.js';
import { createCoinCapDialect, SANDBOX_COINCAP_KEY } from './coincap.js';
import { createCoinGeckoDialect } from './coingecko.js';
import { createDefiLlamaDialect } from './defillama.js';
import type { DialectFactory } from './dialect.js';
import { createEtherscanDialect, SANDBOX_ETHERSCAN_KEY } from './etherscan.js';
import { createMempoolDialect } from './mempool.js';
import { createTokenMetricsDialect, SANDBOX_TOKENMETRICS_KEY } from './tokenmetrics.js';

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

/** The sandbox's providers as endpoint overrides for withProviderUrls: URL, WebSocket URL, demo key. */
export function sandboxEndpoints(
  // Structural (not Pick<Sandbox, ...>): server.ts imports this module.
  sandbox: { endpoints: Partial<Record<ProviderName, { url: string; wsUrl?: string }>> },
): Partial<Record<UpstreamName, ProviderEndpointOverride>> {
  return Object.fromEntries(
    Object.entries(sandbox.endpoints).map(([name, e]) => [
      name,
      { url: e.url, wsUrl: e.wsUrl, key: SANDBOX_KEYS[name as UpstreamName] },
    ]),
  );
}
