import type { IsomorphicHeaders } from '@modelcontextprotocol/sdk/types.js';
import { CALLER_ADDRESS_HEADER } from '../auth/client-address.js';

// Every MCP call runs its GraphQL operation as an ordinary request to the gateway's own /graphql,
// through yoga.fetch (no socket), carrying the caller's credentials. So identity, scopes, request and
// cost budgets, trusted documents, limits, the response cache and `extensions.cost` apply to agents
// exactly as to any client, without MCP-specific code.

export type GraphqlFetch = (url: string, init: RequestInit) => Promise<Response>;

/** The caller's headers that identify it, forwarded as they came (the address as ./caller.ts set it). */
const FORWARDED = ['authorization', 'x-api-key', 'x-request-id', CALLER_ADDRESS_HEADER] as const;

export interface GraphqlRequest {
  /** Manifest key of a trusted document; with `byDocumentId` only it is sent, else the text with it. */
  documentId?: string;
  text: string;
  operationName?: string;
  variables?: Record<string, unknown>;
  /** The MCP request's headers (Streamable HTTP), or the stdio key as an Authorization header. */
  headers?: IsomorphicHeaders;
}

export interface GraphqlError {
  message: string;
  path?: Array<string | number>;
  extensions?: Record<string, unknown>;
}

export interface GraphqlAnswer {
  status: number;
  /** Seconds from the Retry-After header, when the gateway sent one. */
  retryAfter?: number;
  data?: Record<string, unknown> | null;
  errors?: GraphqlError[];
  extensions?: Record<string, unknown>;
}

export const GRAPHQL_URL = 'http://gateway.internal/graphql';

export function forwardedHeaders(headers: IsomorphicHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of FORWARDED) {
    const value = headers?.[name];
    const one = Array.isArray(value) ? value[0] : value;
    if (one) out[name] = one;
  }
  return out;
}

export function createGraphqlExecutor(deps: { fetch: GraphqlFetch; byDocumentId: boolean }) {
  return async function run(request: GraphqlRequest, signal?: AbortSignal): Promise<GraphqlAnswer> {
    const body: Record<string, unknown> = { variables: request.variables ?? {} };
    if (request.operationName) body.operationName = request.operationName;
    if (request.documentId && deps.byDocumentId) body.documentId = request.documentId;
    else {
      body.query = request.text;
      // The persisted-query form names the trusted document too, for a gateway that checks hashes.
      if (request.documentId)
        body.extensions = {
          persistedQuery: { version: 1, sha256Hash: request.documentId.replace(/^sha256:/, '') },
        };
    }
    const response = await deps.fetch(GRAPHQL_URL, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...forwardedHeaders(request.headers),
      },
      body: JSON.stringify(body),
      signal,
    });
    const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
    const text = await response.text();
    let parsed: Omit<GraphqlAnswer, 'status'>;
    try {
      parsed = JSON.parse(text) as Omit<GraphqlAnswer, 'status'>;
    } catch {
      parsed = {
        errors: [
          {
            message: `the gateway answered ${response.status} without a GraphQL body`,
            extensions: { code: `HTTP_${response.status}` },
          },
        ],
      };
    }
    return { status: response.status, ...(Number.isFinite(retryAfter) ? { retryAfter } : {}), ...parsed };
  };
}

export type GraphqlExecutor = ReturnType<typeof createGraphqlExecutor>;
