import DataLoader from 'dataloader';
import type { Cache, Cached, FetchResult } from '../cache.js';
import type { Config } from '../config.js';
import { notFound } from '../errors.js';
import type { UpstreamBudget } from '../http/budget.js';
import type { ProviderAbsences } from '../market/absences.js';
import {
  type MarketKey,
  type MarketsPageKey,
  marketKey,
  marketsPageKey,
  type QuoteKey,
  quoteKey,
} from '../market/keys.js';
import { fetchMarketsPage, type MarketRow, marketsPageCache } from '../market/markets-pages.js';
import type { AssetInfo, MarketData, Price } from '../market/model.js';
import type { AssetRegistry } from '../market/registry.js';
import type { Sources } from '../sources/index.js';
import { groupBy, isNotFound, ownView, unwrap } from './shared.js';

// Asset metadata, market data and ranking pages: all from CoinGecko's coins/markets, whose rows carry
// an asset, its market data and its price at once. Whatever a markets call returns is kept under every
// namespace it answers (asset, market, and CoinGecko's quote, the latter only where nothing fresher is
// held), so a later field of the same assets costs no call of its own.

export interface MarketLoaders {
  asset: DataLoader<string, Cached<AssetInfo>>;
  market: DataLoader<MarketKey, Cached<MarketData>, string>;
  marketsPage: DataLoader<MarketsPageKey, Cached<MarketRow[]>, string>;
}

export interface MarketLoaderDeps {
  config: Config;
  cache: Cache;
  sources: Sources;
  /** The providers' catalogues: what an asset is when the markets call cannot say (see `asset`). */
  identity: Pick<AssetRegistry, 'lookup'>;
  /** Assets the markets call was seen to leave out, so they are not asked about on every query. */
  absences: Pick<ProviderAbsences, 'markets'>;
  budget?: UpstreamBudget;
  now?: () => number;
}

export function createMarketLoaders(deps: MarketLoaderDeps): MarketLoaders {
  const { config, cache, sources, budget } = deps;
  const now = deps.now ?? Date.now;
  const ttl = config.cache.ttl;
  const assets = ownView(cache.namespace<AssetInfo>('asset', ttl.metadata), budget);
  const markets = ownView(cache.namespace<MarketData>('market', ttl.market), budget);
  const quotes = ownView(cache.namespace<Price>('quote', ttl.price), budget);
  const pages = ownView(marketsPageCache(cache, config), budget);
  const cg = sources.coingecko;

  /** Keeps what a markets call returned under the asset, market and (CoinGecko) quote namespaces. */
  async function keepMarkets(rows: MarketRow[], currency: string) {
    const quote = (assetId: string): QuoteKey => ({ provider: 'coingecko', currency, assetId });
    await Promise.all([
      assets.prime(new Map(rows.map((r) => [r.asset.id, r.asset]))),
      markets.prime(new Map(rows.map((r) => [marketKey({ currency, assetId: r.asset.id }), r.market]))),
      quotes.fill(new Map(rows.map((r) => [quoteKey(quote(r.asset.id)), priceOf(r.market)]))),
    ]);
  }

  /** One markets call for the ids not known to be missing from it; what it leaves out is remembered. */
  async function fetchMarkets(ids: string[], currency: string) {
    const keyOf = (assetId: string) => marketKey({ currency, assetId });
    const absent = await deps.absences.markets.known(ids.map(keyOf));
    const asked = absent.size === 0 ? ids : ids.filter((id) => !absent.has(keyOf(id)));
    if (asked.length === 0) return [];
    const rows = await cg.markets(asked, currency);
    const answered = new Set(rows.map((r) => r.asset.id));
    await Promise.all([
      keepMarkets(rows, currency),
      deps.absences.markets.remember(asked.filter((id) => !answered.has(id)).map(keyOf)),
    ]);
    return rows;
  }

  // The markets call first: it carries the asset with its rank and logo, and its market data and price
  // for the fields that usually follow. An asset it cannot give (CoinGecko failing, or a listed coin
  // without market data) comes from the catalogues, uncached, as they have it: the catalogues are kept
  // on their own, so a known asset resolves while CoinGecko is out. Only a catalogue that was read says
  // NOT_FOUND; otherwise the markets call's (or the catalogue's) coded error stands.
  const asset = new DataLoader<string, Cached<AssetInfo>>(async (ids) => {
    const results = await assets.getMany(
      ids,
      async (missing) => {
        const rows = await fetchMarkets(missing, 'usd');
        return new Map(rows.map((r) => [r.asset.id, r.asset]));
      },
      (id) => notFound('asset', id),
    );
    const unanswered = ids.filter((_, i) => results[i] instanceof Error);
    if (unanswered.length === 0) return unwrap(results);
    const listed = await deps.identity.lookup(unanswered).catch((error: Error) => error);
    return unwrap(
      results.map((r, i) => {
        if (!(r instanceof Error)) return r;
        const known = listed instanceof Error ? listed : listed.get(ids[i]!);
        // Not listed: the markets call's answer stands (NOT_FOUND, or its failure).
        if (known === undefined) return r;
        if (known instanceof Error) return isNotFound(r) ? known : r;
        return { value: known, fetchedAt: now(), stale: false };
      }),
    );
  });

  const market = new DataLoader<MarketKey, Cached<MarketData>, string>(
    async (keys) => {
      const byString = new Map(keys.map((k) => [marketKey(k), k]));
      return unwrap(
        await markets.getMany(
          keys.map(marketKey),
          async (missing) => {
            const out: FetchResult<MarketData> = new Map();
            const wanted = missing.map((s) => byString.get(s)!);
            for (const [currency, group] of groupBy(wanted, (k) => k.currency)) {
              const rows = await fetchMarkets(
                group.map((k) => k.assetId),
                currency,
              );
              for (const row of rows) out.set(marketKey({ currency, assetId: row.asset.id }), row.market);
            }
            return out;
          },
          (s) => notFound('asset', byString.get(s)!.assetId),
        ),
      );
    },
    { cacheKeyFn: marketKey },
  );

  const marketsPage = new DataLoader<MarketsPageKey, Cached<MarketRow[]>, string>(
    async (keys) => {
      const byString = new Map(keys.map((k) => [marketsPageKey(k), k]));
      return unwrap(
        await pages.getMany(
          keys.map(marketsPageKey),
          async (missing) => {
            const out: FetchResult<MarketRow[]> = new Map();
            await Promise.all(
              missing.map(async (s) => {
                const key = byString.get(s)!;
                const rows = await fetchMarketsPage(sources, key);
                await keepMarkets(rows, key.currency);
                out.set(s, rows);
              }),
            );
            return out;
          },
          (s) => notFound('markets page', s),
        ),
      );
    },
    { cacheKeyFn: marketsPageKey },
  );

  return { asset, market, marketsPage };
}

/** The quote a markets row carries: CoinGecko's price, as simple/price would give it. */
function priceOf(m: MarketData): Price {
  return {
    assetId: m.assetId,
    currency: m.currency,
    value: m.price,
    change24h: m.change24h,
    asOf: m.asOf,
    source: 'coingecko',
    stale: false,
  };
}
