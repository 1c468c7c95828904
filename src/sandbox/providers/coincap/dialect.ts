import { STATUS_CODES } from 'node:http';
import type { DialectFactory, Route, SandboxRequest, SandboxResponse } from '../../dialect.js';
import type { CatalogueAsset } from '../../market/catalogue.js';
import { createPageMemo } from '../../page-memo.js';

// CoinCap REST v3 (shared/reference/upstream-apis.md §2): key as `Authorization: Bearer <key>` or
// `?apiKey=`, envelope {data, timestamp (ms)}, EVERY number a string (rank too), `maxSupply`,
// `vwap24Hr`, `explorer` nullable, errors as {"error": "..."}. Only catalogue assets with a `coincapId`
// exist here. Choices the sandbox makes where the docs are silent ([unverified]):
// - 401 bodies: {"error":"Unauthorized: missing API key"} / {"error":"Unauthorized: invalid API key"};
//   429 {"error":"rate limit exceeded"} with Retry-After; unknown asset 404 {"error":"<id> not found"}.
// - `ids=` does not lift `limit`: 150 ids with the default limit answer 100 rows, ordered by rank (not
//   request order); unknown ids are left out. limit > 2000 → 400 {"error":"limit exceeds 2000"};
//   a non-integer or zero limit/offset → 400 {"error":"invalid limit"} / {"error":"invalid offset"}.
// - `search` matches id, symbol or name, case-insensitively, as a substring.
// - `vwap24Hr` is null for assets without a Binance market (no exchange trades to weigh); `tokens` is
//   always {}.
// - history: `interval` missing or not one of m1…d1 → 400 {"error":"missing interval"}; `start`
//   without `end` (or the reverse) → 400 {"error":"missing start or end"}; more than 10,000 points →
//   400 {"error":"too many data points"}. Without start/end the window ends now and spans
//   DEFAULT_WINDOW_MS[interval]. Points sit on interval boundaries, `priceUsd` is the interval's
//   average price (4 samples) and only intervals that have begun are listed.
// - price/bysymbol: a symbol the sandbox does not know yields null at its position (clients in the
//   wild test `data[0] is None`); a symbol shared by several assets resolves to the best-ranked one.

/** The one key the sandbox accepts (Bearer token or `apiKey` query parameter). */
export const SANDBOX_COINCAP_KEY = 'sandbox-coincap-key';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const MAX_LIMIT = 2000;
const DEFAULT_LIMIT = 100;
const MAX_HISTORY_POINTS = 10_000;

const HISTORY_INTERVALS: Record<string, number> = {
  m1: MINUTE,
  m5: 5 * MINUTE,
  m15: 15 * MINUTE,
  m30: 30 * MINUTE,
  h1: HOUR,
  h2: 2 * HOUR,
  h6: 6 * HOUR,
  h12: 12 * HOUR,
  d1: DAY,
};

const DEFAULT_WINDOW_MS: Record<string, number> = {
  m1: DAY,
  m5: 7 * DAY,
  m15: 7 * DAY,
  m30: 14 * DAY,
  h1: 30 * DAY,
  h2: 60 * DAY,
  h6: 180 * DAY,
  h12: 365 * DAY,
  d1: 365 * DAY,
};

const FIAT_RATES = [
  { id: 'united-states-dollar', code: 'usd', symbol: 'USD', currencySymbol: '$' },
  { id: 'euro', code: 'eur', symbol: 'EUR', currencySymbol: '€' },
  { id: 'british-pound-sterling', code: 'gbp', symbol: 'GBP', currencySymbol: '£' },
  { id: 'japanese-yen', code: 'jpy', symbol: 'JPY', currencySymbol: '¥' },
  { id: 'swiss-franc', code: 'chf', symbol: 'CHF', currencySymbol: 'Fr.' },
  { id: 'canadian-dollar', code: 'cad', symbol: 'CAD', currencySymbol: '$' },
  { id: 'australian-dollar', code: 'aud', symbol: 'AUD', currencySymbol: '$' },
];
const CRYPTO_CURRENCY_SYMBOLS: Record<string, string> = { BTC: '₿', ETH: 'Ξ' };

export const createCoinCapDialect: DialectFactory = ({ market, tickMs }) => {
  const pages = createPageMemo({ now: market.now, tickMs });

  function listed(): CatalogueAsset[] {
    return market.assets.filter((a) => a.coincapId !== null).sort((a, b) => a.rank - b.rank);
  }

  function byCoinCapId(id: string): CatalogueAsset | undefined {
    return market.assets.find((a) => a.coincapId === id);
  }

  function envelope(data: unknown): SandboxResponse {
    return { json: { data, timestamp: market.now() } };
  }

  function assetRow(asset: CatalogueAsset, t: number) {
    const stats = market.stats24h(asset.id, t);
    const price = stats.close;
    return {
      id: asset.coincapId,
      rank: String(asset.rank),
      symbol: asset.symbol,
      name: asset.name,
      supply: decimal(asset.circulatingSupply),
      maxSupply: asset.maxSupply === null ? null : decimal(asset.maxSupply),
      marketCapUsd: decimal(asset.circulatingSupply * price),
      volumeUsd24Hr: decimal(stats.quoteVolume),
      priceUsd: decimal(price),
      changePercent24Hr: decimal(stats.changePercent),
      vwap24Hr: asset.binanceBase ? decimal(stats.quoteVolume / stats.volume) : null,
      explorer: explorerOf(asset),
      tokens: {},
    };
  }

  function assets(request: SandboxRequest): SandboxResponse {
    const { url } = request;
    const limit = readCount(url, 'limit', DEFAULT_LIMIT, 1);
    if (limit === undefined) return error(400, 'invalid limit');
    if (limit > MAX_LIMIT) return error(400, `limit exceeds ${MAX_LIMIT}`);
    const offset = readCount(url, 'offset', 0, 0);
    if (offset === undefined) return error(400, 'invalid offset');
    const ids = readList(url, 'ids');
    const search = url.searchParams.get('search')?.trim().toLowerCase();
    const t = market.now();
    const rows = listed()
      .filter((a) => ids.length === 0 || ids.includes(a.coincapId!))
      .filter(
        (a) =>
          !search ||
          a.coincapId!.includes(search) ||
          a.symbol.toLowerCase().includes(search) ||
          a.name.toLowerCase().includes(search),
      )
      .slice(offset, offset + limit)
      .map((a) => assetRow(a, t));
    return envelope(rows);
  }

  function asset(request: SandboxRequest): SandboxResponse {
    const id = request.params.id!;
    const found = byCoinCapId(id);
    return found ? envelope(assetRow(found, market.now())) : error(404, `${id} not found`);
  }

  function history(request: SandboxRequest): SandboxResponse {
    const { url } = request;
    const interval = url.searchParams.get('interval') ?? '';
    const step = HISTORY_INTERVALS[interval];
    if (step === undefined) return error(400, 'missing interval');
    const id = request.params.id!;
    const found = byCoinCapId(id);
    if (!found) return error(404, `${id} not found`);
    const now = market.now();
    const rawStart = url.searchParams.get('start');
    const rawEnd = url.searchParams.get('end');
    if ((rawStart === null) !== (rawEnd === null)) return error(400, 'missing start or end');
    let start = now - DEFAULT_WINDOW_MS[interval]!;
    let end = now;
    if (rawStart !== null && rawEnd !== null) {
      start = Number(rawStart);
      end = Number(rawEnd);
      if (!Number.isFinite(start) || !Number.isFinite(end)) return error(400, 'invalid start or end');
    }
    const first = Math.ceil(start / step) * step;
    if ((Math.min(end, now) - first) / step > MAX_HISTORY_POINTS) return error(400, 'too many data points');
    const points: Array<{ priceUsd: string; time: number; date: string }> = [];
    for (let time = first; time < end && time <= now; time += step) {
      points.push({
        priceUsd: decimal(averagePrice(found, time, Math.min(time + step, now))),
        time,
        date: iso(time),
      });
    }
    return envelope(points);
  }

  function averagePrice(asset: CatalogueAsset, from: number, to: number): number {
    let sum = 0;
    for (let i = 0; i < 4; i++) sum += market.priceUsd(asset.id, from + ((to - from) * i) / 4);
    return sum / 4;
  }

  function priceBySymbol(request: SandboxRequest): SandboxResponse {
    const t = market.now();
    const symbols = request.params
      .symbols!.split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    const prices = symbols.map((symbol) => {
      const best = market
        .bySymbol(symbol)
        .filter((a) => a.coincapId !== null)
        .sort((a, b) => a.rank - b.rank)[0];
      return best ? decimal(market.priceUsd(best.id, t)) : null;
    });
    return envelope(prices);
  }

  function allRates(t: number) {
    const fiat = FIAT_RATES.map((f) => ({
      id: f.id,
      symbol: f.symbol,
      currencySymbol: f.currencySymbol,
      type: 'fiat',
      rateUsd: decimal(1 / market.fxPerUsd(f.code, t)!),
    }));
    const crypto = listed().map((a) => ({
      id: a.coincapId!,
      symbol: a.symbol,
      currencySymbol: CRYPTO_CURRENCY_SYMBOLS[a.symbol] ?? null,
      type: 'crypto',
      rateUsd: decimal(market.priceUsd(a.id, t)),
    }));
    return [...fiat, ...crypto];
  }

  function rates(request: SandboxRequest): SandboxResponse {
    const ids = readList(request.url, 'ids');
    const rows = allRates(market.now()).filter((r) => ids.length === 0 || ids.includes(r.id));
    return envelope(rows);
  }

  function rate(request: SandboxRequest): SandboxResponse {
    const id = request.params.id!;
    const found = allRates(market.now()).find((r) => r.id === id);
    return found ? envelope(found) : error(404, `${id} not found`);
  }

  // Order matters: the shell takes the first match.
  const routes: Route[] = [
    { endpoint: 'assets', path: '/v3/assets', handle: authenticated(pages.wrap(assets)) },
    { endpoint: 'assets/history', path: '/v3/assets/:id/history', handle: authenticated(history) },
    { endpoint: 'assets/id', path: '/v3/assets/:id', handle: authenticated(asset) },
    { endpoint: 'price/bysymbol', path: '/v3/price/bysymbol/:symbols', handle: authenticated(priceBySymbol) },
    { endpoint: 'rates', path: '/v3/rates', handle: authenticated(rates) },
    { endpoint: 'rates/id', path: '/v3/rates/:id', handle: authenticated(rate) },
  ];

  return {
    provider: 'coincap',
    basePath: '/v3',
    routes,
    notFound: () => error(404, 'Not Found'),
    rateLimited: (retryAfter) => ({
      ...error(429, 'rate limit exceeded'),
      headers: { 'retry-after': String(retryAfter) },
    }),
    serverError: (status) => error(status, STATUS_CODES[status] ?? 'Internal Server Error'),
    quota: { limit: 600, windowMs: 60_000 },
  };
};

function authenticated(handle: (request: SandboxRequest) => SandboxResponse) {
  return (request: SandboxRequest): SandboxResponse => {
    const authorization = request.headers.authorization;
    const bearer = authorization?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
    const key = bearer ?? request.url.searchParams.get('apiKey') ?? undefined;
    if (!key) return error(401, 'Unauthorized: missing API key');
    if (key !== SANDBOX_COINCAP_KEY) return error(401, 'Unauthorized: invalid API key');
    return handle(request);
  };
}

function explorerOf(asset: CatalogueAsset): string | null {
  if (asset.id === 'bitcoin') return 'https://blockchain.info/';
  if (asset.id === 'ethereum') return 'https://etherscan.io/';
  const address = asset.contracts.ethereum;
  return address ? `https://etherscan.io/token/${address}` : null;
}

function error(status: number, message: string): SandboxResponse {
  return { status, json: { error: message } };
}

/** CoinCap's numeric strings: plain decimal notation, never exponent form. */
function decimal(value: number): string {
  const text = String(value);
  if (!/e/i.test(text)) return text;
  return value.toFixed(20).replace(/0+$/, '').replace(/\.$/, '');
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function readList(url: URL, name: string): string[] {
  const raw = url.searchParams.get(name);
  if (!raw) return [];
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function readCount(url: URL, name: string, fallback: number, min: number): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) return undefined;
  const value = Number(raw);
  return value >= min ? value : undefined;
}
