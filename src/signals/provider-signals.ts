import type { Config } from '../config.js';
import type { Signal } from '../market/model.js';
import type { AssetRegistry } from '../market/registry.js';
import type { Sources } from '../sources/index.js';

// Signals that keyed providers publish (Token Metrics: trading signal, trader grade, investor grade),
// for a batch of assets: one call per endpoint for the whole batch. Off (empty) without a key.

export async function fetchTokenMetricsSignals(
  deps: { config: Config; sources: Sources; registry: AssetRegistry },
  assetIds: string[],
): Promise<Map<string, Signal[]>> {
  const out = new Map<string, Signal[]>();
  if (!deps.config.providers.tokenmetrics.enabled) return out;
  const byTokenId = await deps.registry.tokenMetricsIds(assetIds);
  if (byTokenId.size === 0) return out;
  const tm = deps.sources.tokenmetrics;
  const lists = await Promise.all([
    tm.tradingSignals(byTokenId),
    tm.traderGrades(byTokenId),
    tm.investorGrades(byTokenId),
  ]);
  for (const signal of lists.flat()) out.set(signal.assetId, [...(out.get(signal.assetId) ?? []), signal]);
  return out;
}
