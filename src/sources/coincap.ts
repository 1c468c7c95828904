import type { ProviderConfig } from '../config.js';
import { type UpstreamCode, UpstreamError } from '../errors.js';
import type { Http } from '../http/client.js';
import type { MarketData } from '../market/model.js';
import { chunk } from './chunk.js';
import { assetsBody, errorBody, historyBody, priceBySymbolBody } from './coincap-schemas.js';

// CoinCap REST v3: `Authorization: Bearer <key>`, {data, timestamp} envelopes, numbers as strings.
// CoinCap ids are slugs that mostly equal CoinGecko's; `assets` takes an optional Map coincapId →
// canonical id and falls back to the CoinCap id itself. Batch contracts:
// - /assets?ids= answers at most `limit` rows (default 100) whatever the id count, so every call sends
//   limit = its id count; ids are chunked at 2000, CoinCap's maximum limit. Unknown ids are absent.
// - /price/bysymbol answers an array aligned with the requested symbols (null for unknown ones); a
//   length mismatch means alignment is lost and the call fails rather than guessing.

export type CoinCapInterval = 'm1' | 'm5' | 'm15' | 'm30' | 'h1' | 'h2' | 'h6' | 'h12' | 'd1';
export const COINCAP_INTERVALS: readonly CoinCapInterval[] = [
  'm1',
  'm5',
  'm15',
  'm30',
  'h1',
  'h2',
  'h6',
  'h12',
  'd1',
];

export interface CoinCapDeps {
  http: Http;
  config: ProviderConfig;
}

export interface CoinCapSource {
  /** Ids per /assets call: CoinCap's maximum `limit`. */
  readonly maxIdsPerCall: number;
  /** Symbols per /price/bysymbol call; no documented cap, this keeps the path short. */
  readonly maxSymbolsPerCall: number;
  assets(
    coincapIds: readonly string[],
    assetIdsByCoincapId?: ReadonlyMap<string, string>,
  ): Promise<MarketData[]>;
  /** CoinCap's asset list (ids, symbols, ranks), the top `limit` by rank: maps CoinCap ids to ours. */
  catalogue(
    limit?: number,
  ): Promise<Array<{ coincapId: string; symbol: string; name: string; rank: number | null }>>;
  /** USD price per requested symbol (keys as given); unknown symbols are absent. */
  pricesBySymbol(symbols: readonly string[]): Promise<Map<string, number>>;
  /** USD price points oldest first; `start` and `end` go together (CoinCap refuses one alone). */
  history(
    coincapId: string,
    interval: CoinCapInterval,
    start?: Date,
    end?: Date,
  ): Promise<Array<{ at: Date; price: number }>>;
}

/** Ids per /assets call (the cost model in src/cost/ counts with it). */
export const MAX_IDS = 2000;
const MAX_SYMBOLS = 100;

export function createCoinCapSource(deps: CoinCapDeps): CoinCapSource {
  const { http, config } = deps;

  function authHeaders(): Record<string, string> {
    if (!config.enabled || !config.key) {
      throw new UpstreamError(
        'UPSTREAM_UNAVAILABLE',
        'coincap',
        'coincap needs an API key (set MARKETGRAPH_COINCAP_KEY) and is disabled without one',
      );
    }
    return { authorization: `Bearer ${config.key}` };
  }

  async function assets(
    coincapIds: readonly string[],
    assetIds?: ReadonlyMap<string, string>,
  ): Promise<MarketData[]> {
    const ids = [...new Set(coincapIds)].filter((id) => id.length > 0 && !id.includes(','));
    if (ids.length === 0) return [];
    const headers = authHeaders();
    const bodies = await Promise.all(
      chunk(ids, MAX_IDS).map((list) =>
        http.get({
          provider: 'coincap',
          endpoint: 'assets',
          path: '/assets',
          query: { ids: list.join(','), limit: list.length },
          headers,
          schema: assetsBody,
          envelopeError: readCoinCapEnvelopeError,
        }),
      ),
    );
    return bodies.flatMap((body) =>
      body.data.map((row) => ({
        assetId: assetIds?.get(row.id) ?? row.id,
        currency: 'usd',
        price: row.priceUsd,
        marketCap: row.marketCapUsd,
        volume24h: row.volumeUsd24Hr,
        change24h: row.changePercent24Hr,
        high24h: null,
        low24h: null,
        circulatingSupply: row.supply,
        totalSupply: null,
        maxSupply: row.maxSupply,
        asOf: new Date(body.timestamp),
        source: 'coincap' as const,
      })),
    );
  }

  async function catalogue(limit = MAX_IDS) {
    const body = await http.get({
      provider: 'coincap',
      endpoint: 'assets',
      path: '/assets',
      query: { limit: Math.min(Math.max(1, limit), MAX_IDS) },
      headers: authHeaders(),
      schema: assetsBody,
      envelopeError: readCoinCapEnvelopeError,
    });
    return body.data.map((row) => ({
      coincapId: row.id,
      symbol: row.symbol,
      name: row.name,
      rank: row.rank ?? null,
    }));
  }

  async function pricesBySymbol(symbols: readonly string[]): Promise<Map<string, number>> {
    const wanted = [...new Set(symbols)].filter((s) => s.length > 0 && !/[,/]/.test(s));
    const out = new Map<string, number>();
    if (wanted.length === 0) return out;
    const headers = authHeaders();
    await Promise.all(
      chunk(wanted, MAX_SYMBOLS).map(async (list) => {
        const body = await http.get({
          provider: 'coincap',
          endpoint: 'price/bysymbol',
          path: `/price/bysymbol/${list.map(encodeURIComponent).join(',')}`,
          headers,
          schema: priceBySymbolBody,
          envelopeError: readCoinCapEnvelopeError,
        });
        if (body.data.length !== list.length) {
          throw new UpstreamError(
            'UPSTREAM_BAD_RESPONSE',
            'coincap',
            `coincap price/bysymbol: ${body.data.length} prices for ${list.length} symbols, cannot align them`,
            { endpoint: 'price/bysymbol' },
          );
        }
        list.forEach((symbol, i) => {
          const price = body.data[i];
          if (price !== null && price !== undefined) out.set(symbol, price);
        });
      }),
    );
    return out;
  }

  async function history(coincapId: string, interval: CoinCapInterval, start?: Date, end?: Date) {
    if (!COINCAP_INTERVALS.includes(interval)) {
      throw new RangeError(
        `coincap history: interval must be one of ${COINCAP_INTERVALS.join(', ')}, got ${JSON.stringify(interval)}`,
      );
    }
    if ((start === undefined) !== (end === undefined)) {
      throw new RangeError('coincap history: pass both start and end, or neither');
    }
    const body = await http.get({
      provider: 'coincap',
      endpoint: 'assets/history',
      path: `/assets/${encodeURIComponent(coincapId)}/history`,
      query: { interval, start: start?.getTime(), end: end?.getTime() },
      headers: authHeaders(),
      schema: historyBody,
      envelopeError: readCoinCapEnvelopeError,
    });
    return body.data.map((point) => ({ at: new Date(point.time), price: point.priceUsd }));
  }

  return {
    maxIdsPerCall: MAX_IDS,
    maxSymbolsPerCall: MAX_SYMBOLS,
    assets,
    catalogue,
    pricesBySymbol,
    history,
  };
}

/** CoinCap errors normally come with an HTTP error status; an {"error"} body with 200 is not data. */
export function readCoinCapEnvelopeError(body: unknown): { code: UpstreamCode; message: string } | undefined {
  const parsed = errorBody.safeParse(body);
  if (!parsed.success) return undefined;
  return { code: 'UPSTREAM_BAD_RESPONSE', message: `error body: ${parsed.data.error}` };
}
