import { type Context, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import {
  type Cache,
  type CacheNamespace,
  type FetchResult,
  type Namespace,
  viewNamespaces,
} from '../cache.js';

// The cache as one traced request reads it: a span per lookup (one getMany: a loader's batch), saying
// how many keys were asked, how many this request had to fetch (misses: its provider calls are the
// upstream spans beside it) and how many were answered without (hits: cached, or joined to a fetch
// another request had in flight), and how many were served stale.

export function tracedCache(cache: Cache, tracer: Tracer, parent: () => Context): Cache {
  return viewNamespaces(
    cache,
    <T>(ns: CacheNamespace<T>, name: Namespace): Partial<CacheNamespace<T>> => ({
      async getMany(keys, fetch, missing) {
        const span = tracer.startSpan(
          `cache ${name}`,
          { attributes: { 'cache.namespace': name, 'cache.keys': keys.length } },
          parent(),
        );
        let misses = 0;
        const counted = (wanted: string[]): Promise<FetchResult<T>> => {
          misses += wanted.length;
          return fetch(wanted);
        };
        try {
          const results = await ns.getMany(keys, counted, missing);
          const stale = results.filter((r) => !(r instanceof Error) && r.stale).length;
          span.setAttributes({
            'cache.hits': Math.max(0, keys.length - misses),
            'cache.misses': misses,
            'cache.stale': stale,
          });
          return results;
        } catch (error) {
          span.setStatus({ code: SpanStatusCode.ERROR });
          throw error;
        } finally {
          span.end();
        }
      },
    }),
  );
}
