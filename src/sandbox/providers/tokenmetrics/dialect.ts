import type { DialectFactory, Route, SandboxRequest, SandboxResponse } from '../../dialect.js';
import type { CatalogueAsset } from '../../market/catalogue.js';
import { createTokenAnalytics, DAY, type TokenAnalytics, type TokenDay } from './analytics.js';

// Token Metrics data API v2 (shared/reference/upstream-apis.md §7): header `api_key` (a community
// plugin's `x-api-key` is accepted too), envelope {success, message, length, data[]}, UPPER_CASE
// field names, JSON numbers, ISO `DATE`s, comma lists in filters. Only assets with a
// `tokenMetricsId` in the catalogue exist here. Choices the sandbox makes where the docs are silent
// (all [unverified] against the real service):
// - A missing key answers 401 {success:false, message:"API key is required"}; a wrong one 401
//   {success:false, message:"Invalid API key"}. 429 is {success:false, message:"Rate limit exceeded"}
//   with Retry-After; 5xx and unknown paths use the same envelope.
// - `limit` defaults to 50 and is silently capped at 100 (so a client that sends 1000 and stops at the
//   first short page, as the official SDK does, stops after 100 rows); a non-integer or negative
//   `limit`/`page` answers 400. `page` starts at 0.
// - Dated endpoints without startDate/endDate answer the latest day only (today, 00:00 UTC); with one
//   bound the other defaults to it (startDate alone runs to today). Rows are ordered by DATE
//   descending, then by market-cap rank. Dates after today are clamped to today.
// - EXCHANGE_LIST/CATEGORY_LIST items are {exchange_id, exchange_name} / {category_id, category_name,
//   category_slug}; CONTRACT_ADDRESS is an object chain → address ({} for native coins).
// - Empty results are success:true with length 0.

/** The one key the sandbox accepts, in `api_key` (or `x-api-key`). */
export const SANDBOX_TOKENMETRICS_KEY = 'sandbox-tm-key';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 100;
const OK_MESSAGE = 'Data fetched successfully';
const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

interface Paging {
  limit: number;
  page: number;
}

export const createTokenMetricsDialect: DialectFactory = ({ market }) => {
  function coveredAssets(): CatalogueAsset[] {
    return market.assets.filter((a) => a.tokenMetricsId !== null).sort((a, b) => a.rank - b.rank);
  }

  /** Applies the filters every endpoint shares: token_id, symbol, token_name, category. */
  function selectAssets(url: URL): CatalogueAsset[] {
    const ids = readList(url, 'token_id');
    const symbols = readList(url, 'symbol').map((s) => s.toUpperCase());
    const names = readList(url, 'token_name').map((s) => s.toLowerCase());
    const categories = readList(url, 'category').map((s) => s.toLowerCase());
    return coveredAssets().filter(
      (asset) =>
        (ids.length === 0 || ids.includes(String(asset.tokenMetricsId))) &&
        (symbols.length === 0 || symbols.includes(asset.symbol.toUpperCase())) &&
        (names.length === 0 || names.includes(asset.name.toLowerCase())) &&
        (categories.length === 0 ||
          categoriesOf(asset).some(
            (c) => categories.includes(c.category_slug) || categories.includes(c.category_name.toLowerCase()),
          )),
    );
  }

  function tokens(request: SandboxRequest): SandboxResponse {
    const paging = readPaging(request.url);
    if (typeof paging === 'string') return failure(400, paging);
    const rows = selectAssets(request.url)
      .slice(paging.page * paging.limit, (paging.page + 1) * paging.limit)
      .map((asset) => ({
        TOKEN_ID: asset.tokenMetricsId,
        TOKEN_NAME: asset.name,
        TOKEN_SYMBOL: asset.symbol,
        EXCHANGE_LIST: exchangesOf(asset),
        CATEGORY_LIST: categoriesOf(asset),
        CONTRACT_ADDRESS: { ...asset.contracts },
        TM_LINK: tmLink(asset),
      }));
    return success(rows);
  }

  /**
   * Serves one page of (asset × day) rows, newest day first then by rank. Without `keep` only the
   * page's rows are computed; with it, rows before the page are tested with `keep` alone.
   */
  function datedRows(
    request: SandboxRequest,
    toRow: (asset: CatalogueAsset, day: TokenDay) => Record<string, unknown>,
    keep?: (analytics: TokenAnalytics, asset: CatalogueAsset, date: number) => boolean,
  ): SandboxResponse {
    const { url } = request;
    const paging = readPaging(url);
    if (typeof paging === 'string') return failure(400, paging);
    const range = readRange(url, market.now());
    if (typeof range === 'string') return failure(400, range);
    const assets = selectAssets(url);
    const analytics = createTokenAnalytics(market);
    const days = range.end < range.start ? 0 : (range.end - range.start) / DAY + 1;
    const total = days * assets.length;
    const at = (i: number) => ({
      asset: assets[i % assets.length]!,
      date: range.end - Math.floor(i / assets.length) * DAY,
    });
    const offset = paging.page * paging.limit;
    const rows: Record<string, unknown>[] = [];
    let matched = 0;
    for (let i = keep ? 0 : offset; i < total && rows.length < paging.limit; i++) {
      const { asset, date } = at(i);
      if (keep && (!keep(analytics, asset, date) || matched++ < offset)) continue;
      rows.push(toRow(asset, analytics.day(asset, date)));
    }
    return success(rows);
  }

  function tradingSignals(request: SandboxRequest): SandboxResponse {
    const wanted = request.url.searchParams.get('signal');
    if (wanted !== null && !['1', '-1', '0'].includes(wanted)) {
      return failure(400, `signal must be 1, -1 or 0, got ${JSON.stringify(wanted)}`);
    }
    return datedRows(
      request,
      (asset, day) => ({
        ...identity(asset),
        DATE: new Date(day.date).toISOString(),
        TRADING_SIGNAL: day.signal,
        TOKEN_TREND: day.trend,
        TRADING_SIGNALS_RETURNS: round(day.signalReturns, 6),
        HOLDING_RETURNS: round(day.holdingReturns, 6),
        TM_TRADER_GRADE: round(day.traderGrade, 2),
        TM_INVESTOR_GRADE: round(day.investorGrade, 2),
        TM_LINK: tmLink(asset),
      }),
      wanted === null
        ? undefined
        : (analytics, asset, date) => analytics.signal(asset, date) === Number(wanted),
    );
  }

  function traderGrades(request: SandboxRequest): SandboxResponse {
    return datedRows(request, (asset, day) => ({
      ...identity(asset),
      DATE: new Date(day.date).toISOString(),
      TA_GRADE: round(day.taGrade, 2),
      QUANT_GRADE: round(day.quantGrade, 2),
      TM_TRADER_GRADE: round(day.traderGrade, 2),
      TM_TRADER_GRADE_24H_PCT_CHANGE: round(day.traderGrade24hPctChange, 4),
    }));
  }

  function investorGrades(request: SandboxRequest): SandboxResponse {
    return datedRows(request, (asset, day) => ({
      ...identity(asset),
      DATE: new Date(day.date).toISOString(),
      TM_INVESTOR_GRADE: round(day.investorGrade, 2),
      TM_INVESTOR_GRADE_7D_PCT_CHANGE: round(day.investorGrade7dPctChange, 4),
      FUNDAMENTAL_GRADE: round(day.fundamentalGrade, 2),
      TECHNOLOGY_GRADE: round(day.technologyGrade, 2),
      VALUATION_GRADE: round(day.valuationGrade, 2),
    }));
  }

  const routes: Route[] = [
    { endpoint: 'tokens', path: '/v2/tokens', handle: authenticated(tokens) },
    { endpoint: 'trading-signals', path: '/v2/trading-signals', handle: authenticated(tradingSignals) },
    { endpoint: 'trader-grades', path: '/v2/trader-grades', handle: authenticated(traderGrades) },
    { endpoint: 'investor-grades', path: '/v2/investor-grades', handle: authenticated(investorGrades) },
  ];

  return {
    provider: 'tokenmetrics',
    basePath: '/v2',
    routes,
    notFound: () => failure(404, 'Not Found'),
    rateLimited: (retryAfter) => ({
      ...failure(429, 'Rate limit exceeded'),
      headers: { 'retry-after': String(retryAfter) },
    }),
    serverError: (status) => failure(status, 'Internal server error'),
    // Plan-based and unpublished; 60/min matches the gateway's budget for the entry plan.
    quota: { limit: 60, windowMs: 60_000 },
  };
};

function authenticated(handle: (request: SandboxRequest) => SandboxResponse) {
  return (request: SandboxRequest): SandboxResponse => {
    const key = header(request, 'api_key') ?? header(request, 'x-api-key');
    if (key === undefined || key === '') return failure(401, 'API key is required');
    if (key !== SANDBOX_TOKENMETRICS_KEY) return failure(401, 'Invalid API key');
    return handle(request);
  };
}

function identity(asset: CatalogueAsset) {
  return { TOKEN_ID: asset.tokenMetricsId, TOKEN_NAME: asset.name, TOKEN_SYMBOL: asset.symbol };
}

function tmLink(asset: CatalogueAsset): string {
  return `https://app.tokenmetrics.com/en/${asset.id}`;
}

function exchangesOf(asset: CatalogueAsset) {
  const exchanges = [{ exchange_id: 'gate', exchange_name: 'Gate.io' }];
  if (asset.binanceBase) exchanges.unshift({ exchange_id: 'binance', exchange_name: 'Binance' });
  return exchanges;
}

/** Derived from catalogue facts: chain-native coins are layer-1, near-flat prices are stablecoins. */
function categoriesOf(asset: CatalogueAsset) {
  const categories: Array<{ category_id: number; category_name: string; category_slug: string }> = [];
  if (asset.llamaChain)
    categories.push({ category_id: 1, category_name: 'Layer 1', category_slug: 'layer-1' });
  if (asset.volatility < 0.002)
    categories.push({ category_id: 2, category_name: 'Stablecoins', category_slug: 'stablecoins' });
  for (const chain of Object.keys(asset.contracts)) {
    const name = chain
      .split('-')
      .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
      .join(' ');
    categories.push({
      category_id: 100 + (stableHash(chain) % 900),
      category_name: `${name} Ecosystem`,
      category_slug: `${chain}-ecosystem`,
    });
  }
  return categories;
}

function stableHash(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) >>> 0;
  return h;
}

function success(data: unknown[]): SandboxResponse {
  return { json: { success: true, message: OK_MESSAGE, length: data.length, data } };
}

function failure(status: number, message: string): SandboxResponse {
  return { status, json: { success: false, message } };
}

function header(request: SandboxRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function readList(url: URL, name: string): string[] {
  const raw = url.searchParams.get(name);
  if (!raw) return [];
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function readPaging(url: URL): Paging | string {
  const limit = readWhole(url, 'limit', DEFAULT_LIMIT);
  if (typeof limit === 'string') return limit;
  const page = readWhole(url, 'page', 0);
  if (typeof page === 'string') return page;
  if (limit < 1) return `limit must be a positive integer, got ${limit}`;
  return { limit: Math.min(limit, MAX_LIMIT), page };
}

function readWhole(url: URL, name: string, fallback: number): number | string {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) return `${name} must be a non-negative integer, got ${JSON.stringify(raw)}`;
  return Number(raw);
}

/** Inclusive day range (00:00 UTC ms), newest day clamped to today. */
function readRange(url: URL, now: number): { start: number; end: number } | string {
  const today = Math.floor(now / DAY) * DAY;
  const start = readDate(url, 'startDate');
  const end = readDate(url, 'endDate');
  if (typeof start === 'string') return start;
  if (typeof end === 'string') return end;
  if (start === undefined && end === undefined) return { start: today, end: today };
  const last = Math.min(end ?? today, today);
  return { start: start ?? last, end: last };
}

function readDate(url: URL, name: string): number | undefined | string {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return undefined;
  const ms = DATE_PATTERN.test(raw) ? Date.parse(`${raw}T00:00:00Z`) : Number.NaN;
  if (Number.isNaN(ms)) return `${name} must be a date as YYYY-MM-DD, got ${JSON.stringify(raw)}`;
  return ms;
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
