import type { ProviderName } from '../market/model.js';

// What the sandbox served: a count per provider and endpoint, and the latest request records, so tests
// and the admin endpoint can say how many upstream calls a query cost.

export interface RequestRecord {
  provider: ProviderName;
  endpoint: string;
  at: number;
  status: number;
}

export interface RequestLog {
  record(provider: ProviderName, endpoint: string, status: number): void;
  /** Requests served per provider and endpoint since the last reset. */
  counts(): Record<string, Record<string, number>>;
  count(provider: ProviderName, endpoint?: string): number;
  requests(provider?: ProviderName): RequestRecord[];
  reset(): void;
}

/** Request records kept for requests() (at least this many, at most twice as many). */
const LOG_RECORDS = 10_000;

export function createRequestLog(now: () => number): RequestLog {
  const counts = new Map<ProviderName, Map<string, number>>();
  const log: RequestRecord[] = [];
  return {
    record(provider, endpoint, status) {
      const byEndpoint = counts.get(provider) ?? new Map<string, number>();
      counts.set(provider, byEndpoint);
      byEndpoint.set(endpoint, (byEndpoint.get(endpoint) ?? 0) + 1);
      log.push({ provider, endpoint, at: now(), status });
      // Trimmed in batches: cutting one record per request would move the whole log every time.
      if (log.length > 2 * LOG_RECORDS) log.splice(0, log.length - LOG_RECORDS);
    },
    counts() {
      const out: Record<string, Record<string, number>> = {};
      for (const [provider, byEndpoint] of counts) out[provider] = Object.fromEntries(byEndpoint);
      return out;
    },
    count(provider, endpoint) {
      const byEndpoint = counts.get(provider);
      if (!byEndpoint) return 0;
      if (endpoint !== undefined) return byEndpoint.get(endpoint) ?? 0;
      let total = 0;
      for (const n of byEndpoint.values()) total += n;
      return total;
    },
    requests(provider) {
      return provider ? log.filter((r) => r.provider === provider) : [...log];
    },
    reset() {
      counts.clear();
      log.length = 0;
    },
  };
}
