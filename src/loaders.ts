import DataLoader from 'dataloader';
import type { GraphQLError } from 'graphql';
import type { Cache, Cached, FetchResult } from './cache.js';
import type { Config } from './config.js';
import { notFound, toClientError } from './errors.js';
import type { AssetInfo, Candle, MarketData, Price, Signal } from './model.js';
import type { QuoteAdapter, QuoteProvider } from './quotes.js';
import type { Sources } from './sources/index.js';

// One DataLoader per batchable upstream call, created fresh for every request (a DataLoader memoizes
// for its whole life, which must not outlive a request). Each batch function reads the shared cache
// first and sends only the misses upstream, chunked at the provider's real per-call limit; results go
// back in key order, missing keys as Error values (the DataLoader contract).

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
  /** Assembles a candle window from whichever providers can serve it (src/candles.ts). */
  fetchCandles: (key: CandleKey) => Promise<Candle[]>;
  quotes: Record<QuoteProvider, QuoteAdapter>;
  /** Provider preference for AUTO prices right now (health and quota aware). */
  quoteOrder: () => QuoteProvider[];
  /** Signals keyed providers publish, for a batch of assets (one call per provider endpoint). */
  fetchProviderSignals: (assetIds: string[]) => Promise<Map<string, Signal[]>>;
}

export const MARKETS_PAGE_SIZE = 250;

export function createLoaders(deps: LoaderDeps): Loaders {
  const { config, cache, sources, fetchCandles, quotes, quoteOrder } = deps;
  const ttl = config.cache.ttl;
  const assets = cache.namespace<AssetInfo>('asset', ttl.metadata);
  const markets = cache.namespace<MarketData>('market', ttl.market);
  const quoteCache = cache.namespace<Price>('quote', ttl.price);
  const pages = cache.namespace<MarketRow[]>('markets-page', ttl.market);
  const candles = cache.namespace<Candle[]>('candles', ttl.candles);
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
                const adapter = quotes[provider];
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
  // Windows of the same asset, interval and currency asked for in one batch (say 30 candles for a chart
  // and 102 for its signals) are fetched once, as their union, and sliced per key.
  const candle = new DataLoader<CandleKey, Cached<Candle[]>, string>(
    async (keys) => {
      const unions = new Map<string, CandleKey>();
      for (const k of keys) {
        const group = `${k.assetId}:${k.interval}:${k.currency}`;
        const u = unions.get(group);
        unions.set(group, u ? { ...u, from: Math.min(u.from, k.from), to: Math.max(u.to, k.to) } : { ...k });
      }
      const byKey = new Map([...unions.values()].map((u) => [candleKey(u), u]));
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
      return keys.map((k) => {
        const union = unions.get(`${k.assetId}:${k.interval}:${k.currency}`)!;
        const r = results.get(candleKey(union))!;
        if (r instanceof Error) return toClientError(r);
        const value = r.value.filter((c) => c.openTime.getTime() >= k.from && c.openTime.getTime() < k.to);
        return { ...r, value };
      });
    },
    { cacheKeyFn: candleKey },
  );

  const signalCache = cache.namespace<Signal[]>('signals', ttl.signals);
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
