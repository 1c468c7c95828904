import type { z } from 'zod';
import type { ProviderConfig } from '../config.js';
import { UpstreamError } from '../errors.js';
import type { EnvelopeError, Http } from '../http/client.js';
import type { ContractAddress, Signal, SignalDirection } from '../market/model.js';
import { chunk } from './chunk.js';
import {
  failureBody,
  type InvestorGradeRow,
  investorGradesBody,
  type TraderGradeRow,
  type TradingSignalRow,
  tokensBody,
  traderGradesBody,
  tradingSignalsBody,
} from './tokenmetrics-schemas.js';

// Token Metrics data API v2: header `api_key`, {success, message, length, data[]} envelopes, numeric
// TOKEN_IDs. Token Metrics ids are not ours, so the signal methods take a Map tokenId → canonical asset
// id (built by the asset registry, e.g. from tokens()) and return Signals for the tokens that had data;
// tokens missing from the answer are simply absent. Signals are daily ('1d') and come from the newest
// row of a two-day window (yesterday and today, UTC), so a day not yet published still yields the
// previous one.
//
// Direction and strength:
// - TM_TRADING_SIGNAL: direction from TRADING_SIGNAL (1 bullish, -1 bearish, 0 neutral).
// - TM_TRADER_GRADE / TM_INVESTOR_GRADE: grade ≥ 65 bullish, ≤ 35 bearish, neutral between.
// - strength is how far the grade (0..100 → g in 0..1; TM_TRADER_GRADE for trading signals) backs the
//   direction: g when bullish, 1 - g when bearish, 1 - |2g - 1| when neutral; 0.5 when the grade is null.
//
// Paging: `limit` is sent as 100 (the documented maximum; the sandbox caps there silently) and pages
// are read from 0 until one comes back short, at most MAX_PAGES, stopping early if a page repeats the
// previous one (the official SDK warns that `page` misbehaves).

export interface TokenMetricsDeps {
  http: Http;
  config: ProviderConfig;
  /** Clock for the date window of dated endpoints; Date.now by default. */
  now?: () => number;
}

export interface TokenMetricsToken {
  tokenId: number;
  name: string;
  symbol: string;
  contracts: ContractAddress[];
}

export const TM_GRADE_THRESHOLDS = { bullish: 65, bearish: 35 } as const;
const THRESHOLD_NOTE = `≥${TM_GRADE_THRESHOLDS.bullish} bullish, ≤${TM_GRADE_THRESHOLDS.bearish} bearish`;

export interface TokenMetricsSource {
  /** Token ids per dated call: a two-day window of 50 tokens fills one 100-row page. */
  readonly maxIdsPerCall: number;
  /** Tokens matching all given filters (comma lists upstream); no filter lists every token. */
  tokens(filter?: { symbols?: readonly string[]; ids?: readonly number[] }): Promise<TokenMetricsToken[]>;
  tradingSignals(assetIdsByTokenId: ReadonlyMap<number, string>): Promise<Signal[]>;
  traderGrades(assetIdsByTokenId: ReadonlyMap<number, string>): Promise<Signal[]>;
  investorGrades(assetIdsByTokenId: ReadonlyMap<number, string>): Promise<Signal[]>;
}

const PAGE_SIZE = 100;
const MAX_PAGES = 50;
export const IDS_PER_CALL = 50;
const DAY = 86_400_000;

type Query = Record<string, string | number | undefined>;

export function createTokenMetricsSource(deps: TokenMetricsDeps): TokenMetricsSource {
  const { http, config } = deps;
  const now = deps.now ?? Date.now;

  function authHeaders(): Record<string, string> {
    if (!config.enabled || !config.key) {
      throw new UpstreamError(
        'UPSTREAM_UNAVAILABLE',
        'tokenmetrics',
        'tokenmetrics needs an API key (set MARKETGRAPH_TOKENMETRICS_KEY) and is disabled without one',
      );
    }
    return { api_key: config.key, accept: 'application/json' };
  }

  /** Reads pages until a short one, `maxRows` rows (the most there can be), a repeated page or MAX_PAGES. */
  async function fetchPages<Row>(
    endpoint: string,
    query: Query,
    schema: z.ZodType<{ data: Row[] }>,
    maxRows = Number.POSITIVE_INFINITY,
  ): Promise<Row[]> {
    const headers = authHeaders();
    const rows: Row[] = [];
    let previousFirst: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const body = await http.get({
        provider: 'tokenmetrics',
        endpoint,
        path: `/${endpoint}`,
        query: { ...query, limit: PAGE_SIZE, page },
        headers,
        schema,
        envelopeError: readTokenMetricsEnvelopeError,
      });
      const first = body.data.length > 0 ? JSON.stringify(body.data[0]) : undefined;
      if (first !== undefined && first === previousFirst) break;
      previousFirst = first;
      rows.push(...body.data);
      if (body.data.length < PAGE_SIZE || rows.length >= maxRows) break;
    }
    return rows;
  }

  /** Rows for these token ids over yesterday..today, chunked and fetched in parallel. */
  async function datedRows<Row extends { TOKEN_ID: number; DATE: Date }>(
    endpoint: string,
    tokenIds: readonly number[],
    schema: z.ZodType<{ data: Row[] }>,
  ): Promise<Map<number, Row>> {
    const today = Math.floor(now() / DAY) * DAY;
    const window = { startDate: isoDay(today - DAY), endDate: isoDay(today) };
    const chunks = chunk([...new Set(tokenIds)], IDS_PER_CALL);
    const pages = await Promise.all(
      chunks.map((ids) =>
        fetchPages(endpoint, { token_id: ids.join(','), ...window }, schema, ids.length * 2),
      ),
    );
    const latest = new Map<number, Row>();
    for (const row of pages.flat()) {
      const seen = latest.get(row.TOKEN_ID);
      if (!seen || row.DATE > seen.DATE) latest.set(row.TOKEN_ID, row);
    }
    return latest;
  }

  async function tokens(filter: { symbols?: readonly string[]; ids?: readonly number[] } = {}) {
    const ids = filter.ids ? [...new Set(filter.ids)] : undefined;
    const symbols = filter.symbols ? [...new Set(filter.symbols.map((s) => s.toUpperCase()))] : undefined;
    if (ids?.length === 0 || symbols?.length === 0) return [];
    const symbolQuery = symbols ? symbols.join(',') : undefined;
    const queries: Query[] = ids
      ? chunk(ids, PAGE_SIZE).map((list) => ({ token_id: list.join(','), symbol: symbolQuery }))
      : [{ symbol: symbolQuery }];
    // One row per token id, so an id chunk never needs a second page.
    const maxRows = ids ? PAGE_SIZE : Number.POSITIVE_INFINITY;
    const pages = await Promise.all(queries.map((query) => fetchPages('tokens', query, tokensBody, maxRows)));
    return pages.flat().map((row) => ({
      tokenId: row.TOKEN_ID,
      name: row.TOKEN_NAME ?? '',
      symbol: (row.TOKEN_SYMBOL ?? '').toUpperCase(),
      contracts: Object.entries(row.CONTRACT_ADDRESS ?? {})
        .filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== '')
        .map(([chain, address]) => ({ chain, address })),
    }));
  }

  async function tradingSignals(assetIds: ReadonlyMap<number, string>): Promise<Signal[]> {
    const rows = await datedRows('trading-signals', [...assetIds.keys()], tradingSignalsBody);
    return mapRows(rows, assetIds, tradingSignalOf);
  }

  async function traderGrades(assetIds: ReadonlyMap<number, string>): Promise<Signal[]> {
    const rows = await datedRows('trader-grades', [...assetIds.keys()], traderGradesBody);
    return mapRows(rows, assetIds, traderGradeOf);
  }

  async function investorGrades(assetIds: ReadonlyMap<number, string>): Promise<Signal[]> {
    const rows = await datedRows('investor-grades', [...assetIds.keys()], investorGradesBody);
    return mapRows(rows, assetIds, investorGradeOf);
  }

  return { maxIdsPerCall: IDS_PER_CALL, tokens, tradingSignals, traderGrades, investorGrades };
}

function mapRows<Row>(
  rows: Map<number, Row>,
  assetIds: ReadonlyMap<number, string>,
  toSignal: (row: Row, assetId: string) => Signal | undefined,
): Signal[] {
  const signals: Signal[] = [];
  for (const [tokenId, row] of rows) {
    const assetId = assetIds.get(tokenId);
    const signal = assetId === undefined ? undefined : toSignal(row, assetId);
    if (signal) signals.push(signal);
  }
  return signals;
}

function tradingSignalOf(row: TradingSignalRow, assetId: string): Signal {
  const direction: SignalDirection =
    row.TRADING_SIGNAL === 1 ? 'BULLISH' : row.TRADING_SIGNAL === -1 ? 'BEARISH' : 'NEUTRAL';
  const day = isoDay(row.DATE.getTime());
  return signal(
    'TM_TRADING_SIGNAL',
    assetId,
    row.DATE,
    direction,
    row.TM_TRADER_GRADE,
    [
      `Token Metrics trading signal ${row.TRADING_SIGNAL} (trend ${show(row.TOKEN_TREND)})`,
      `for token ${row.TOKEN_ID} on ${day};`,
      `trader grade ${show(row.TM_TRADER_GRADE)}, investor grade ${show(row.TM_INVESTOR_GRADE)},`,
      `signal returns ${show(row.TRADING_SIGNALS_RETURNS)} vs holding ${show(row.HOLDING_RETURNS)}`,
    ].join(' '),
  );
}

function traderGradeOf(row: TraderGradeRow, assetId: string): Signal | undefined {
  const grade = row.TM_TRADER_GRADE;
  if (grade === null) return undefined;
  const day = isoDay(row.DATE.getTime());
  return signal(
    'TM_TRADER_GRADE',
    assetId,
    row.DATE,
    gradeDirection(grade),
    grade,
    [
      `Token Metrics trader grade ${show(grade)} for token ${row.TOKEN_ID} on ${day}`,
      `(TA ${show(row.TA_GRADE)}, quant ${show(row.QUANT_GRADE)},`,
      `24h change ${show(row.TM_TRADER_GRADE_24H_PCT_CHANGE)}%);`,
      THRESHOLD_NOTE,
    ].join(' '),
  );
}

function investorGradeOf(row: InvestorGradeRow, assetId: string): Signal | undefined {
  const grade = row.TM_INVESTOR_GRADE;
  if (grade === null) return undefined;
  const day = isoDay(row.DATE.getTime());
  return signal(
    'TM_INVESTOR_GRADE',
    assetId,
    row.DATE,
    gradeDirection(grade),
    grade,
    [
      `Token Metrics investor grade ${show(grade)} for token ${row.TOKEN_ID} on ${day}`,
      `(fundamental ${show(row.FUNDAMENTAL_GRADE)}, technology ${show(row.TECHNOLOGY_GRADE)},`,
      `valuation ${show(row.VALUATION_GRADE)}, 7d change ${show(row.TM_INVESTOR_GRADE_7D_PCT_CHANGE)}%);`,
      THRESHOLD_NOTE,
    ].join(' '),
  );
}

function signal(
  kind: string,
  assetId: string,
  date: Date,
  direction: SignalDirection,
  grade: number | null,
  rationale: string,
): Signal {
  return {
    id: `tokenmetrics:${kind}:${assetId}:${isoDay(date.getTime())}`,
    assetId,
    kind,
    direction,
    strength: strengthOf(direction, grade),
    generatedAt: date,
    source: 'tokenmetrics',
    interval: '1d',
    rationale,
    asOf: date,
    stale: false,
  };
}

export function gradeDirection(grade: number): SignalDirection {
  if (grade >= TM_GRADE_THRESHOLDS.bullish) return 'BULLISH';
  if (grade <= TM_GRADE_THRESHOLDS.bearish) return 'BEARISH';
  return 'NEUTRAL';
}

/** How far a 0..100 grade backs the direction, 0..1 (see the header comment). */
export function strengthOf(direction: SignalDirection, grade: number | null): number {
  if (grade === null) return 0.5;
  const g = Math.min(1, Math.max(0, grade / 100));
  if (direction === 'BULLISH') return g;
  if (direction === 'BEARISH') return 1 - g;
  return 1 - Math.abs(2 * g - 1);
}

/**
 * {success:false, message} can arrive with HTTP 200; HTTP errors are classified by status in http.ts.
 * The message is Token Metrics' own text, passed whole: http.ts redacts it before it is logged, and
 * clients never see it.
 */
export function readTokenMetricsEnvelopeError(body: unknown): EnvelopeError | undefined {
  const parsed = failureBody.safeParse(body);
  if (!parsed.success) return undefined;
  const text = parsed.data.message ?? 'no message';
  if (/rate|too many|limit exceeded|quota/i.test(text)) {
    return { code: 'UPSTREAM_RATE_LIMITED', message: `success:false: ${text}` };
  }
  if (/key|auth|forbidden|subscription|plan/i.test(text)) {
    return {
      code: 'UPSTREAM_UNAVAILABLE',
      message: `success:false: ${text} (check MARKETGRAPH_TOKENMETRICS_KEY)`,
      retryable: false,
    };
  }
  return { code: 'UPSTREAM_BAD_RESPONSE', message: `success:false: ${text}` };
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function show(value: number | null): string {
  return value === null ? 'n/a' : String(Math.round(value * 100) / 100);
}
