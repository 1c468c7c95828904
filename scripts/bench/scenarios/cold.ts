import type { Scenario } from '../scenario.js';
import { ASSETS_50 } from './assets-query.js';

// Every request misses the cache: the price and market TTLs are 0, so nothing a request needs is ever
// fresh and each one goes upstream (markets page + one simple/price batch). Concurrent requests may
// still share an in-flight upstream call (singleflight), which is what the gateway does in
// production too; that is why calls per request can be below 2 here. `cold-serial` shows the
// unshared cost: one connection, so no two requests overlap.
const COLD_ENV = { MARKETGRAPH_TTL_PRICE_MS: '0', MARKETGRAPH_TTL_MARKET_MS: '0' };

export const cold: Scenario = {
  name: 'cold',
  description: '50 assets with prices, every request a cache miss (price/market TTL 0)',
  gatewayEnv: COLD_ENV,
  requests: () => [{ query: ASSETS_50 }],
};

export const coldSerial: Scenario = {
  name: 'cold-serial',
  description: 'as cold, over 1 connection: no in-flight sharing, the full miss cost per request',
  gatewayEnv: COLD_ENV,
  connections: 1,
  requests: () => [{ query: ASSETS_50 }],
};
