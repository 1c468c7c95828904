import type { Config } from '../config.js';
import type { Http } from '../http.js';
import { createBinanceSource } from './binance.js';
import { createCoinCapSource } from './coincap.js';
import { createCoinGeckoSource } from './coingecko.js';
import { createDefiLlamaSource } from './defillama.js';
import { createEtherscanSource } from './etherscan.js';
import { createMempoolSource } from './mempool.js';
import { createTokenMetricsSource } from './tokenmetrics.js';

// Every provider source, built once per process over the shared Http. Building one makes no call;
// whether a provider is used is decided by config.providers[name].enabled at the call sites.

export function createSources(deps: { http: Http; config: Config }) {
  const { http, config } = deps;
  const p = config.providers;
  return {
    coingecko: createCoinGeckoSource({ http, config: p.coingecko }),
    binance: createBinanceSource({ http, config: p.binance }),
    defillama: createDefiLlamaSource({ http, config: p.defillama }),
    mempool: createMempoolSource({ http, config: p.mempool }),
    tokenmetrics: createTokenMetricsSource({ http, config: p.tokenmetrics }),
    coincap: createCoinCapSource({ http, config: p.coincap }),
    etherscan: createEtherscanSource({ http, config: p.etherscan }),
  };
}

export type Sources = ReturnType<typeof createSources>;
