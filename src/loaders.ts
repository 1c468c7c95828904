import DataLoader from 'dataloader';
import type { Cache, Cached, FetchResult } from './cache.js';
import type { Config } from './config.js';
import { notFound, toClientError } from './errors.js';
import type { AssetInfo, Candle, MarketData, Price } from './model.js';
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
  /** key `${currency}:${assetId}` */
  price: DataLoader<string, Cached<Price>>;
  marketsPage: DataLoader<MarketsPageKey, Cached<MarketRow[]>, string>;
  candles: DataLoader<CandleKey, Cached<Candle[]>, string>;
}

export interface LoaderDeps {
  config: Config;
  cache: Cache;
  sources: Sources;
  /** Assembles a candle window from whichever providers can serve it (src/candles.ts). */
  fetchCandles: (key: CandleKey) => Promise<Candle[]>;
}

export const MARKETS_PAGE_SIZE = 250;

export function createLoaders({ config, cache, sources, fetchCandles }: LoaderDeps): Loaders {
  const ttl = config.cache.ttl;
  const assets = cache.namespace<AssetInfo>('asset', ttl.metadata);
  const markets = cache.namespace<MarketData>('market', ttl.market);
  const prices = cache.namespace<Price>('price', ttl.price);
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

  const price = new DataLoader<string, Cached<Price>>(
    async (keys) =>
      unwrap(
        await prices.getMany(
          keys,
          async (missing) => {
            // simple/price takes ids × currencies in one call, so one batch is one upstream request.
            const groups = groupByCurrency(missing);
            const ids = [...new Set(missing.map((k) => k.slice(k.indexOf(':') + 1)))];
            const currencies = [...groups.keys()];
            const rows = (
              await Promise.all(chunk(ids, cg.maxIdsPerCall).map((part) => cg.simplePrices(part, currencies)))
            ).flat();
            return new Map(rows.map((p) => [`${p.currency}:${p.assetId}`, p]));
          },
          (key) => notFound('price for', key.slice(key.indexOf(':') + 1)),
        ),
      ),
    { maxBatchSize: cg.maxIdsPerCall },
  );

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
  const candle = new DataLoader<CandleKey, Cached<Candle[]>, string>(
    async (keys) =>
      unwrap(
        await candles.getMany(
          keys.map(candleKey),
          async (missing) => {
            const byKey = new Map(keys.map((k) => [candleKey(k), k]));
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
        ),
      ),
    { cacheKeyFn: candleKey },
  );

  return { asset, market, price, marketsPage, candles: candle };
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
