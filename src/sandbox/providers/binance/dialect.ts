import type { Dialect, DialectDeps, SandboxRequest, SandboxResponse } from '../../dialect.js';
import { createPageMemo } from '../../page-memo.js';
import {
  type BinanceSymbol,
  createIntervalClock,
  formatDecimal,
  isKlineInterval,
  listBinanceSymbols,
  snapshotTicker,
  type TickerSnapshot,
  takerBuyShare,
} from './market.js';
import { createBinanceStreamServer } from './streams.js';

// Binance spot public market data (api.binance.com): /api/v3 exchangeInfo, ticker/price, ticker/24hr,
// klines, ping, time, plus the combined-stream WebSocket. Errors are Binance's {code, msg} bodies with
// its codes; every response carries X-MBX-USED-WEIGHT-1M; a client that keeps calling through a 429
// is answered 418 (the shell decides when, this file says how).

export interface BinanceDialectOptions {
  /** Server ping period on stream connections (Binance: 20 s). */
  pingMs?: number;
  /** A connection that has not answered a ping for this long is closed (Binance: 1 min). */
  pongTimeoutMs?: number;
}

const SYMBOL_RANGE = '^[A-Z0-9-_.]{1,20}$';
const SYMBOLS_RANGE = '^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$';
const SYMBOL_PATTERN = new RegExp(SYMBOL_RANGE);
const SYMBOLS_PATTERN = new RegExp(SYMBOLS_RANGE);
const INTEGER_RANGE = '^[0-9]{1,20}$';
const INTEGER_PATTERN = new RegExp(INTEGER_RANGE);
const MAX_KLINES = 1000;

const ORDER_TYPES = [
  'LIMIT',
  'LIMIT_MAKER',
  'MARKET',
  'STOP_LOSS',
  'STOP_LOSS_LIMIT',
  'TAKE_PROFIT',
  'TAKE_PROFIT_LIMIT',
];
const STP_MODES = ['EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH', 'DECREMENT'];

/** A Binance error body with its HTTP status, thrown by validators and turned into the response. */
class BinanceRequestError extends Error {
  constructor(
    readonly code: number,
    readonly msg: string,
    readonly status = 400,
  ) {
    super(msg);
  }
}

export function createBinanceDialect(deps: DialectDeps, options: BinanceDialectOptions = {}): Dialect {
  const { market } = deps;
  const symbols = listBinanceSymbols(market);
  const pages = createPageMemo({ now: market.now, tickMs: deps.tickMs });

  function fail(code: number, msg: string): never {
    throw new BinanceRequestError(code, msg);
  }

  /** Rejects parameters the endpoint does not read, the way Binance does (-1104). */
  function expectParams(request: SandboxRequest, allowed: readonly string[]) {
    const sent = [...request.url.searchParams.keys()];
    const read = sent.filter((name) => allowed.includes(name)).length;
    if (read < sent.length) {
      fail(
        -1104,
        `Not all sent parameters were read; read '${read}' parameter(s) but was sent '${sent.length}'.`,
      );
    }
  }

  function optional(request: SandboxRequest, name: string): string | undefined {
    const value = request.url.searchParams.get(name);
    if (value === null) return undefined;
    if (value === '') fail(-1105, `Parameter '${name}' was empty.`);
    return value;
  }

  function mandatory(request: SandboxRequest, name: string): string {
    const value = request.url.searchParams.get(name);
    if (value === null || value === '') {
      fail(-1102, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`);
    }
    return value;
  }

  function lookup(name: string): BinanceSymbol {
    if (!SYMBOL_PATTERN.test(name))
      fail(-1100, `Illegal characters found in parameter 'symbol'; legal range is '${SYMBOL_RANGE}'.`);
    return symbols.get(name) ?? fail(-1121, 'Invalid symbol.');
  }

  /**
   * The `symbol` / `symbols` pair shared by the ticker and exchangeInfo endpoints: one symbol, a list,
   * or undefined for "all". Any unknown symbol fails the whole call, as on Binance.
   */
  function selectSymbols(request: SandboxRequest): { single: boolean; list: BinanceSymbol[] | undefined } {
    const one = optional(request, 'symbol');
    const many = optional(request, 'symbols');
    if (one !== undefined && many !== undefined) fail(-1128, 'Combination of optional parameters invalid.');
    if (one !== undefined) return { single: true, list: [lookup(one)] };
    if (many === undefined) return { single: false, list: undefined };
    const names = parseSymbolsParam(many);
    if (names === undefined) {
      fail(-1100, `Illegal characters found in parameter 'symbols'; legal range is '${SYMBOLS_RANGE}'.`);
    }
    if (names.length === 0)
      fail(-1102, "Mandatory parameter 'symbols' was not sent, was empty/null, or malformed.");
    if (new Set(names).size !== names.length) fail(-1151, 'Symbol is present multiple times in the list.');
    return { single: false, list: names.map(lookup) };
  }

  function integer(request: SandboxRequest, name: string): number | undefined {
    const raw = optional(request, name);
    if (raw === undefined) return undefined;
    if (!INTEGER_PATTERN.test(raw))
      fail(-1100, `Illegal characters found in parameter '${name}'; legal range is '${INTEGER_RANGE}'.`);
    return Number(raw);
  }

  function exchangeInfo(request: SandboxRequest): SandboxResponse {
    expectParams(request, ['symbol', 'symbols', 'permissions', 'symbolStatus', 'showPermissionSets']);
    const { list } = selectSymbols(request);
    const status = optional(request, 'symbolStatus');
    if (status !== undefined && !['TRADING', 'HALT', 'BREAK'].includes(status))
      fail(-1122, 'Invalid symbolStatus.');
    const chosen = (list ?? [...symbols.values()]).filter(() => status === undefined || status === 'TRADING');
    return {
      json: {
        timezone: 'UTC',
        serverTime: market.now(),
        rateLimits: [
          { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 },
          { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 100 },
          { rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: 200000 },
          { rateLimitType: 'RAW_REQUESTS', interval: 'MINUTE', intervalNum: 5, limit: 61000 },
        ],
        exchangeFilters: [],
        symbols: chosen.map(describeSymbol),
      },
    };
  }

  function tickerPrice(request: SandboxRequest): SandboxResponse {
    expectParams(request, ['symbol', 'symbols']);
    const { single, list } = selectSymbols(request);
    const t = market.now();
    const rows = (list ?? [...symbols.values()]).map((s) => ({
      symbol: s.symbol,
      price: formatDecimal(market.priceUsd(s.asset.id, t)),
    }));
    return { json: single ? rows[0] : rows };
  }

  function ticker24h(request: SandboxRequest): SandboxResponse {
    expectParams(request, ['symbol', 'symbols', 'type']);
    const type = optional(request, 'type') ?? 'FULL';
    if (type !== 'FULL' && type !== 'MINI') fail(-1139, 'Invalid ticker type.');
    const { single, list } = selectSymbols(request);
    const t = market.now();
    const rows = (list ?? [...symbols.values()]).map((s) =>
      formatTicker24h(snapshotTicker(market, s, t), type === 'MINI'),
    );
    return { json: single ? rows[0] : rows };
  }

  function klines(request: SandboxRequest): SandboxResponse {
    expectParams(request, ['symbol', 'interval', 'startTime', 'endTime', 'limit', 'timeZone']);
    const sym = lookup(mandatory(request, 'symbol'));
    const interval = mandatory(request, 'interval');
    if (!isKlineInterval(interval)) fail(-1120, 'Invalid interval.');
    const limit = integer(request, 'limit') ?? 500;
    if (limit < 1 || limit > MAX_KLINES) fail(-1130, "Data sent for parameter 'limit' is not valid.");
    const startTime = integer(request, 'startTime');
    const endTime = integer(request, 'endTime');
    const clock = createIntervalClock(interval);
    const latest = clock.floor(market.now());
    const last = endTime === undefined ? latest : Math.min(latest, clock.floor(endTime));
    const opens: number[] = [];
    if (startTime !== undefined) {
      let open = clock.floor(startTime);
      if (open < startTime) open = clock.next(open);
      for (; open <= last && opens.length < limit; open = clock.next(open)) opens.push(open);
    } else {
      for (let open = last; opens.length < limit; open = clock.prev(open)) opens.push(open);
      opens.reverse();
    }
    const rows = opens.map((open) => {
      const c = market.candle(sym.asset.id, clock.next(open) - open, open);
      const taker = takerBuyShare(sym.symbol, open);
      return [
        c.openTime,
        formatDecimal(c.open),
        formatDecimal(c.high),
        formatDecimal(c.low),
        formatDecimal(c.close),
        formatDecimal(c.volume),
        c.closeTime,
        formatDecimal(c.quoteVolume),
        c.trades,
        formatDecimal(c.volume * taker),
        formatDecimal(c.quoteVolume * taker),
        '0',
      ];
    });
    return { json: rows };
  }

  function guard(handler: (request: SandboxRequest) => SandboxResponse) {
    return (request: SandboxRequest): SandboxResponse => {
      try {
        return handler(request);
      } catch (error) {
        if (error instanceof BinanceRequestError)
          return { status: error.status, json: { code: error.code, msg: error.msg } };
        throw error;
      }
    };
  }

  /** Request weight per endpoint, from the REST docs (ticker/24hr scales with the symbol count). */
  function weight(endpoint: string, request: SandboxRequest): number {
    const params = request.url.searchParams;
    switch (endpoint) {
      case 'exchangeInfo':
        return 20;
      case 'klines':
        return 2;
      case 'ticker/price':
        return params.get('symbol') ? 2 : 4;
      case 'ticker/24hr': {
        if (params.get('symbol')) return 2;
        const raw = params.get('symbols');
        if (!raw) return 80;
        const n = parseSymbolsParam(raw)?.length ?? 1;
        return n <= 20 ? 2 : n <= 100 ? 40 : 80;
      }
      default:
        return 1;
    }
  }

  return {
    provider: 'binance',
    basePath: '',
    routes: [
      { endpoint: 'ping', path: '/api/v3/ping', handle: () => ({ json: {} }) },
      { endpoint: 'time', path: '/api/v3/time', handle: () => ({ json: { serverTime: market.now() } }) },
      { endpoint: 'exchangeInfo', path: '/api/v3/exchangeInfo', handle: guard(exchangeInfo) },
      { endpoint: 'ticker/price', path: '/api/v3/ticker/price', handle: pages.wrap(guard(tickerPrice)) },
      { endpoint: 'ticker/24hr', path: '/api/v3/ticker/24hr', handle: pages.wrap(guard(ticker24h)) },
      { endpoint: 'klines', path: '/api/v3/klines', handle: guard(klines) },
    ],
    websocket: createBinanceStreamServer({
      market,
      symbols,
      tickMs: deps.tickMs,
      pingMs: options.pingMs ?? 20_000,
      pongTimeoutMs: options.pongTimeoutMs ?? 60_000,
    }),
    notFound: () => ({
      status: 404,
      contentType: 'text/html',
      text: '<html><body><h2>404 Not found</h2></body></html>',
    }),
    rateLimited: (retryAfter) => ({
      status: 429,
      headers: { 'Retry-After': String(retryAfter) },
      json: {
        code: -1003,
        msg: 'Too much request weight used; current limit is 6000 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.',
      },
    }),
    banned: (retryAfter) => ({
      status: 418,
      headers: { 'Retry-After': String(retryAfter) },
      json: {
        code: -1003,
        msg: `Way too much request weight used; IP banned until ${market.now() + retryAfter * 1000}. Please use WebSocket Streams for live updates to avoid bans.`,
      },
    }),
    serverError: (status) => ({
      status,
      json: { code: -1001, msg: 'Internal error; unable to process your request. Please try again.' },
    }),
    decorate: (_request, response, used) => {
      response.headers = { ...response.headers, 'X-MBX-USED-WEIGHT-1M': String(used) };
    },
    weight,
    quota: { limit: 6000, windowMs: 60_000 },
  };
}

/** `["BTCUSDT","ETHUSDT"]` → names; undefined when the value breaks Binance's pattern. */
function parseSymbolsParam(raw: string): string[] | undefined {
  if (!SYMBOLS_PATTERN.test(raw)) return undefined;
  return raw === '[]' ? [] : (JSON.parse(raw) as string[]);
}

function describeSymbol(s: BinanceSymbol) {
  const tick = formatDecimal(10 ** -s.priceDecimals);
  const step = formatDecimal(10 ** -s.qtyDecimals);
  return {
    symbol: s.symbol,
    status: 'TRADING',
    baseAsset: s.base,
    baseAssetPrecision: 8,
    quoteAsset: 'USDT',
    quotePrecision: 8,
    quoteAssetPrecision: 8,
    baseCommissionPrecision: 8,
    quoteCommissionPrecision: 8,
    orderTypes: ORDER_TYPES,
    icebergAllowed: true,
    ocoAllowed: true,
    otoAllowed: true,
    quoteOrderQtyMarketAllowed: true,
    allowTrailingStop: true,
    cancelReplaceAllowed: true,
    isSpotTradingAllowed: true,
    isMarginTradingAllowed: false,
    filters: [
      { filterType: 'PRICE_FILTER', minPrice: tick, maxPrice: formatDecimal(1_000_000), tickSize: tick },
      { filterType: 'LOT_SIZE', minQty: step, maxQty: formatDecimal(9_000_000), stepSize: step },
      { filterType: 'ICEBERG_PARTS', limit: 10 },
      {
        filterType: 'MARKET_LOT_SIZE',
        minQty: formatDecimal(0),
        maxQty: formatDecimal(100_000),
        stepSize: formatDecimal(0),
      },
      {
        filterType: 'NOTIONAL',
        minNotional: formatDecimal(5),
        applyMinToMarket: true,
        maxNotional: formatDecimal(9_000_000),
        applyMaxToMarket: false,
        avgPriceMins: 5,
      },
      { filterType: 'MAX_NUM_ORDERS', maxNumOrders: 200 },
      { filterType: 'MAX_NUM_ALGO_ORDERS', maxNumAlgoOrders: 5 },
    ],
    permissions: [],
    permissionSets: [['SPOT']],
    defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
    allowedSelfTradePreventionModes: STP_MODES,
  };
}

function formatTicker24h(t: TickerSnapshot, mini: boolean) {
  const counters = {
    openTime: t.openTime,
    closeTime: t.closeTime,
    firstId: t.firstId,
    lastId: t.lastId,
    count: t.count,
  };
  if (mini) {
    return {
      symbol: t.symbol,
      openPrice: formatDecimal(t.open),
      highPrice: formatDecimal(t.high),
      lowPrice: formatDecimal(t.low),
      lastPrice: formatDecimal(t.last),
      volume: formatDecimal(t.volume),
      quoteVolume: formatDecimal(t.quoteVolume),
      ...counters,
    };
  }
  return {
    symbol: t.symbol,
    priceChange: formatDecimal(t.priceChange),
    priceChangePercent: formatDecimal(t.priceChangePercent, 3),
    weightedAvgPrice: formatDecimal(t.weightedAvgPrice),
    prevClosePrice: formatDecimal(t.prevClose),
    lastPrice: formatDecimal(t.last),
    lastQty: formatDecimal(t.lastQty),
    bidPrice: formatDecimal(t.bid),
    bidQty: formatDecimal(t.bidQty),
    askPrice: formatDecimal(t.ask),
    askQty: formatDecimal(t.askQty),
    openPrice: formatDecimal(t.open),
    highPrice: formatDecimal(t.high),
    lowPrice: formatDecimal(t.low),
    volume: formatDecimal(t.volume),
    quoteVolume: formatDecimal(t.quoteVolume),
    ...counters,
  };
}
