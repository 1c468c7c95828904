import type { Scenario } from '../scenario.js';
import { ASSETS_50 } from './assets-query.js';

// Everything the query needs is in the cache (default TTLs, warmed by `prepare`), so this measures
// the gateway itself: parse, validate, execute, cache reads, serialization. Expected upstream: 0.
export const hot: Scenario = {
  name: 'hot',
  description: '50 assets with prices, served from a warm cache (default TTLs)',
  async prepare(target) {
    const body = await target.query(ASSETS_50);
    if (body.errors) throw new Error(`hot: warm-up query failed: ${JSON.stringify(body.errors)}`);
  },
  requests: () => [{ query: ASSETS_50 }],
};
