import type { Config, UpstreamName } from '../config.js';
import { UPSTREAMS } from '../config.js';
import type { ClientBudgetLeft } from '../context.js';
import type { HttpClient } from '../http/client.js';

// The two extensions every answer carries (README "Cost and freshness"). `cost` is serialized last in
// `extensions`, and the JSON ends with it, so a stored answer keeps the byte offset where it starts
// and a response-cache hit splices in its own (0 upstream calls, the caller's budget, quota now).

export interface CostReport {
  /** Upstream calls the operation could cause (src/cost/); null when it was not estimated. */
  estimate: number | null;
  /** The calls this request actually made, per provider. */
  upstreamCalls: { total: number; byProvider: Partial<Record<UpstreamName, number>> };
  /** Values served from a cache without this request asking a provider. */
  cacheHits: number;
  /** What the caller may still spend (per-client budgets); absent without them. */
  budget?: ClientBudgetLeft;
  /** Quota tokens left per enabled provider, in this process's view of the bucket. */
  quota: Partial<Record<UpstreamName, number>>;
}

export interface FreshnessReport {
  /** The oldest time any value in the answer was true at its provider (ISO 8601); null without values. */
  oldestAsOf: string | null;
  /** True when any value was served past its freshness window. */
  stale: boolean;
}

export type QuotaView = () => Partial<Record<UpstreamName, number>>;

export function quotaView(config: Pick<Config, 'providers'>, http: Pick<HttpClient, 'quotaLeft'>): QuotaView {
  const enabled = UPSTREAMS.filter((p) => config.providers[p].enabled);
  return () => {
    const out: Partial<Record<UpstreamName, number>> = {};
    for (const p of enabled) out[p] = http.quotaLeft(p);
    return out;
  };
}

export function costReport(input: {
  estimate: number | undefined;
  calls: Partial<Record<UpstreamName, number>>;
  cacheHits: number;
  budget: ClientBudgetLeft | undefined;
  quota: QuotaView;
}): CostReport {
  let total = 0;
  for (const n of Object.values(input.calls)) total += n ?? 0;
  return {
    estimate: input.estimate ?? null,
    upstreamCalls: { total, byProvider: input.calls },
    cacheHits: input.cacheHits,
    ...(input.budget ? { budget: input.budget } : {}),
    quota: input.quota(),
  };
}
