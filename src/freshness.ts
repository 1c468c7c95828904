import { type Cache, type CacheNamespace, type Namespace, viewNamespaces } from './cache.js';

// How fresh one execution's answer is, learnt from what it read, without touching cache.ts: a view over
// the per-process Cache records, for every value the execution reads, when that value stops being
// fresh (fetchedAt + its namespace's ttl) and whether it was served stale. The answer is exactly as
// fresh as the first of its values to go stale. What the view cannot vouch for makes the answer
// unstorable: a stale value, a key that resolved to an Error (an upstream failure or NOT_FOUND is never
// cached, so a fresh execution would ask again), and reads whose answer follows the clock rather than
// the values (see CLOCK_DEPENDENT). Reads that bypass the view (a resolver calling a per-process
// service directly) are refused where they happen: see createContext.

/**
 * Namespaces whose readers turn the clock into the answer: the candle window ends at "now" aligned to
 * the interval, and signals are computed for "now", so the same values give another answer later.
 */
const CLOCK_DEPENDENT: ReadonlySet<Namespace> = new Set<Namespace>(['candles']);

/**
 * Process state an answer depends on besides cached values (say, which provider AUTO prices ask
 * first): `read` says what it is now; a stored answer is served only while it still reads `value`.
 */
export interface Condition {
  name: string;
  read: () => string;
}

export interface Freshness {
  /** Epoch ms at which the first value read stops being fresh; +Infinity while nothing was read. */
  readonly expiresAt: number;
  /** Every value read, as `${namespace}:${key}` (the same ids observeWrites reports). */
  readonly reads: ReadonlySet<string>;
  /** The first reason the answer must not be stored; undefined while it may be. */
  readonly unstorable: string | undefined;
  /** True once execution produced a single result without errors (plugins/use-response-cache.ts). */
  readonly complete: boolean;
  /** What the execution saw of each condition it depends on. */
  readonly conditions: ReadonlyArray<{ condition: Condition; value: string }>;
  refuse(reason: string): void;
  /** Records that the answer depends on `condition`, which read `value`; a change mid-execution refuses. */
  dependOn(condition: Condition, value: string): void;
  markComplete(): void;
  /** A view of `cache` whose reads are recorded here; writes go through unchanged. */
  observe(cache: Cache): Cache;
}

export function createFreshness(): Freshness {
  let expiresAt = Number.POSITIVE_INFINITY;
  let unstorable: string | undefined;
  let complete = false;
  const reads = new Set<string>();
  const conditions: Array<{ condition: Condition; value: string }> = [];

  const freshness: Freshness = {
    get expiresAt() {
      return expiresAt;
    },
    reads,
    get unstorable() {
      return unstorable;
    },
    get complete() {
      return complete;
    },
    conditions,
    refuse(reason) {
      unstorable ??= reason;
    },
    dependOn(condition, value) {
      const seen = conditions.find((c) => c.condition.name === condition.name);
      if (!seen) conditions.push({ condition, value });
      else if (seen.value !== value) freshness.refuse(`changed:${condition.name}`);
    },
    markComplete() {
      complete = true;
    },
    observe(cache) {
      return viewNamespaces(
        cache,
        <T>(inner: CacheNamespace<T>, name: Namespace, ttlMs: number): Partial<CacheNamespace<T>> => {
          const clock = CLOCK_DEPENDENT.has(name);
          return {
            async getMany(keys, fetch, missing) {
              const results = await inner.getMany(keys, fetch, missing);
              if (clock) freshness.refuse(`clock:${name}`);
              for (let i = 0; i < results.length; i++) {
                const result = results[i]!;
                if (result instanceof Error) {
                  freshness.refuse('error-value');
                  continue;
                }
                if (result.stale) freshness.refuse('stale');
                expiresAt = Math.min(expiresAt, result.fetchedAt + ttlMs);
                reads.add(`${name}:${keys[i]}`);
              }
              return results;
            },
          };
        },
      );
    },
  };
  return freshness;
}

/**
 * The per-process cache, reporting every value it (re)writes once the new value is in place: the keys
 * a fetch answered (a miss, a refresh, a refetch after eviction) and primed entries. The response
 * cache drops answers built on a value that was rewritten, since a fresh execution would read the new one.
 */
export function observeWrites(cache: Cache, onWrite: (ids: string[]) => void): Cache {
  return viewNamespaces(cache, <T>(inner: CacheNamespace<T>, name: Namespace): Partial<CacheNamespace<T>> => {
    const ids = (keys: Iterable<string>) => Array.from(keys, (key) => `${name}:${key}`);
    return {
      getMany: (keys, fetch, missing) =>
        inner.getMany(
          keys,
          async (wanted) => {
            const result = await fetch(wanted);
            // Reported when the fetch answers: every reader of these keys from now on, in this
            // process, gets the new values (or joins the fetch still in flight).
            onWrite(ids(wanted));
            return result;
          },
          missing,
        ),
      async prime(entries, fetchedAt) {
        await inner.prime(entries, fetchedAt);
        onWrite(ids(entries.keys()));
      },
      async fill(entries, fetchedAt) {
        const written = await inner.fill(entries, fetchedAt);
        if (written.length > 0) onWrite(ids(written));
        return written;
      },
    };
  });
}
