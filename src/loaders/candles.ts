import DataLoader from 'dataloader';
import type { Cache, Cached, FetchResult } from '../cache.js';
import type { Config } from '../config.js';
import { notFound, toClientError } from '../errors.js';
import type { UpstreamBudget } from '../http/budget.js';
import { type CandleKey, candleKey, candleSeriesKey } from '../market/keys.js';
import type { Candle } from '../market/model.js';
import { asError, groupBy, ownView } from './shared.js';

// Candle windows. Windows of the same asset, interval and currency asked for in one batch that overlap
// or touch (say 30 candles for a chart and 102 for its signals) are fetched once, as their union, and
// sliced per key. Disjoint windows are fetched apart: their union would also ask for every row between them.

export type CandleLoader = DataLoader<CandleKey, Cached<Candle[]>, string>;

export interface CandleLoaderDeps {
  config: Config;
  cache: Cache;
  /** Assembles a candle window from whichever providers can serve it (src/market/candles.ts). */
  fetchCandles: (key: CandleKey) => Promise<Candle[]>;
  budget?: UpstreamBudget;
}

export function createCandleLoader(deps: CandleLoaderDeps): CandleLoader {
  const candles = ownView(
    deps.cache.namespace<Candle[]>('candles', deps.config.cache.ttl.candles),
    deps.budget,
  );
  return new DataLoader<CandleKey, Cached<Candle[]>, string>(
    async (keys) => {
      const unionOf = mergeWindows(keys);
      const byKey = new Map([...new Set(unionOf)].map((u) => [candleKey(u), u]));
      const fetched = await candles.getMany(
        [...byKey.keys()],
        async (missing) => {
          const out: FetchResult<Candle[]> = new Map();
          await Promise.all(
            missing.map(async (key) => {
              try {
                out.set(key, await deps.fetchCandles(byKey.get(key)!));
              } catch (error) {
                out.set(key, asError(error));
              }
            }),
          );
          return out;
        },
        (key) => notFound('candles for', byKey.get(key)!.assetId),
      );
      const results = new Map([...byKey.keys()].map((key, i) => [key, fetched[i]!]));
      return keys.map((k, i) => {
        const r = results.get(candleKey(unionOf[i]!))!;
        if (r instanceof Error) return toClientError(r);
        const value = r.value.filter((c) => c.openTime.getTime() >= k.from && c.openTime.getTime() < k.to);
        return { ...r, value };
      });
    },
    { cacheKeyFn: candleKey },
  );
}

/**
 * For each window, the union it is fetched as: windows of one asset, interval and currency merged while
 * they overlap or touch. The same union object for every window in it.
 */
export function mergeWindows(keys: readonly CandleKey[]): CandleKey[] {
  const out: CandleKey[] = new Array(keys.length);
  const indexes = keys.map((_, i) => i);
  for (const members of groupBy(indexes, (i) => candleSeriesKey(keys[i]!)).values()) {
    members.sort((a, b) => keys[a]!.from - keys[b]!.from);
    let union: CandleKey | undefined;
    let inUnion: number[] = [];
    const close = () => {
      for (const i of inUnion) out[i] = union!;
    };
    for (const i of members) {
      const k = keys[i]!;
      if (union && k.from <= union.to) union.to = Math.max(union.to, k.to);
      else {
        if (union) close();
        union = { ...k };
        inUnion = [];
      }
      inUnion.push(i);
    }
    close();
  }
  return out;
}
