import { GraphQLError } from 'graphql';
import type { ProviderName } from './market/model.js';

// The error catalogue. Every expected failure reaches the client as a GraphQLError whose
// `extensions.code` is one of ERROR_CODES; anything else is masked (INTERNAL_SERVER_ERROR) and logged.

/** The codes of the errors this module builds; one missing from ERROR_CODES drops out of this type. */
export type ErrorCode = Extract<
  (typeof ERROR_CODES)[number],
  | 'NOT_FOUND'
  | 'NOT_AVAILABLE'
  | 'BAD_USER_INPUT'
  | 'UPSTREAM_RATE_LIMITED'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_BAD_RESPONSE'
  | 'UPSTREAM_BUDGET_EXCEEDED'
  | 'RATE_LIMITED'
  | 'COST_LIMIT_EXCEEDED'
  | 'EXECUTION_TIMEOUT'
  | 'TRUSTED_DOCUMENT_REQUIRED'
  | 'PERSISTED_QUERY_NOT_FOUND'
  | LimitCode
>;

/**
 * Every `extensions.code` a client can get from this gateway: the catalogue above, the codes of the
 * front door (auth, client budgets, connection and subscription caps, draining) and Yoga's own request
 * codes. README's Errors table lists exactly these (test/error-codes.test.ts), and every error in the
 * suite's answers must carry one of them (test/helpers/error-codes.ts).
 */
export const ERROR_CODES = [
  // Asked for something that is not there, or not in the form asked
  'NOT_FOUND',
  'NOT_AVAILABLE',
  'BAD_USER_INPUT',
  // Providers
  'UPSTREAM_RATE_LIMITED',
  'UPSTREAM_UNAVAILABLE',
  'UPSTREAM_TIMEOUT',
  'UPSTREAM_BAD_RESPONSE',
  'UPSTREAM_BUDGET_EXCEEDED',
  // Limits on a document or an operation
  'DOCUMENT_TOO_LARGE',
  'TOKEN_LIMIT_EXCEEDED',
  'DEPTH_LIMIT_EXCEEDED',
  'ALIAS_LIMIT_EXCEEDED',
  'DIRECTIVE_LIMIT_EXCEEDED',
  'NODE_LIMIT_EXCEEDED',
  'COST_LIMIT_EXCEEDED',
  'EXECUTION_TIMEOUT',
  // Who may ask, and how much
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'AUTH_UNAVAILABLE',
  'RATE_LIMITED',
  'SUBSCRIPTION_LIMIT_EXCEEDED',
  'CONNECTION_LIMIT_EXCEEDED',
  'TRUSTED_DOCUMENT_REQUIRED',
  'PERSISTED_QUERY_NOT_FOUND',
  'SHUTTING_DOWN',
  // MCP only: a price resource's live stream stopped (src/mcp/price-stream.ts)
  'SUBSCRIPTION_ENDED',
  // Yoga's (and graphql-ws's, through our transport) for the request itself
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'REQUEST_ENTITY_TOO_LARGE',
  // Node's HTTP parser refused the request before any handler saw it (src/client-errors.ts)
  'REQUEST_HEADERS_TOO_LARGE',
  'REQUEST_TIMEOUT',
  'OPERATION_RESOLUTION_FAILURE',
  'INTERNAL_SERVER_ERROR',
] as const satisfies readonly string[];

/** A document refused before any resolver runs because it is too big in one dimension. */
export type LimitCode =
  | 'DOCUMENT_TOO_LARGE'
  | 'TOKEN_LIMIT_EXCEEDED'
  | 'DEPTH_LIMIT_EXCEEDED'
  | 'ALIAS_LIMIT_EXCEEDED'
  | 'DIRECTIVE_LIMIT_EXCEEDED'
  | 'NODE_LIMIT_EXCEEDED';

/** Longest client-supplied value an error message quotes; longer ones are described, not echoed. */
const MAX_ECHO = 60;

/** What a provider's answer (or its absence) is classified as. */
export type UpstreamCode = Exclude<Extract<ErrorCode, `UPSTREAM_${string}`>, 'UPSTREAM_BUDGET_EXCEEDED'>;

/** Which per-request limit refused an upstream call (UPSTREAM_BUDGET_EXCEEDED's `reason`). */
export type BudgetReason = 'UPSTREAM_CALLS' | 'QUOTA_SHARE' | 'CANDLE_ROWS' | 'ABANDONED' | 'QUOTA_RESERVE';

/**
 * A failed provider call, already classified, or one the gateway would not make for this request
 * (UPSTREAM_BUDGET_EXCEEDED, with the `reason` and its `limit`). Messages never carry keys or full URLs.
 */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    readonly code: UpstreamCode | 'UPSTREAM_BUDGET_EXCEEDED',
    readonly provider: ProviderName,
    message: string,
    readonly details: {
      retryAfter?: number;
      status?: number;
      endpoint?: string;
      reason?: BudgetReason;
      limit?: number;
    } = {},
  ) {
    super(message);
  }

  toGraphQLError(path?: ReadonlyArray<string | number>): GraphQLError {
    return new GraphQLError(this.message, {
      ...(path ? { path } : {}),
      extensions: {
        code: this.code,
        provider: this.provider,
        ...(this.details.endpoint ? { endpoint: this.details.endpoint } : {}),
        ...(this.details.retryAfter !== undefined ? { retryAfter: this.details.retryAfter } : {}),
        ...(this.details.reason ? { reason: this.details.reason, limit: this.details.limit } : {}),
      },
    });
  }
}

export function notFound(what: string, value: string, extra?: Record<string, unknown>): GraphQLError {
  return new GraphQLError(`${what} ${quote(value)} was not found`, {
    extensions: { code: 'NOT_FOUND', ...extra },
  });
}

/** Several values that name nothing, all named at once (`ids` lists them for programs). */
export function notFoundAll(what: string, values: readonly string[]): GraphQLError {
  if (values.length === 1) {
    return new GraphQLError(`${what} ${quote(values[0]!)} was not found`, {
      extensions: { code: 'NOT_FOUND', ids: [...values] },
    });
  }
  return new GraphQLError(`${what} ${values.map(quote).join(', ')} were not found`, {
    extensions: { code: 'NOT_FOUND', ids: [...values] },
  });
}

/** What the providers can serve instead, in the schema's own names (`H1`, `EUR`). */
export interface Availability {
  /** Intervals the asset's candles come in, in the currency asked for. */
  intervals: string[];
  /** Currencies the asset's candles come in, at the interval asked for. */
  currencies: string[];
  /** Earliest window start the providers reach at this interval and currency, when they serve it at all. */
  from?: Date;
}

/**
 * Asked for something no configured provider offers (a W1 candle in EUR, candles older than the only
 * provider's window): not an outage, so asking again cannot help, and it is not NOT_FOUND either. Says
 * what is available instead.
 */
export class NotAvailableError extends GraphQLError {
  constructor(
    message: string,
    readonly available: Availability,
  ) {
    super(message, {
      extensions: {
        code: 'NOT_AVAILABLE',
        available: {
          intervals: available.intervals,
          currencies: available.currencies,
          ...(available.from ? { from: available.from.toISOString() } : {}),
        },
      },
    });
  }
}

export function isNotAvailable(error: unknown): error is NotAvailableError {
  return error instanceof NotAvailableError;
}

/** A document refused for its size; `limit` is the configured bound it went past. */
export function limitExceeded(code: LimitCode, message: string, limit: number): GraphQLError {
  return new GraphQLError(message, { extensions: { code, limit } });
}

/** A client's value for an error message: JSON-quoted when short, its length otherwise. */
export function quote(value: string): string {
  return value.length <= MAX_ECHO ? JSON.stringify(value) : `(a ${value.length}-character string)`;
}

export function badUserInput(message: string, argument?: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: 'BAD_USER_INPUT', ...(argument ? { argument } : {}) },
  });
}

/**
 * A resolver's error that is a provider's classified failure underneath (a resolver that let an
 * UpstreamError through unconverted), as the coded error it stands for, at the same path; undefined
 * for anything else. The error mask applies it first, so such a failure is never masked as a bug.
 */
export function codedUpstreamError(error: unknown): GraphQLError | undefined {
  const upstream = error instanceof GraphQLError ? error.originalError : error;
  if (!(upstream instanceof UpstreamError)) return undefined;
  const located = error instanceof GraphQLError ? error : undefined;
  return new GraphQLError(upstream.message, {
    nodes: located?.nodes,
    source: located?.source,
    positions: located?.positions,
    path: located?.path,
    originalError: upstream,
    extensions: upstream.toGraphQLError().extensions,
  });
}

/** Turns whatever a loader rejected with into something safe to show a client. */
export function toClientError(error: unknown): Error {
  if (error instanceof UpstreamError) return error.toGraphQLError();
  return error instanceof Error ? error : new Error(String(error));
}

export function isUpstreamError(error: unknown): error is UpstreamError {
  return error instanceof UpstreamError;
}

/** A call refused by a request's own upstream budget (never the provider's failure). */
export function isBudgetRefusal(error: unknown): error is UpstreamError {
  return error instanceof UpstreamError && error.code === 'UPSTREAM_BUDGET_EXCEEDED';
}
