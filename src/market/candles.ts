import type { Config } from '../config.js';
import { NotAvailableError, quote, UpstreamError } from '../errors.js';
import type { UpstreamBudget } from '../http/budget.js';
import type { Sources } from '../sources/index.js';
import { alignUp, INTERVAL_MS, intervalMs, intervalName } from './intervals.js';
import type { CandleKey } from './keys.js';
import { type Candle, CURRENCIES } from './model.js';
import type { AssetRegistry } from './registry.js';

// Candle windows from whichever provider can serve them. Binance klines are the primary source (full
// OHLCV, any interval, 1000 rows per call: a window is split into ≤1000-candle slices fetched in
// parallel). CoinGecko's OHLC is the fallback and the only source for non-USD quotes; its candle size
// is fixed by `days` (1–2 d → 30 min, 3–30 d → 4 h), so we ask for the granularity that matches and
// aggregate 30 min candles into hours and 4 h candles into days. Rows missing from an answer are
// reported as gaps; a window neither provider offers at all (an interval, a currency, an age) is
// NOT_AVAILABLE, saying what is offered, and costs no call.
// Built per request with the request's budget: a window takes its rows from the budget before any
// call for it (once, whichever provider serves it), and a window that does not fit is not fetched.

export interface CandleService {
  fetch(key: CandleKey): Promise<Candle[]>;
}

const BINANCE_MAX_ROWS = 1000;
const DAY = 86_400_000;

/**
 * What CoinGecko's OHLC serves per interval: the candle body it is built from and how far back it
 * reaches (its body is fixed by `days`, so a finer body is only there for recent windows).
 */
const COINGECKO_OHLC: Readonly<Record<string, { body: '30m' | '4h'; maxDays: number }>> = {
  '30m': { body: '30m', maxDays: 2 },
  '1h': { body: '30m', maxDays: 2 },
  '4h': { body: '4h', maxDays: 30 },
  '1d': { body: '4h', maxDays: 30 },
};

export function createCandleService(deps: {
  config: Config;
  sources: Sources;
  registry: AssetRegistry;
  /** The request's upstream budget; none outside requests. */
  budget?: UpstreamBudget;
  now?: () => number;
}): CandleService {
  const now = deps.now ?? Date.now;
  const coingeckoOn = () => deps.config.providers.coingecko.enabled;

  async function fromBinance(key: CandleKey, symbol: string): Promise<Candle[]> {
    const step = intervalMs(key.interval);
    const slices: Array<[number, number]> = [];
    for (let start = key.from; start < key.to; start += BINANCE_MAX_ROWS * step) {
      slices.push([start, Math.min(start + BINANCE_MAX_ROWS * step, key.to) - 1]);
    }
    const parts = await Promise.all(
      slices.map(([startTime, endTime]) =>
        deps.sources.binance.klines(symbol, key.interval, { startTime, endTime, limit: BINANCE_MAX_ROWS }),
      ),
    );
    return dedupe(parts.flat());
  }

  /** The earliest window start CoinGecko reaches at this interval; undefined when it has no such candles. */
  function coingeckoFrom(interval: string): number | undefined {
    const plan = COINGECKO_OHLC[interval];
    if (!plan || !coingeckoOn()) return undefined;
    return alignUp(now() - plan.maxDays * DAY, interval);
  }

  /** The OHLC call serving the window, or undefined when CoinGecko has none that does. */
  function coingeckoCall(key: CandleKey): (() => Promise<Candle[]>) | undefined {
    const plan = COINGECKO_OHLC[key.interval];
    const earliest = coingeckoFrom(key.interval);
    if (!plan || earliest === undefined || key.from < earliest) return undefined;
    const age = now() - key.from;
    const days = plan.body === '30m' ? (age <= DAY ? 1 : 2) : age <= 7 * DAY ? 7 : age <= 14 * DAY ? 14 : 30;
    return async () => {
      const rows = await deps.sources.coingecko.ohlc(key.assetId, key.currency, days);
      return key.interval === plan.body ? rows : aggregate(rows, intervalMs(key.interval));
    };
  }

  /** Binance's USDT pair for the asset, when Binance is on (its klines are USD only). */
  async function binancePair(assetId: string): Promise<string | undefined> {
    return deps.config.providers.binance.enabled ? deps.registry.binanceSymbol(assetId) : undefined;
  }

  /** No provider serves the window: say what they do serve for this asset. */
  async function notAvailable(key: CandleKey): Promise<NotAvailableError> {
    // Only looked up on this path: a non-USD window never reaches Binance otherwise.
    const pair = await binancePair(key.assetId).catch(() => undefined);
    const geckoIntervals = coingeckoOn() ? Object.keys(COINGECKO_OHLC) : [];
    const intervals = pair && key.currency === 'usd' ? Object.keys(INTERVAL_MS) : geckoIntervals;
    const earliest = coingeckoFrom(key.interval);
    const currencies =
      earliest !== undefined ? [...CURRENCIES] : pair && INTERVAL_MS[key.interval] ? ['usd'] : [];
    const asked = `${intervalName(key.interval)} candles of ${quote(key.assetId)} in ${key.currency.toUpperCase()}`;
    const reason =
      earliest !== undefined
        ? `go back to ${new Date(earliest).toISOString()} only`
        : intervals.length > 0
          ? `are offered by no provider (intervals: ${intervals.map(intervalName).join(', ')})`
          : 'are offered by no provider';
    return new NotAvailableError(`${asked} ${reason}`, {
      intervals: intervals.map(intervalName),
      currencies: currencies.map((c) => c.toUpperCase()),
      ...(earliest !== undefined ? { from: new Date(earliest) } : {}),
    });
  }

  return {
    async fetch(key) {
      let symbol: string | undefined;
      let catalogueError: UpstreamError | undefined;
      if (key.currency === 'usd') {
        try {
          symbol = await binancePair(key.assetId);
        } catch (error) {
          // Binance's pairs are unknown while its catalogue is out: CoinGecko serves the window if it
          // can; if not, the catalogue's failure is what the client is told.
          if (!(error instanceof UpstreamError)) throw error;
          catalogueError = error;
        }
      }
      const coingecko = coingeckoCall(key);
      if (!symbol && !coingecko) throw catalogueError ?? (await notAvailable(key));
      const refused = deps.budget?.takeCandleRows(
        symbol ? 'binance' : 'coingecko',
        symbol ? 'klines' : 'coins/ohlc',
        windowRows(key),
      );
      if (refused) throw refused;
      if (!symbol) {
        if (!catalogueError) return coingecko!();
        try {
          return await coingecko!();
        } catch {
          throw catalogueError;
        }
      }
      try {
        return await fromBinance(key, symbol);
      } catch (error) {
        // Fall through to CoinGecko where it serves the window; else Binance's failure is the answer.
        if (!(error instanceof UpstreamError) || !coingecko) throw error;
        try {
          return await coingecko();
        } catch {
          throw error;
        }
      }
    },
  };
}

/** Candles in the window [from, to). */
export function windowRows(key: CandleKey): number {
  return Math.ceil((key.to - key.from) / intervalMs(key.interval));
}

function dedupe(candles: Candle[]): Candle[] {
  const seen = new Map<number, Candle>();
  for (const c of candles) seen.set(c.openTime.getTime(), c);
  return [...seen.values()].sort((a, b) => a.openTime.getTime() - b.openTime.getTime());
}

/** Merges consecutive candles into `size`-long UTC-aligned candles; partial buckets are kept as they are. */
export function aggregate(candles: Candle[], size: number): Candle[] {
  const buckets = new Map<number, Candle[]>();
  for (const c of candles) {
    const start = Math.floor(c.openTime.getTime() / size) * size;
    buckets.set(start, [...(buckets.get(start) ?? []), c]);
  }
  return [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([start, group]) => ({
      openTime: new Date(start),
      closeTime: new Date(start + size),
      open: group[0]!.open,
      high: Math.max(...group.map((c) => c.high)),
      low: Math.min(...group.map((c) => c.low)),
      close: group.at(-1)!.close,
      volume: group.every((c) => c.volume != null) ? group.reduce((s, c) => s + c.volume!, 0) : null,
      source: group[0]!.source,
    }));
}
