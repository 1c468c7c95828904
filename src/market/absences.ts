import type { Cache, Namespace } from '../cache.js';
import type { Config } from '../config.js';

// "Provider X does not list asset Y", learnt from a successful answer that left Y out (a quote, or
// CoinGecko's markets rows), remembered
// for the metadata TTL so the provider is not asked again on every query. Only successful answers
// teach an absence; a failure is never remembered as one. Read and written outside any request's
// view of the cache on purpose: an absence is not a value an answer is built from (the value it stands
// for is NOT_FOUND, which already keeps that answer from being stored), and a key never learnt is no
// failure either.

export interface Absences {
  /** The keys (made by the key function of market/keys.ts the kind uses) known to be absent right now. */
  known(keys: readonly string[]): Promise<Set<string>>;
  remember(keys: readonly string[]): Promise<void>;
}

/** One kind of absence per kind of value, each in its own namespace. */
export interface ProviderAbsences {
  /** Quotes a provider's price call left out (keys: quoteKey). */
  quotes: Absences;
  /** Assets CoinGecko's markets call left out in a currency (keys: marketKey). */
  markets: Absences;
}

export function createAbsences(cache: Cache, config: Config): ProviderAbsences {
  return {
    quotes: absencesIn(cache, 'quote-absent', config.cache.ttl.metadata),
    markets: absencesIn(cache, 'market-absent', config.cache.ttl.metadata),
  };
}

function absencesIn(cache: Cache, namespace: Namespace, ttl: number): Absences {
  const store = cache.namespace<true>(namespace, ttl);
  return {
    async known(keys) {
      if (keys.length === 0) return new Set();
      // Never fetches through the store: a miss is simply nothing known.
      const found = await store.getMany(
        keys,
        async () => new Map(),
        () => NOTHING_KNOWN,
      );
      // Past the TTL an absence is asked about again (a stale one is not trusted).
      return new Set(
        keys.filter((_, i) => {
          const r = found[i];
          return r !== undefined && !(r instanceof Error) && !r.stale;
        }),
      );
    },
    async remember(keys) {
      if (keys.length > 0) await store.prime(new Map(keys.map((k) => [k, true as const])));
    },
  };
}

const NOTHING_KNOWN = new Error('nothing known');
