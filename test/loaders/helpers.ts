import { createCache } from '../../src/cache.js';
import { type Config, loadConfig } from '../../src/config.js';
import type { AssetMarket } from '../../src/sources/coingecko.js';

export function loaderConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ env: { MARKETGRAPH_LOG_LEVEL: 'silent', ...env } });
}

/** A process cache on a clock the test moves. */
export function testCache(config: Config, start = Date.parse('2026-06-01T12:00:00Z')) {
  let now = start;
  const cache = createCache({ config, now: () => now });
  return {
    cache,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}

export function row(id: string, currency: string, price: number, asOf: Date): AssetMarket {
  return {
    asset: { id, symbol: id.slice(0, 3).toUpperCase(), name: id, rank: 1, logo: null, contracts: [] },
    market: {
      assetId: id,
      currency,
      price,
      marketCap: null,
      volume24h: null,
      change24h: 1.5,
      high24h: null,
      low24h: null,
      circulatingSupply: null,
      totalSupply: null,
      maxSupply: null,
      asOf,
      source: 'coingecko',
    },
  };
}
