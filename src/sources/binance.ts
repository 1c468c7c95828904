import type { ProviderConfig } from '../config.js';
import { type UpstreamCode, UpstreamError } from '../errors.js';
import type { Http } from '../http/client.js';
import type { Candle } from '../market/model.js';
import {
  errorBodySchema,
  exchangeInfoSchema,
  klinesSchema,
  ticker24hListSchema,
  tickerEventSchema,
  tickerPriceListSchema,
} from './binance-schemas.js';
import { chunk } from './chunk.js';

// Binance spot public market data (no key). Symbols are Binance pairs ('BTCUSDT'); mapping them to
// canonical asset ids is the asset registry's job. Batch contract: `symbols=[...]` fails the WHOLE call
// with -1121 when any symbol is unlisted, so callers pass symbols taken from exchangeInfo(); names that
// cannot be Binance symbols at all are dropped here and come back missing from the Map.

export interface BinancePair {
  symbol: string;
  base: string;
  quote: string;
  trading: boolean;
}

/** Binance's pair quoting `base` (a ticker, any case) in USDT, which marketgraph takes as USD: 'BTCUSDT'. */
export function binanceUsdPair(base: string): string {
  return `${base.toUpperCase()}${USD_QUOTE}`;
}

/** The quote asset of the pairs taken as USD. */
const USD_QUOTE = 'USDT';

export interface BinanceSpotPrice {
  price: number;
  /** When the answer arrived: ticker/price carries no timestamp of its own. */
  asOf: Date;
}

export interface BinanceTicker24h {
  last: number;
  open: number;
  high: number;
  low: number;
  /** Base-asset volume over the rolling 24 h window. */
  volume: number;
  quoteVolume: number;
  /** Percent, e.g. -2.5 for -2.5 %. */
  changePercent: number;
  openTime: Date;
  closeTime: Date;
}

export interface BinanceKlineOptions {
  startTime?: number;
  endTime?: number;
  /** 1–1000, Binance's default 500. */
  limit?: number;
}

export const BINANCE_KLINE_INTERVALS: readonly string[] = [
  '1s',
  '1m',
  '3m',
  '5m',
  '15m',
  '30m',
  '1h',
  '2h',
  '4h',
  '6h',
  '8h',
  '12h',
  '1d',
  '3d',
  '1w',
  '1M',
];

const SYMBOL_PATTERN = /^[A-Z0-9-_.]{1,20}$/;
/** Rows per klines call (the cost model in src/cost/ counts with it). */
export const MAX_KLINES = 1000;

export interface BinanceSourceDeps {
  http: Http;
  config: ProviderConfig;
  now?: () => number;
}

/**
 * Symbols per call. ticker/price has no documented cap and weighs 4 for any count; 100 keeps the
 * URL short (~1.5 KB). ticker/24hr weighs 2 up to 20 symbols and 40 from 21, so 20 is the cheap size.
 */
export const BINANCE_SYMBOLS_PER_CALL = { tickerPrices: 100, tickers24h: 20 } as const;

export type BinanceSource = ReturnType<typeof createBinanceSource>;

export function createBinanceSource(deps: BinanceSourceDeps) {
  const { http, config } = deps;
  const now = deps.now ?? Date.now;

  const maxSymbolsPerCall = BINANCE_SYMBOLS_PER_CALL;

  function assertEnabled() {
    if (!config.enabled) {
      throw new UpstreamError(
        'UPSTREAM_UNAVAILABLE',
        'binance',
        'binance is disabled (MARKETGRAPH_BINANCE_ENABLED=false)',
      );
    }
  }

  async function exchangeInfo(): Promise<BinancePair[]> {
    assertEnabled();
    const body = await http.get({
      provider: 'binance',
      endpoint: 'exchangeInfo',
      path: '/api/v3/exchangeInfo',
      schema: exchangeInfoSchema,
      envelopeError: readEnvelopeError('exchangeInfo'),
      cost: 20,
    });
    return body.symbols.map((s) => ({
      symbol: s.symbol,
      base: s.baseAsset,
      quote: s.quoteAsset,
      trading: s.status === 'TRADING',
    }));
  }

  async function tickerPrices(symbols: string[]): Promise<Map<string, BinanceSpotPrice>> {
    assertEnabled();
    const out = new Map<string, BinanceSpotPrice>();
    const chunks = chunk(validSymbols(symbols), maxSymbolsPerCall.tickerPrices);
    await Promise.all(
      chunks.map(async (list) => {
        const rows = await http.get({
          provider: 'binance',
          endpoint: 'ticker/price',
          path: '/api/v3/ticker/price',
          query: { symbols: JSON.stringify(list) },
          schema: tickerPriceListSchema,
          envelopeError: readEnvelopeError('ticker/price'),
          cost: 4,
        });
        const asOf = new Date(now());
        for (const row of rows) out.set(row.symbol, { price: row.price, asOf });
      }),
    );
    return out;
  }

  async function tickers24h(symbols: string[]): Promise<Map<string, BinanceTicker24h>> {
    assertEnabled();
    const out = new Map<string, BinanceTicker24h>();
    const chunks = chunk(validSymbols(symbols), maxSymbolsPerCall.tickers24h);
    await Promise.all(
      chunks.map(async (list) => {
        const rows = await http.get({
          provider: 'binance',
          endpoint: 'ticker/24hr',
          path: '/api/v3/ticker/24hr',
          query: { symbols: JSON.stringify(list), type: 'FULL' },
          schema: ticker24hListSchema,
          envelopeError: readEnvelopeError('ticker/24hr'),
          cost: ticker24hWeight(list.length),
        });
        for (const row of rows) {
          out.set(row.symbol, {
            last: row.lastPrice,
            open: row.openPrice,
            high: row.highPrice,
            low: row.lowPrice,
            volume: row.volume,
            quoteVolume: row.quoteVolume,
            changePercent: row.priceChangePercent,
            openTime: new Date(row.openTime),
            closeTime: new Date(row.closeTime),
          });
        }
      }),
    );
    return out;
  }

  /**
   * Candles oldest first. Binance's closeTime is the candle's last millisecond (open + interval - 1);
   * ours is that + 1 ms, so candle n's closeTime equals candle n+1's openTime and a series tiles time
   * exactly. To page forward, pass startTime = last candle's closeTime.getTime() (Binance's closeTime + 1).
   */
  async function klines(symbol: string, interval: string, opts: BinanceKlineOptions = {}): Promise<Candle[]> {
    assertEnabled();
    if (!BINANCE_KLINE_INTERVALS.includes(interval)) {
      throw new RangeError(
        `binance klines: interval must be one of ${BINANCE_KLINE_INTERVALS.join(', ')}, got ${JSON.stringify(interval)}`,
      );
    }
    if (
      opts.limit !== undefined &&
      !(Number.isInteger(opts.limit) && opts.limit >= 1 && opts.limit <= MAX_KLINES)
    ) {
      throw new RangeError(
        `binance klines: limit must be a whole number from 1 to ${MAX_KLINES}, got ${opts.limit}`,
      );
    }
    const rows = await http.get({
      provider: 'binance',
      endpoint: 'klines',
      path: '/api/v3/klines',
      query: { symbol, interval, startTime: opts.startTime, endTime: opts.endTime, limit: opts.limit },
      schema: klinesSchema,
      envelopeError: readEnvelopeError('klines'),
      cost: 2,
    });
    return rows.map(([openTime, open, high, low, close, volume, closeTime]) => ({
      openTime: new Date(openTime),
      closeTime: new Date(closeTime + 1),
      open,
      high,
      low,
      close,
      volume,
      source: 'binance' as const,
    }));
  }

  /** Pairs that quote USD (USDT) and trade, by their base ticker (upper-case). */
  async function usdPairs(): Promise<string[]> {
    const pairs = await exchangeInfo();
    return pairs.filter((p) => p.quote === USD_QUOTE && p.trading).map((p) => p.symbol);
  }

  return { maxSymbolsPerCall, exchangeInfo, usdPairs, tickerPrices, tickers24h, klines };
}

/** ticker/24hr request weight for a `symbols` list of n names. */
export function ticker24hWeight(n: number): number {
  return n <= 20 ? 2 : n <= 100 ? 40 : 80;
}

/** The stream carrying a pair's 24 h ticker, e.g. 'btcusdt@ticker' (stream names are lower-case). */
export function tickerStreamName(symbol: string): string {
  return `${symbol.toLowerCase()}@ticker`;
}

/**
 * A <symbol>@ticker or <symbol>@miniTicker stream payload (the `data` of a combined-stream frame)
 * as a price; undefined for anything else. The mini ticker has no change field, so it is computed
 * from its open and close.
 */
export function parseTickerEvent(
  data: unknown,
): { symbol: string; price: number; change24h: number; asOf: Date } | undefined {
  const parsed = tickerEventSchema.safeParse(data);
  if (!parsed.success) return undefined;
  const event = parsed.data;
  const change24h = event.e === '24hrTicker' ? event.P : event.o > 0 ? (event.c / event.o - 1) * 100 : 0;
  return { symbol: event.s, price: event.c, change24h, asOf: new Date(event.E) };
}

/**
 * Binance answers errors as {code, msg}; one that arrives with HTTP 200 (seen behind proxies and on
 * some gateways) must not pass for data.
 */
function readEnvelopeError(endpoint: string) {
  return (body: unknown): { code: UpstreamCode; message: string } | undefined => {
    if (Array.isArray(body)) return undefined;
    const parsed = errorBodySchema.safeParse(body);
    if (!parsed.success) return undefined;
    const { code, msg } = parsed.data;
    return { code: classifyErrorCode(code), message: `binance ${endpoint}: ${msg} (code ${code})` };
  };
}

function classifyErrorCode(code: number): UpstreamCode {
  if (code === -1003) return 'UPSTREAM_RATE_LIMITED';
  if (code === -1007) return 'UPSTREAM_TIMEOUT';
  if (code === -1000 || code === -1001 || code === -1006 || code === -1008 || code === -1016)
    return 'UPSTREAM_UNAVAILABLE';
  return 'UPSTREAM_BAD_RESPONSE';
}

function validSymbols(symbols: string[]): string[] {
  return [...new Set(symbols)].filter((s) => SYMBOL_PATTERN.test(s));
}
