import type { ProviderConfig } from '../config.js';
import type { Http } from '../http/client.js';
import type {
  AssetCategory,
  AssetInfo,
  Candle,
  ContractAddress,
  MarketData,
  Price,
} from '../market/model.js';
import { chunk } from './chunk.js';
import {
  categoriesListBody,
  coinListBody,
  type MarketRow,
  marketChartBody,
  marketsBody,
  ohlcBody,
  pingBody,
  simplePriceBody,
} from './coingecko-schemas.js';

// CoinGecko v3: URLs, auth and vendor JSON → model types. Every call goes through deps.http, which owns
// timeouts, retries, quotas and the breaker; a body that fails its schema is the http layer's
// UPSTREAM_BAD_RESPONSE. Symbols come back upper-case (CoinGecko sends them lower-case).

const MINUTE = 60_000;
const DAY = 86_400_000;
/** /coins/ohlc accepts only these `days` (plus 'max', which the keyless/Demo tier refuses). */
const OHLC_DAYS = [1, 7, 14, 30, 90, 180, 365] as const;

export interface CoinGeckoDeps {
  http: Http;
  config: ProviderConfig;
  /** Clock for values CoinGecko leaves undated and for trimming candles; Date.now by default. */
  now?: () => number;
}

export interface AssetMarket {
  asset: AssetInfo;
  market: MarketData;
}

export interface ChartPoint {
  at: Date;
  price: number;
  /** Rolling 24 h volume in the quote currency at `at`; null when CoinGecko has no point there. */
  volume: number | null;
}

export interface CoinGeckoSource {
  /**
   * Ids per upstream call. /coins/markets serves at most 250 rows per page (per_page is capped there,
   * silently), so a larger `ids=` batch would lose rows; /simple/price is chunked the same way to keep
   * URLs short (its documented id cap is higher).
   */
  readonly maxIdsPerCall: number;
  markets(ids: readonly string[], currency: string): Promise<AssetMarket[]>;
  /**
   * A page of the market ranking; `order` is CoinGecko's (market_cap_desc, volume_desc, id_asc, ...).
   * With `category` (a CoinGecko category id, see categories()) only that category's coins are ranked.
   */
  topMarkets(
    currency: string,
    page: number,
    perPage: number,
    order?: string,
    category?: string,
  ): Promise<AssetMarket[]>;
  /** Every category topMarkets takes (/coins/categories/list). */
  categories(): Promise<AssetCategory[]>;
  simplePrices(ids: readonly string[], currencies: readonly string[]): Promise<Price[]>;
  coinList(): Promise<AssetInfo[]>;
  ohlc(id: string, currency: string, days: number): Promise<Candle[]>;
  marketChartRange(id: string, currency: string, from: Date, to: Date): Promise<ChartPoint[]>;
  /** Resolves when CoinGecko answers its ping. */
  ping(): Promise<void>;
}

/** Ids per /coins/markets or /simple/price call (the cost model in src/cost/ counts with it). */
export const COINGECKO_IDS_PER_CALL = 250;

export function createCoinGeckoSource(deps: CoinGeckoDeps): CoinGeckoSource {
  const { http, config } = deps;
  const now = deps.now ?? Date.now;
  const maxIdsPerCall = COINGECKO_IDS_PER_CALL;

  /** Demo keys go in x-cg-demo-api-key; the pro host wants x-cg-pro-api-key (and rejects the other). */
  function authHeaders(): Record<string, string> {
    if (!config.key) return {};
    const host = URL.canParse(config.url) ? new URL(config.url).hostname : '';
    return { [host.startsWith('pro-api.') ? 'x-cg-pro-api-key' : 'x-cg-demo-api-key']: config.key };
  }

  function isPro(): boolean {
    return URL.canParse(config.url) && new URL(config.url).hostname.startsWith('pro-api.');
  }

  async function fetchMarkets(query: Record<string, string>, currency: string): Promise<AssetMarket[]> {
    const rows = await http.get({
      provider: 'coingecko',
      endpoint: 'coins/markets',
      path: '/coins/markets',
      query: { vs_currency: currency, ...query },
      headers: authHeaders(),
      schema: marketsBody,
    });
    return rows.flatMap((row) => {
      const pair = toAssetMarket(row, currency, now);
      return pair ? [pair] : [];
    });
  }

  async function markets(ids: readonly string[], currency: string): Promise<AssetMarket[]> {
    const cur = currency.toLowerCase();
    const batches = chunk(unique(ids), maxIdsPerCall);
    const results = await Promise.all(
      batches.map((batch) =>
        fetchMarkets({ ids: batch.join(','), per_page: String(maxIdsPerCall), page: '1' }, cur),
      ),
    );
    return results.flat();
  }

  async function topMarkets(
    currency: string,
    page: number,
    perPage: number,
    order = 'market_cap_desc',
    category?: string,
  ): Promise<AssetMarket[]> {
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > maxIdsPerCall) {
      throw new RangeError(
        `coingecko topMarkets: perPage must be a whole number from 1 to 250, got ${perPage}`,
      );
    }
    if (!Number.isInteger(page) || page < 1) {
      throw new RangeError(`coingecko topMarkets: page must be a whole number from 1, got ${page}`);
    }
    return fetchMarkets(
      { order, per_page: String(perPage), page: String(page), ...(category ? { category } : {}) },
      currency.toLowerCase(),
    );
  }

  async function categories(): Promise<AssetCategory[]> {
    const rows = await http.get({
      provider: 'coingecko',
      endpoint: 'coins/categories/list',
      path: '/coins/categories/list',
      headers: authHeaders(),
      schema: categoriesListBody,
    });
    return rows.map((row) => ({ id: row.category_id, name: row.name }));
  }

  async function simplePrices(ids: readonly string[], currencies: readonly string[]): Promise<Price[]> {
    const curs = unique(currencies.map((c) => c.toLowerCase()));
    if (curs.length === 0) return [];
    const batches = chunk(unique(ids), maxIdsPerCall);
    const bodies = await Promise.all(
      batches.map((batch) =>
        http.get({
          provider: 'coingecko',
          endpoint: 'simple/price',
          path: '/simple/price',
          query: {
            ids: batch.join(','),
            vs_currencies: curs.join(','),
            include_24hr_change: 'true',
            include_last_updated_at: 'true',
          },
          headers: authHeaders(),
          schema: simplePriceBody,
        }),
      ),
    );
    const prices: Price[] = [];
    for (const [index, body] of bodies.entries()) {
      for (const id of batches[index]!) {
        const entry = body[id];
        if (!entry) continue; // unknown ids are omitted by CoinGecko
        const updated = entry.last_updated_at;
        const asOf = new Date(typeof updated === 'number' ? updated * 1000 : now());
        for (const cur of curs) {
          const value = entry[cur];
          if (typeof value !== 'number') continue;
          const change = entry[`${cur}_24h_change`];
          prices.push({
            assetId: id,
            currency: cur,
            value,
            change24h: typeof change === 'number' ? change : null,
            asOf,
            source: 'coingecko',
            stale: false,
          });
        }
      }
    }
    return prices;
  }

  async function coinList(): Promise<AssetInfo[]> {
    const coins = await http.get({
      provider: 'coingecko',
      endpoint: 'coins/list',
      path: '/coins/list',
      query: { include_platform: 'true' },
      headers: authHeaders(),
      schema: coinListBody,
    });
    return coins.map((coin) => ({
      id: coin.id,
      symbol: coin.symbol.toUpperCase(),
      name: coin.name,
      rank: null,
      logo: null,
      contracts: toContracts(coin.platforms),
    }));
  }

  /**
   * CoinGecko picks the candle body from `days` (1–2 → 30 min, 3–30 → 4 h, more → 4 days) and stamps
   * each row with its close time, so the open time is derived from the same rule. `days` is rounded up
   * to the next value CoinGecko accepts; above 365 the pro API gets 'max', Demo/keyless stays at 365
   * (it refuses older history). Candles wholly before `now − days` are dropped.
   */
  async function ohlc(id: string, currency: string, days: number): Promise<Candle[]> {
    if (!(days > 0)) throw new RangeError(`coingecko ohlc: days must be positive, got ${days}`);
    const fit = OHLC_DAYS.find((d) => d >= days);
    const param = fit !== undefined ? String(fit) : isPro() ? 'max' : '365';
    const length = ohlcCandleMs(fit ?? 365);
    const rows = await http.get({
      provider: 'coingecko',
      endpoint: 'coins/ohlc',
      path: `/coins/${encodeURIComponent(id)}/ohlc`,
      query: { vs_currency: currency.toLowerCase(), days: param },
      headers: authHeaders(),
      schema: ohlcBody,
    });
    const since = now() - days * DAY;
    return rows
      .filter(([closeTime]) => closeTime > since)
      .map(([closeTime, open, high, low, close]) => ({
        openTime: new Date(closeTime - length),
        closeTime: new Date(closeTime),
        open,
        high,
        low,
        close,
        volume: null,
        source: 'coingecko' as const,
      }));
  }

  async function marketChartRange(id: string, currency: string, from: Date, to: Date): Promise<ChartPoint[]> {
    const body = await http.get({
      provider: 'coingecko',
      endpoint: 'coins/market_chart/range',
      path: `/coins/${encodeURIComponent(id)}/market_chart/range`,
      query: {
        vs_currency: currency.toLowerCase(),
        from: String(Math.floor(from.getTime() / 1000)),
        to: String(Math.ceil(to.getTime() / 1000)),
      },
      headers: authHeaders(),
      schema: marketChartBody,
    });
    const volumes = new Map(body.total_volumes.map(([at, value]) => [at, value]));
    return body.prices.flatMap(([at, price]) =>
      price === null ? [] : [{ at: new Date(at), price, volume: volumes.get(at) ?? null }],
    );
  }

  async function ping(): Promise<void> {
    await http.get({
      provider: 'coingecko',
      endpoint: 'ping',
      path: '/ping',
      headers: authHeaders(),
      schema: pingBody,
    });
  }

  return {
    maxIdsPerCall,
    markets,
    topMarkets,
    categories,
    simplePrices,
    coinList,
    ohlc,
    marketChartRange,
    ping,
  };
}

/** A row without a price (delisted/inactive coin) has no MarketData to give. */
function toAssetMarket(row: MarketRow, currency: string, now: () => number): AssetMarket | undefined {
  if (row.current_price === null) return undefined;
  const updated = row.last_updated === null ? Number.NaN : Date.parse(row.last_updated);
  return {
    asset: {
      id: row.id,
      symbol: row.symbol.toUpperCase(),
      name: row.name,
      rank: row.market_cap_rank,
      logo: row.image || null,
      contracts: [], // /coins/markets carries no platforms; coinList() has them
    },
    market: {
      assetId: row.id,
      currency,
      price: row.current_price,
      // CoinGecko reports an unknown market cap as 0.
      marketCap: row.market_cap === 0 ? null : row.market_cap,
      volume24h: row.total_volume,
      change24h: row.price_change_percentage_24h,
      high24h: row.high_24h,
      low24h: row.low_24h,
      circulatingSupply: row.circulating_supply,
      totalSupply: row.total_supply,
      maxSupply: row.max_supply,
      asOf: new Date(Number.isNaN(updated) ? now() : updated),
      source: 'coingecko',
    },
  };
}

function toContracts(platforms: Record<string, string | null> | undefined): ContractAddress[] {
  return Object.entries(platforms ?? {}).flatMap(([chain, address]) =>
    chain && address ? [{ chain, address }] : [],
  );
}

function ohlcCandleMs(days: number): number {
  if (days <= 2) return 30 * MINUTE;
  if (days <= 30) return 240 * MINUTE;
  return 4 * DAY;
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}
