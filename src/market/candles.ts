import type { Config } from '../config.js';
import { UpstreamError } from '../errors.js';
import type { UpstreamBudget } from '../http/budget.js';
import type { Sources } from '../sources/index.js';
import { intervalMs } from './intervals.js';
import type { CandleKey } from './keys.js';
import type { Candle } from './model.js';
import type { AssetRegistry } from './registry.js';

// Candle windows from whichever provider can serve them. Binance klines are the primary source (full
// OHLCV, any interval, 1000 rows per call: a window is split into ≤1000-candle slices fetched in
// parallel). CoinGecko's OHLC is the fallback and the only source for non-USD quotes; its candle size
// is fixed by `days` (1–2 d → 30 min, 3–30 d → 4 h), so we ask for the granularity that matches and
// aggregate 4 h candles into days. What neither can serve stays missing and is reported as a gap.
// Built per request with the request's budget: a window takes its rows from the budget before any
// call for it (once, whichever provider serves it), and a window that does not fit is not fetched.

export interface CandleService {
  fetch(key: CandleKey): Promise<Candle[]>;
}

const BINANCE_MAX_ROWS = 1000;
const DAY = 86_400_000;

export function createCandleService(deps: {
  config: Config;
  sources: Sources;
  registry: AssetRegistry;
  /** The request's upstream budget; none outside requests. */
  budget?: UpstreamBudget;
  now?: () => number;
}): CandleService {
  const now = deps.now ?? Date.now;

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

  async function fromCoinGecko(key: CandleKey): Promise<Candle[]> {
    const age = now() - key.from;
    if (key.interval === '30m' && age <= 2 * DAY) {
      return deps.sources.coingecko.ohlc(key.assetId, key.currency, age <= DAY ? 1 : 2);
    }
    if ((key.interval === '4h' || key.interval === '1d') && age <= 30 * DAY) {
      const days = age <= 7 * DAY ? 7 : age <= 14 * DAY ? 14 : 30;
      const fourHour = await deps.sources.coingecko.ohlc(key.assetId, key.currency, days);
      return key.interval === '4h' ? fourHour : aggregate(fourHour, DAY);
    }
    throw new UpstreamError(
      'UPSTREAM_UNAVAILABLE',
      'coingecko',
      `coingecko has no ${key.interval} candles for a window starting ${new Date(key.from).toISOString()}`,
      { endpoint: 'coins/ohlc' },
    );
  }

  return {
    async fetch(key) {
      let symbol: string | undefined;
      if (key.currency === 'usd' && deps.config.providers.binance.enabled) {
        try {
          symbol = await deps.registry.binanceSymbol(key.assetId);
        } catch (error) {
          // Binance's pairs are unknown while its catalogue is out: CoinGecko serves the window if it
          // can; if not, the catalogue's failure is what the client is told.
          if (!(error instanceof UpstreamError)) throw error;
          try {
            return await fromCoinGecko(key);
          } catch {
            throw error;
          }
        }
      }
      const refused = deps.budget?.takeCandleRows(
        symbol ? 'binance' : 'coingecko',
        symbol ? 'klines' : 'coins/ohlc',
        windowRows(key),
      );
      if (refused) throw refused;
      if (symbol) {
        try {
          return await fromBinance(key, symbol);
        } catch (error) {
          if (!(error instanceof UpstreamError)) throw error;
          // Fall through to CoinGecko; if it cannot serve the window either, report Binance's failure.
          try {
            return await fromCoinGecko(key);
          } catch {
            throw error;
          }
        }
      }
      return fromCoinGecko(key);
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
