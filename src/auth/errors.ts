import { GraphQLError } from 'graphql';
import type { ChargeOutcome } from './budgets.js';
import type { Refusal } from './identify.js';

// The errors a caller gets from auth and budgets, as GraphQL errors (Yoga's pipeline, graphql-ws) and
// as the ready HTTP answer the response cache's fast path writes. Both carry the same code, message
// and extensions; `extensions.http` is Yoga's status hint and never reaches the client.

export type Refused = Exclude<ChargeOutcome, { ok: true }>;

export interface HttpRefusal {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function refusalError(refusal: Refusal): GraphQLError {
  return new GraphQLError(refusal.message, {
    extensions: { code: refusal.code, http: { status: refusal.status, headers: refusalHeaders(refusal) } },
  });
}

export function chargeError(refused: Refused): GraphQLError {
  if (refused.limit === 'plan') {
    return new GraphQLError(
      `this operation's estimated cost is more than this client may spend in a minute (${refused.costPerMinute})`,
      { extensions: { code: 'COST_LIMIT_EXCEEDED', limit: refused.costPerMinute } },
    );
  }
  const retryAfter = Math.ceil(refused.retryAfterMs / 1000);
  return new GraphQLError(
    refused.limit === 'requests'
      ? `this client is over its requests per minute; retry in ${retryAfter} s`
      : `this client is over its upstream cost per minute; retry in ${retryAfter} s`,
    {
      extensions: {
        code: 'RATE_LIMITED',
        retryAfter,
        limit: refused.limit === 'requests' ? 'REQUESTS_PER_MINUTE' : 'COST_PER_MINUTE',
        http: { status: 429, headers: { 'retry-after': String(retryAfter) } },
      },
    },
  );
}

/** The same error as a complete HTTP answer (application/json). */
export function httpRefusal(error: GraphQLError): HttpRefusal {
  const { http, ...extensions } = error.extensions as {
    http?: { status?: number; headers?: Record<string, string> };
  } & Record<string, unknown>;
  return {
    status: http?.status ?? 200,
    headers: { 'content-type': 'application/json; charset=utf-8', ...http?.headers },
    body: JSON.stringify({ errors: [{ message: error.message, extensions }] }),
  };
}

function refusalHeaders(refusal: Refusal): Record<string, string> {
  if (refusal.status === 401) return { 'www-authenticate': 'Bearer realm="marketgraph"' };
  return { 'retry-after': '5' };
}
