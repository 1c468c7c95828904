import { STATUS_CODES } from 'node:http';
import type { DialectFactory, Route, SandboxRequest, SandboxResponse } from '../../dialect.js';
import type { CatalogueAsset } from '../../market/catalogue.js';
import { CATEGORIES } from '../../market/categories.js';
import type { Market } from '../../market/market.js';
import { createPageMemo } from '../../page-memo.js';
import { createCoinGeckoSeries, DAY, round } from './series.js';

// CoinGecko API v3 as the keyless/Demo tier answers it (shared/reference/upstream-apis.md §1): JSON
// numbers, lower-case symbols, ISO timestamps except `last_updated_at` (unix seconds) and chart/OHLC
// times (ms). Where CoinGecko's behaviour is undocumented the sandbox picks one and says so here:
// - `per_page` above 250 is served as 250 and anything not in 1..250 falls back to the default 100,
//   silently, so a client that asks for more rows than the cap just gets fewer rows.
// - `ids=` lookups paginate like every other /coins/markets query: 150 ids with the default per_page
//   answer 100 rows.
// - History older than 365 days (`days` > 365, `days=max`, a range starting earlier) is refused the way
//   the public API refuses it: 401 with error_code 10012 in CoinGecko's nested error shape.
// - Missing/invalid parameters answer 400 `{"error":"…"}` (CoinGecko's flat shape for bad input).
// - `symbols=` lookups key /simple/price by coin id, and pick the top-ranked coin per symbol unless
//   `include_tokens=all`.
// - `market_cap_desc`/`market_cap_asc` order by the catalogue rank (which is what market_cap_rank says).
// - `category=` (src/sandbox/market/categories.ts) takes precedence over ids/names/symbols, as
//   documented; an id that is not a category answers an empty list (the docs do not say what the live
//   API does with one).
// - ATH/ATL are taken over the last 365 daily closes (00:00 UTC) plus now; roi is always null.
// Image URLs have CoinGecko's form and are never fetched by anything.

const PUBLIC_HISTORY_DAYS = 365;
const MAX_PER_PAGE = 250;
const DEFAULT_PER_PAGE = 100;
const CHANGE_WINDOWS: Record<string, number> = {
  '1h': 3_600_000,
  '24h': DAY,
  '7d': 7 * DAY,
  '14d': 14 * DAY,
  '30d': 30 * DAY,
  '200d': 200 * DAY,
  '1y': 365 * DAY,
};
const OHLC_DAYS = new Set(['1', '7', '14', '30', '90', '180', '365', 'max']);
const RATE_LIMIT_MESSAGE =
  "You've exceeded the Rate Limit. Please visit https://www.coingecko.com/en/api/pricing to subscribe to our API plans for higher rate limits.";
const HISTORY_LIMIT_MESSAGE =
  'Your request exceeds the allowed time range. Public API users are limited to querying historical data within the past 365 days. Upgrade to a paid plan to enjoy full historical data access: https://www.coingecko.com/en/api/pricing. ';

export const createCoinGeckoDialect: DialectFactory = ({ market, tickMs }) => {
  const series = createCoinGeckoSeries(market);
  const pages = createPageMemo({ now: market.now, tickMs });

  function isCurrency(code: string): boolean {
    return market.fxPerUsd(code, market.now()) !== undefined;
  }

  function ping(): SandboxResponse {
    return { json: { gecko_says: '(V3) To the Moon!' } };
  }

  function coinsList(request: SandboxRequest): SandboxResponse {
    const withPlatforms = readFlag(request.url, 'include_platform', false);
    const coins = [...market.assets]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((asset) => ({
        id: asset.id,
        symbol: asset.symbol.toLowerCase(),
        name: asset.name,
        ...(withPlatforms ? { platforms: { ...asset.contracts } } : {}),
      }));
    return { json: coins };
  }

  function coinsMarkets(request: SandboxRequest): SandboxResponse {
    const { url } = request;
    const currency = url.searchParams.get('vs_currency')?.toLowerCase();
    if (!currency) return flatError(400, 'Missing parameter vs_currency');
    if (!isCurrency(currency)) return flatError(400, 'invalid vs_currency');
    const perPage = readPerPage(url.searchParams.get('per_page'));
    const page = Math.max(1, readInt(url.searchParams.get('page')) ?? 1);
    const precision = readPrecision(url);
    const windows = readList(url, 'price_change_percentage').filter((w) => w in CHANGE_WINDOWS);
    const t = market.now();
    const selected = sortAssets(selectAssets(url) ?? [...market.assets], url.searchParams.get('order'), t);
    const rows = selected
      .slice((page - 1) * perPage, page * perPage)
      .map((asset) => marketRow(asset, currency, t, precision, windows));
    return { json: rows };
  }

  function sortAssets(assets: CatalogueAsset[], order: string | null, t: number): CatalogueAsset[] {
    const byId = (a: CatalogueAsset, b: CatalogueAsset) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    const volume = (a: CatalogueAsset) => market.dailyVolumeUsd(a.id, t);
    switch (order) {
      case 'market_cap_asc':
        return assets.sort((a, b) => b.rank - a.rank || byId(a, b));
      case 'volume_desc':
        return assets.sort((a, b) => volume(b) - volume(a) || byId(a, b));
      case 'volume_asc':
        return assets.sort((a, b) => volume(a) - volume(b) || byId(a, b));
      case 'id_asc':
        return assets.sort(byId);
      case 'id_desc':
        return assets.sort((a, b) => byId(b, a));
      default:
        return assets.sort((a, b) => a.rank - b.rank || byId(a, b));
    }
  }

  function marketRow(
    asset: CatalogueAsset,
    currency: string,
    t: number,
    precision: number | undefined,
    windows: string[],
  ): Record<string, unknown> {
    const day = market.stats24h(asset.id, t, currency);
    const price = day.close;
    const supply = asset.circulatingSupply;
    const fdvSupply = asset.maxSupply ?? asset.totalSupply;
    const extremes = series.extremes(asset.id, currency, t, PUBLIC_HISTORY_DAYS);
    const row: Record<string, unknown> = {
      id: asset.id,
      symbol: asset.symbol.toLowerCase(),
      name: asset.name,
      image: imageUrl(asset, 'large'),
      current_price: round(price, precision),
      market_cap: price * supply,
      market_cap_rank: asset.rank,
      fully_diluted_valuation: fdvSupply === null ? null : price * fdvSupply,
      total_volume: day.quoteVolume,
      high_24h: round(day.high, precision),
      low_24h: round(day.low, precision),
      price_change_24h: round(price - day.open, precision),
      price_change_percentage_24h: day.changePercent,
      market_cap_change_24h: (price - day.open) * supply,
      market_cap_change_percentage_24h: day.changePercent,
      circulating_supply: supply,
      total_supply: asset.totalSupply,
      max_supply: asset.maxSupply,
      ath: round(extremes.high.value, precision),
      ath_change_percentage: (price / extremes.high.value - 1) * 100,
      ath_date: isoTime(extremes.high.at),
      atl: round(extremes.low.value, precision),
      atl_change_percentage: (price / extremes.low.value - 1) * 100,
      atl_date: isoTime(extremes.low.at),
      roi: null,
      last_updated: isoTime(t),
    };
    for (const window of windows) {
      const then = market.price(asset.id, currency, t - CHANGE_WINDOWS[window]!)!;
      row[`price_change_percentage_${window}_in_currency`] = (price / then - 1) * 100;
    }
    return row;
  }

  function simplePrice(request: SandboxRequest): SandboxResponse {
    const { url } = request;
    const requested = readList(url, 'vs_currencies');
    if (requested.length === 0) return flatError(400, 'Missing parameter vs_currencies');
    const currencies = requested.filter(isCurrency);
    const precision = readPrecision(url);
    const withCap = readFlag(url, 'include_market_cap', false);
    const withVolume = readFlag(url, 'include_24hr_vol', false);
    const withChange = readFlag(url, 'include_24hr_change', false);
    const withUpdated = readFlag(url, 'include_last_updated_at', false);
    const t = market.now();
    const body: Record<string, Record<string, number>> = {};
    for (const asset of selectAssets(url) ?? []) {
      const entry: Record<string, number> = {};
      for (const currency of currencies) {
        const needStats = withVolume || withChange;
        const day = needStats ? market.stats24h(asset.id, t, currency) : undefined;
        const price = day?.close ?? market.price(asset.id, currency, t)!;
        entry[currency] = round(price, precision);
        if (withCap) entry[`${currency}_market_cap`] = price * asset.circulatingSupply;
        if (withVolume) entry[`${currency}_24h_vol`] = day!.quoteVolume;
        if (withChange) entry[`${currency}_24h_change`] = day!.changePercent;
      }
      if (withUpdated) entry.last_updated_at = Math.floor(t / 1000);
      body[asset.id] = entry;
    }
    return { json: body };
  }

  /** ids > names > symbols, as CoinGecko documents; undefined when none was given (= every coin). */
  function selectAssets(url: URL): CatalogueAsset[] | undefined {
    const category = url.searchParams.get('category');
    if (category) {
      const members = CATEGORIES.find((c) => c.id === category)?.assets ?? [];
      return unique(members.map((id) => market.byId(id)));
    }
    const ids = readList(url, 'ids');
    if (ids.length > 0) return unique(ids.map((id) => market.byId(id)));
    const names = readList(url, 'names');
    if (names.length > 0) {
      return unique(names.map((name) => market.assets.find((a) => a.name.toLowerCase() === name)));
    }
    const symbols = readList(url, 'symbols');
    if (symbols.length > 0) {
      const all = url.searchParams.get('include_tokens') === 'all';
      return unique(
        symbols.flatMap((symbol) => {
          const matches = market.bySymbol(symbol).sort((a, b) => a.rank - b.rank);
          return all ? matches : matches.slice(0, 1);
        }),
      );
    }
    return undefined;
  }

  function marketChart(request: SandboxRequest): SandboxResponse {
    const asset = market.byId(request.params.id!);
    if (!asset) return coinNotFound();
    const { url } = request;
    const currency = url.searchParams.get('vs_currency')?.toLowerCase();
    if (!currency) return flatError(400, 'Missing parameter vs_currency');
    if (!isCurrency(currency)) return flatError(400, 'invalid vs_currency');
    const rawDays = url.searchParams.get('days');
    if (!rawDays) return flatError(400, 'Missing parameter days');
    if (rawDays === 'max') return historyRestricted(market.now());
    const days = Number(rawDays);
    if (!Number.isFinite(days) || days <= 0) return flatError(400, 'invalid days');
    if (days > PUBLIC_HISTORY_DAYS) return historyRestricted(market.now());
    const t = market.now();
    const daily = url.searchParams.get('interval') === 'daily';
    const body = series.chart(asset, currency, t - days * DAY, t, { daily, precision: readPrecision(url) });
    return { json: body };
  }

  function marketChartRange(request: SandboxRequest): SandboxResponse {
    const asset = market.byId(request.params.id!);
    if (!asset) return coinNotFound();
    const { url } = request;
    const currency = url.searchParams.get('vs_currency')?.toLowerCase();
    if (!currency) return flatError(400, 'Missing parameter vs_currency');
    if (!isCurrency(currency)) return flatError(400, 'invalid vs_currency');
    const from = readNumber(url.searchParams.get('from'));
    const to = readNumber(url.searchParams.get('to'));
    if (from === undefined) return flatError(400, 'Missing parameter from');
    if (to === undefined) return flatError(400, 'Missing parameter to');
    const t = market.now();
    if (from * 1000 < t - PUBLIC_HISTORY_DAYS * DAY) return historyRestricted(t);
    const body = series.chart(asset, currency, from * 1000, to * 1000, {
      daily: false,
      precision: readPrecision(url),
    });
    return { json: body };
  }

  function ohlc(request: SandboxRequest): SandboxResponse {
    const asset = market.byId(request.params.id!);
    if (!asset) return coinNotFound();
    const { url } = request;
    const currency = url.searchParams.get('vs_currency')?.toLowerCase();
    if (!currency) return flatError(400, 'Missing parameter vs_currency');
    if (!isCurrency(currency)) return flatError(400, 'invalid vs_currency');
    const rawDays = url.searchParams.get('days');
    if (!rawDays) return flatError(400, 'Missing parameter days');
    if (!OHLC_DAYS.has(rawDays)) return flatError(400, 'invalid days');
    if (rawDays === 'max') return historyRestricted(market.now());
    return { json: series.ohlc(asset, currency, Number(rawDays), readPrecision(url)) };
  }

  function coin(request: SandboxRequest): SandboxResponse {
    const asset = market.byId(request.params.id!);
    if (!asset) return coinNotFound();
    const { url } = request;
    const t = market.now();
    const contracts = Object.entries(asset.contracts);
    // CoinGecko gives native coins an empty-key platform here (but {} in /coins/list).
    const platforms = contracts.length > 0 ? { ...asset.contracts } : { '': '' };
    const detail = Object.fromEntries(
      Object.entries(platforms).map(([chain, address]) => [
        chain,
        { decimal_place: null, contract_address: address },
      ]),
    );
    const body: Record<string, unknown> = {
      id: asset.id,
      symbol: asset.symbol.toLowerCase(),
      name: asset.name,
      web_slug: asset.id,
      asset_platform_id: contracts[0]?.[0] ?? null,
      platforms,
      detail_platforms: detail,
      categories: [],
      ...(readFlag(url, 'localization', true) ? { localization: { en: asset.name } } : {}),
      description: { en: '' },
      image: {
        thumb: imageUrl(asset, 'thumb'),
        small: imageUrl(asset, 'small'),
        large: imageUrl(asset, 'large'),
      },
      market_cap_rank: asset.rank,
      ...(readFlag(url, 'market_data', true) ? { market_data: coinMarketData(asset, t) } : {}),
      last_updated: isoTime(t),
      ...(readFlag(url, 'tickers', true) ? { tickers: [] } : {}),
    };
    return { json: body };
  }

  function coinMarketData(asset: CatalogueAsset, t: number): Record<string, unknown> {
    const perCurrency = (pick: (s: ReturnType<Market['stats24h']>) => number) =>
      Object.fromEntries(market.currencies.map((c) => [c, pick(market.stats24h(asset.id, t, c))]));
    const usd = market.stats24h(asset.id, t, 'usd');
    const supply = asset.circulatingSupply;
    return {
      current_price: perCurrency((s) => s.close),
      market_cap: perCurrency((s) => s.close * supply),
      market_cap_rank: asset.rank,
      total_volume: perCurrency((s) => s.quoteVolume),
      high_24h: perCurrency((s) => s.high),
      low_24h: perCurrency((s) => s.low),
      price_change_24h: usd.close - usd.open,
      price_change_percentage_24h: usd.changePercent,
      market_cap_change_24h: (usd.close - usd.open) * supply,
      market_cap_change_percentage_24h: usd.changePercent,
      price_change_percentage_24h_in_currency: perCurrency((s) => s.changePercent),
      circulating_supply: supply,
      total_supply: asset.totalSupply,
      max_supply: asset.maxSupply,
      last_updated: isoTime(t),
    };
  }

  function categoriesList(): SandboxResponse {
    return { json: CATEGORIES.map((c) => ({ category_id: c.id, name: c.name })) };
  }

  // Order matters: the shell takes the first match, and '/coins/:id' would also match 'list'/'markets'.
  const routes: Route[] = [
    { endpoint: 'ping', path: '/api/v3/ping', handle: ping },
    { endpoint: 'coins/list', path: '/api/v3/coins/list', handle: coinsList },
    {
      endpoint: 'coins/categories/list',
      path: '/api/v3/coins/categories/list',
      handle: categoriesList,
    },
    { endpoint: 'coins/markets', path: '/api/v3/coins/markets', handle: pages.wrap(coinsMarkets) },
    { endpoint: 'simple/price', path: '/api/v3/simple/price', handle: pages.wrap(simplePrice) },
    {
      endpoint: 'coins/market_chart/range',
      path: '/api/v3/coins/:id/market_chart/range',
      handle: marketChartRange,
    },
    { endpoint: 'coins/market_chart', path: '/api/v3/coins/:id/market_chart', handle: marketChart },
    { endpoint: 'coins/ohlc', path: '/api/v3/coins/:id/ohlc', handle: ohlc },
    { endpoint: 'coins/id', path: '/api/v3/coins/:id', handle: coin },
  ];

  return {
    provider: 'coingecko',
    basePath: '/api/v3',
    routes,
    notFound: () => flatError(404, 'Incorrect path. Please check https://www.coingecko.com/api/'),
    rateLimited: (retryAfter) => ({
      status: 429,
      headers: { 'retry-after': String(retryAfter) },
      json: { status: { error_code: 429, error_message: RATE_LIMIT_MESSAGE } },
    }),
    serverError: (status) => ({
      status,
      json: {
        status: { error_code: status, error_message: STATUS_CODES[status] ?? 'Internal Server Error' },
      },
    }),
    // Keyless free tier; Demo keys get 100/min (the gateway budgets for the lower figure).
    quota: { limit: 30, windowMs: 60_000 },
  };
};

function flatError(status: number, message: string): SandboxResponse {
  return { status, json: { error: message } };
}

function coinNotFound(): SandboxResponse {
  return flatError(404, 'coin not found');
}

function historyRestricted(now: number): SandboxResponse {
  return {
    status: 401,
    json: {
      error: {
        status: {
          timestamp: new Date(now).toISOString().replace('Z', '+00:00'),
          error_code: 10012,
          error_message: HISTORY_LIMIT_MESSAGE,
        },
      },
    },
  };
}

function imageUrl(asset: CatalogueAsset, size: 'thumb' | 'small' | 'large'): string {
  return `https://coin-images.coingecko.com/coins/images/${asset.rank}/${size}/${asset.id}.png`;
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

function readList(url: URL, name: string): string[] {
  const raw = url.searchParams.get(name);
  if (!raw) return [];
  return raw
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item.length > 0);
}

function readFlag(url: URL, name: string, fallback: boolean): boolean {
  const raw = url.searchParams.get(name);
  return raw === null ? fallback : raw === 'true';
}

function readInt(raw: string | null): number | undefined {
  if (raw === null || !/^\d+$/.test(raw)) return undefined;
  return Number(raw);
}

function readNumber(raw: string | null): number | undefined {
  if (raw === null || raw.trim() === '') return undefined;
  const value = Number(raw);
  return Number.isFinite(value) ? value : undefined;
}

function readPerPage(raw: string | null): number {
  const value = readInt(raw);
  if (value === undefined || value < 1) return DEFAULT_PER_PAGE;
  return Math.min(value, MAX_PER_PAGE);
}

/** `precision` is 'full' or 0..18 decimal places for price values; anything else means unrounded. */
function readPrecision(url: URL): number | undefined {
  const value = readInt(url.searchParams.get('precision'));
  return value !== undefined && value <= 18 ? value : undefined;
}

function unique(assets: Array<CatalogueAsset | undefined>): CatalogueAsset[] {
  return [...new Set(assets.filter((a): a is CatalogueAsset => a !== undefined))];
}
