import DataLoader from 'dataloader';
import type { GraphQLError } from 'graphql';
import type { Cache, Cached, CacheNamespace, FetchResult } from '../cache.js';
import type { Config } from '../config.js';
import { notFound, toClientError, UpstreamError } from '../errors.js';
import type { UpstreamBudget } from '../http/budget.js';
import type { AssetInfo, Candle, MarketData, Price, Signal } from '../market/model.js';
import type { QuoteAdapter, QuoteProvider } from '../market/quotes.js';
import type { Sources } from '../sources/index.js';

// One DataLoader per batchable upstream call, created fresh for every request (a DataLoader memoizes
// for its whole life, which must not outlive a request). Each batch function reads the shared cache
// first and sends only the misses upstream, chunked at the provider's real per-call limit; results go
// back in key order, missing keys as Error values (the DataLoader contract).
// With a request's budget, a key whose shared in-flight fetch (singleflight) was refused by another
// request's budget is asked for again, once, on this request's own budget: one request's limits never
// cost another request its fields.

export interface MarketsPageKey {
  order: string;
  currency: string;
  page: number;
}

export interface CandleKey {
  assetId: string;
  interval: string;
  from: number;
  to: number;
  currency: string;
}

export interface MarketRow {
  asset: AssetInfo;
  market: MarketData;
}

export interface Loaders {
  asset: DataLoader<string, Cached<AssetInfo>>;
  /** key `${currency}:${assetId}` */
  market: DataLoader<string, Cached<MarketData>>;
  /** One provider's quote; key `${provider}:${currency}:${assetId}`. */
  quote: DataLoader<string, Cached<Price>>;
  /** The AUTO price: the first healthy provider that quotes the asset; key `${currency}:${assetId}`. */
  price: DataLoader<string, Cached<Price>>;
  marketsPage: DataLoader<MarketsPageKey, Cached<MarketRow[]>, string>;
  /** Provider-published signals (Token Metrics) per asset; [] when no provider covers it. */
  providerSignals: DataLoader<string, Cached<Signal[]>>;
  candles: DataLoader<CandleKey, Cached<Candle[]>, string>;
}

export interface LoaderDeps {
  config: Config;
  cache: Cache;
  sources: Sources;
  /** Assembles a candle window from whichever providers can serve it (src/market/candles.ts). */
  fetchCandles: (key: CandleKey) => Promise<Candle[]>;
  /** Spot-quote adapters, asked for on cache misses only. */
  quotes: () => Record<QuoteProvider, QuoteAdapter>;
  /** Provider preference for AUTO prices right now (health and quota aware). */
  quoteOrder: () => QuoteProvider[];
  /** Signals keyed providers publish, for a batch of assets (one call per provider endpoint). */
  fetchProviderSignals: (assetIds: string[]) => Promise<Map<string, Signal[]>>;
  /** The request's upstream budget, which the sources and fetchCandles above spend; none outside requests. */
  budget?: UpstreamBudget;
}

export const MARKETS_PAGE_SIZE = 250;

export function createLoaders(deps: LoaderDeps): Loaders {
  const { config, cache, sources, fetchCandles, quotes, quoteOrder, budget } = deps;
  const ttl = config.cache.ttl;
  const own = <T>(ns: CacheNamespace<T>) => (budget ? new AskAgainIfRefusedElsewhere(ns, budget) : ns);
  const assets = own(cache.namespace<AssetInfo>('asset', ttl.metadata));
  const markets = own(cache.namespace<MarketData>('market', ttl.market));
  const quoteCache = own(cache.namespace<Price>('quote', ttl.price));
  const pages = own(cache.namespace<MarketRow[]>('markets-page', ttl.market));
  const candles = own(cache.namespace<Candle[]>('candles', ttl.candles));
  const cg = sources.coingecko;

  /** Stores what a markets call returned under both the asset and the market namespaces. */
  async function keepMarkets(rows: MarketRow[], currency: string) {
    await Promise.all([
      assets.prime(new Map(rows.map((r) => [r.asset.id, r.asset]))),
      markets.prime(new Map(rows.map((r) => [`${currency}:${r.asset.id}`, r.market]))),
    ]);
  }

  async function fetchMarkets(ids: string[], currency: string) {
    const rows = (
      await Promise.all(chunk(ids, cg.maxIdsPerCall).map((part) => cg.markets(part, currency)))
    ).flat();
    void keepMarkets(rows, currency);
    return rows;
  }

  const asset = new DataLoader<string, Cached<AssetInfo>>(
    async (ids) =>
      unwrap(
        await assets.getMany(
          ids,
          async (missing) => {
            const rows = await fetchMarkets(missing, 'usd');
            return new Map(rows.map((r) => [r.asset.id, r.asset]));
          },
          (id) => notFound('asset', id),
        ),
      ),
    { maxBatchSize: cg.maxIdsPerCall },
  );

  const market = new DataLoader<string, Cached<MarketData>>(
    async (keys) =>
      unwrap(
        await markets.getMany(
          keys,
          async (missing) => {
            const out: FetchResult<MarketData> = new Map();
            for (const [currency, ids] of groupByCurrency(missing)) {
              for (const row of await fetchMarkets(ids, currency))
                out.set(`${currency}:${row.asset.id}`, row.market);
            }
            return out;
          },
          (key) => notFound('asset', key.slice(key.indexOf(':') + 1)),
        ),
      ),
    { maxBatchSize: cg.maxIdsPerCall },
  );

  const quote = new DataLoader<string, Cached<Price>>(
    async (keys) =>
      unwrap(
        await quoteCache.getMany(
          keys,
          async (missing) => {
            const groups = new Map<string, string[]>();
            for (const key of missing) {
              const [provider, currency] = key.split(':') as [QuoteProvider, string];
              const group = `${provider}:${currency}`;
              groups.set(group, [...(groups.get(group) ?? []), key.slice(group.length + 1)]);
            }
            const out: FetchResult<Price> = new Map();
            await Promise.all(
              [...groups].map(async ([group, ids]) => {
                const [provider, currency] = group.split(':') as [QuoteProvider, string];
                const adapter = quotes()[provider];
                try {
                  for (const part of chunk(ids, adapter.maxBatch)) {
                    for (const [id, p] of await adapter.fetch(part, currency)) out.set(`${group}:${id}`, p);
                  }
                } catch (error) {
                  for (const id of ids)
                    out.set(`${group}:${id}`, error instanceof Error ? error : new Error(String(error)));
                }
              }),
            );
            return out;
          },
          (key) => notFound('price for', key.slice(key.lastIndexOf(':') + 1)),
        ),
      ),
    { maxBatchSize: 1000 },
  );

  const price = new DataLoader<string, Cached<Price>>(async (keys) => {
    // Ask providers in preference order; each is asked once per batch, for what is still unanswered.
    // A value served stale because its provider failed is kept only if no provider has a fresh one.
    const answered = new Map<string, Cached<Price>>();
    const staleOnError = new Map<string, Cached<Price>>();
    const firstError = new Map<string, Error>();
    let remaining = [...keys];
    for (const provider of quoteOrder()) {
      if (remaining.length === 0) break;
      const got = await quote.loadMany(remaining.map((k) => `${provider}:${k}`));
      const next: string[] = [];
      remaining.forEach((key, i) => {
        const r = got[i]!;
        if (r instanceof Error) {
          if (!isNotFound(r) && !firstError.has(key)) firstError.set(key, r);
          next.push(key);
        } else if (r.failed) {
          if (!staleOnError.has(key)) staleOnError.set(key, r);
          next.push(key);
        } else answered.set(key, r);
      });
      remaining = next;
    }
    return keys.map(
      (key) =>
        answered.get(key) ??
        staleOnError.get(key) ??
        firstError.get(key) ??
        notFound('price for', key.slice(key.indexOf(':') + 1)),
    );
  });

  const pageKey = (k: MarketsPageKey) => `${k.order}:${k.currency}:${k.page}`;
  const marketsPage = new DataLoader<MarketsPageKey, Cached<MarketRow[]>, string>(
    async (keys) =>
      unwrap(
        await pages.getMany(
          keys.map(pageKey),
          async (missing) => {
            const out: FetchResult<MarketRow[]> = new Map();
            await Promise.all(
              missing.map(async (key) => {
                const [order, currency, page] = key.split(':') as [string, string, string];
                const rows = await cg.topMarkets(currency, Number(page), MARKETS_PAGE_SIZE, order);
                void keepMarkets(rows, currency);
                out.set(key, rows);
              }),
            );
            return out;
          },
          (key) => notFound('markets page', key),
        ),
      ),
    { cacheKeyFn: pageKey },
  );

  const candleKey = (k: CandleKey) => `${k.assetId}:${k.interval}:${k.currency}:${k.from}:${k.to}`;
  // Windows of the same asset, interval and currency asked for in one batch that overlap or touch (say
  // 30 candles for a chart and 102 for its signals) are fetched once, as their union, and sliced per
  // key. Disjoint windows are fetched apart: their union would also ask for every row between them.
  const candle = new DataLoader<CandleKey, Cached<Candle[]>, string>(
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
                out.set(key, await fetchCandles(byKey.get(key)!));
              } catch (error) {
                out.set(key, error instanceof Error ? error : new Error(String(error)));
              }
            }),
          );
          return out;
        },
        (key) => notFound('candles for', key),
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

  const signalCache = own(cache.namespace<Signal[]>('signals', ttl.signals));
  const providerSignals = new DataLoader<string, Cached<Signal[]>>(async (ids) =>
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

  return { asset, market, quote, price, marketsPage, candles: candle, providerSignals };
}

/**
 * For each window, the union it is fetched as: windows of one asset, interval and currency merged while
 * they overlap or touch. The same union object for every window in it.
 */
function mergeWindows(keys: readonly CandleKey[]): CandleKey[] {
  const out: CandleKey[] = new Array(keys.length);
  const groups = new Map<string, number[]>();
  keys.forEach((k, i) => {
    const group = `${k.assetId}:${k.interval}:${k.currency}`;
    groups.set(group, [...(groups.get(group) ?? []), i]);
  });
  for (const members of groups.values()) {
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

/**
 * A namespace whose getMany asks once more, on this request's budget, for keys that came back refused by
 * another request's budget (a fetch that request started and this one joined). A class: six are built
 * per request.
 */
class AskAgainIfRefusedElsewhere<T> implements CacheNamespace<T> {
  constructor(
    private readonly ns: CacheNamespace<T>,
    private readonly budget: UpstreamBudget,
  ) {}

  prime(entries: Map<string, T>, fetchedAt?: number): Promise<void> {
    return this.ns.prime(entries, fetchedAt);
  }

  async getMany(
    keys: readonly string[],
    fetch: (keys: string[]) => Promise<FetchResult<T>>,
    missing: (key: string) => Error,
  ): Promise<Array<Cached<T> | Error>> {
    const results = await this.ns.getMany(keys, fetch, missing);
    const again: number[] = [];
    results.forEach((r, i) => {
      const error = r instanceof Error ? r : r.failed;
      if (isBudgetRefusal(error) && !this.budget.refused(error)) again.push(i);
    });
    if (again.length === 0) return results;
    const retried = await this.ns.getMany(
      again.map((i) => keys[i]!),
      fetch,
      missing,
    );
    again.forEach((i, j) => {
      results[i] = retried[j]!;
    });
    return results;
  }
}

function isBudgetRefusal(error: Error | undefined): boolean {
  return error instanceof UpstreamError && error.code === 'UPSTREAM_BUDGET_EXCEEDED';
}

function isNotFound(error: Error): boolean {
  return (error as GraphQLError).extensions?.code === 'NOT_FOUND';
}

function unwrap<T>(results: Array<Cached<T> | Error>): Array<Cached<T> | Error> {
  return results.map((r) => (r instanceof Error ? toClientError(r) : r));
}

function groupByCurrency(keys: readonly string[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const key of keys) {
    const i = key.indexOf(':');
    const currency = key.slice(0, i);
    const list = groups.get(currency) ?? [];
    list.push(key.slice(i + 1));
    groups.set(currency, list);
  }
  return groups;
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
