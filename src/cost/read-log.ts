import { type Cache, type Cached, type CacheNamespace, type Namespace, viewNamespaces } from '../cache.js';

// What one request read from the per-process cache, for extensions.cost and extensions.freshness: how
// many values it was served without asking a provider itself (cache hits, including a fetch another
// request had in flight), when the oldest of them was true, and whether any was served stale. A view
// over the Cache, like src/freshness.ts, so every value a resolver reads through the request's loaders
// is seen; values that never pass through the cache (the asset registry's metadata) carry no time.
// A quote served stale only because its refetch failed may be set aside by AUTO prices for another
// provider's fresh one: such a value counts (stale, asOf) once a resolver serves it (`served`), so
// `stale` is true exactly when a value in the answer says so.

/** Namespaces whose stale-on-error values a reader may set aside for another provider's fresh one. */
const SET_ASIDE: ReadonlySet<Namespace> = new Set<Namespace>(['quote']);

export interface ReadLog {
  /** Values served from the cache without this request asking a provider. */
  readonly hits: number;
  /** Epoch ms: the oldest `asOf` among the values read (or when they were fetched, for values without one). */
  readonly oldestAsOf: number | undefined;
  readonly stale: boolean;
  /** Records that a value read from the cache is part of the answer (see SET_ASIDE). */
  served(value: Cached<unknown>): void;
  /** A view of `cache` whose reads are recorded here. */
  observe(cache: Cache): Cache;
}

export function createReadLog(): ReadLog {
  let hits = 0;
  let oldest: number | undefined;
  let stale = false;
  const seen = (t: number) => {
    if (oldest === undefined || t < oldest) oldest = t;
  };
  /** Values read stale on error in a SET_ASIDE namespace, not yet known to be in the answer. */
  const pending = new WeakSet<Cached<unknown>>();
  const count = (result: Cached<unknown>) => {
    if (result.stale) stale = true;
    seen(asOfOf(result.value) ?? result.fetchedAt);
  };

  return {
    get hits() {
      return hits;
    },
    get oldestAsOf() {
      return oldest;
    },
    get stale() {
      return stale;
    },
    served(value) {
      if (pending.delete(value)) count(value);
    },
    observe(cache) {
      return viewNamespaces(
        cache,
        <T>(inner: CacheNamespace<T>, name: Namespace): Partial<CacheNamespace<T>> => ({
          async getMany(keys, fetch, missing) {
            let asked = 0;
            const results = await inner.getMany(
              keys,
              (wanted) => {
                asked += wanted.length;
                return fetch(wanted);
              },
              missing,
            );
            let values = 0;
            for (const result of results) {
              if (result instanceof Error) continue;
              values++;
              if (result.failed && SET_ASIDE.has(name)) pending.add(result);
              else count(result);
            }
            hits += Math.max(0, values - asked);
            return results;
          },
        }),
      );
    },
  };
}

/** A value's own time (`asOf` on prices, markets, metrics), the oldest of a list's, if it has one. */
function asOfOf(value: unknown): number | undefined {
  if (Array.isArray(value)) {
    let oldest: number | undefined;
    for (const item of value) {
      const t = asOfOf(item);
      if (t !== undefined && (oldest === undefined || t < oldest)) oldest = t;
    }
    return oldest;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const asOf = (value as { asOf?: unknown }).asOf;
  if (asOf instanceof Date) return asOf.getTime();
  return typeof asOf === 'number' ? asOf : undefined;
}
