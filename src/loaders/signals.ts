import DataLoader from 'dataloader';
import type { Cache, Cached } from '../cache.js';
import type { Config } from '../config.js';
import { notFound } from '../errors.js';
import type { UpstreamBudget } from '../http/budget.js';
import type { Signal } from '../market/model.js';
import { ownView, unwrap } from './shared.js';

// Provider-published signals (Token Metrics) per asset id, batched across assets; [] when no provider
// covers an asset.

export type ProviderSignalLoader = DataLoader<string, Cached<Signal[]>>;

export interface ProviderSignalLoaderDeps {
  config: Config;
  cache: Cache;
  /** Signals keyed providers publish, for a batch of assets (one call per provider endpoint). */
  fetchProviderSignals: (assetIds: string[]) => Promise<Map<string, Signal[]>>;
  budget?: UpstreamBudget;
}

export function createProviderSignalLoader(deps: ProviderSignalLoaderDeps): ProviderSignalLoader {
  const signalCache = ownView(
    deps.cache.namespace<Signal[]>('signals', deps.config.cache.ttl.signals),
    deps.budget,
  );
  return new DataLoader<string, Cached<Signal[]>>(async (ids) =>
    unwrap(
      await signalCache.getMany(
        ids,
        async (missing) => {
          const found = await deps.fetchProviderSignals(missing);
          return new Map(missing.map((id) => [id, found.get(id) ?? []]));
        },
        (id) => notFound('signals for', id),
      ),
    ),
  );
}
