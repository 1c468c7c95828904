import { GraphQLError } from 'graphql';
import type { ProviderName } from './market/model.js';

// The error catalogue. Every expected failure reaches the client as a GraphQLError whose
// `extensions.code` is one of these (or one of Yoga's own request codes: BAD_REQUEST,
// GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED, REQUEST_ENTITY_TOO_LARGE, ...); anything else is
// masked by Yoga and logged.

export type ErrorCode =
  | 'NOT_FOUND'
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
  | LimitCode;

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
export type BudgetReason = 'UPSTREAM_CALLS' | 'QUOTA_SHARE' | 'CANDLE_ROWS' | 'ABANDONED';

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
