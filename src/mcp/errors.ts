import type { GraphqlAnswer, GraphqlError } from './execute.js';

// GraphQL errors as an agent can act on them: the stable code, the gateway's message, and one line
// saying what to do next. Never a stack: the gateway masks unexpected errors before they get here.

export interface AgentError {
  code: string;
  message: string;
  /** What to do about it, in one line. */
  hint: string;
  path?: Array<string | number>;
  /** Seconds to wait before calling again, when the gateway said. */
  retryAfter?: number;
}

const HINTS: Record<string, string | ((e: { retryAfter?: number; scope?: string }) => string)> = {
  RATE_LIMITED: ({ retryAfter }) =>
    `over this key's budget: wait ${retryAfter ?? 60} s, then call again (or ask for less per call)`,
  COST_LIMIT_EXCEEDED:
    'too costly in one call: ask for fewer assets, fewer kinds or a shorter range, or split it into several calls',
  NODE_LIMIT_EXCEEDED: 'the document selects too many fields: select fewer',
  DEPTH_LIMIT_EXCEEDED: 'the document nests too deep: flatten it',
  TOKEN_LIMIT_EXCEEDED: 'the document is too long: shorten it',
  DOCUMENT_TOO_LARGE: 'the document is too long: shorten it',
  ALIAS_LIMIT_EXCEEDED: 'the document uses too many aliases: ask for fewer fields in one call, or split it',
  DIRECTIVE_LIMIT_EXCEEDED: 'the document uses too many directives: remove some',
  REQUEST_ENTITY_TOO_LARGE: 'the call is too large: send fewer or shorter arguments',
  BAD_REQUEST: 'the request is malformed: fix what the message names and call again',
  OPERATION_RESOLUTION_FAILURE: 'name one operation of the document in operationName',
  TRUSTED_DOCUMENT_REQUIRED: 'only trusted operations are allowed for this key: use the listed tools',
  EXECUTION_TIMEOUT: 'the call took too long: ask for less (fewer assets, a shorter range), or retry later',
  AUTH_UNAVAILABLE: 'the gateway could not check the credential just now: retry in a few seconds',
  CONNECTION_LIMIT_EXCEEDED: 'the gateway is at its connection limit: retry in a few seconds',
  UPSTREAM_BUDGET_EXCEEDED:
    'this call would send too many provider requests: ask for fewer assets or a shorter range',
  UNAUTHENTICATED: 'send an API key: configure the MCP host with "Authorization: Bearer <key>"',
  FORBIDDEN: ({ scope }) =>
    scope
      ? `this key lacks the scope ${scope}: use a key that has it`
      : 'this key may not read that: use a key with the scope named in the message',
  PERSISTED_QUERY_NOT_FOUND: 'only trusted operations are allowed for this key: use the listed tools',
  BAD_USER_INPUT: 'fix the argument the message names and call again',
  GRAPHQL_VALIDATION_FAILED: 'the document does not match the schema: check it with describe_type',
  GRAPHQL_PARSE_FAILED: 'the document is not valid GraphQL: fix its syntax',
  NOT_FOUND: 'no such asset or metric: find the id with search_assets',
  NOT_AVAILABLE:
    'no provider offers that interval, currency or range: ask again within what the message says is available',
  UPSTREAM_RATE_LIMITED: ({ retryAfter }) =>
    `the provider asked us to wait${retryAfter !== undefined ? ` ${retryAfter} s` : ''}: retry then, or ask another source (provider_status shows which are healthy)`,
  UPSTREAM_TIMEOUT: 'the provider did not answer in time: retry in a few seconds, or ask another source',
  UPSTREAM_UNAVAILABLE:
    'the provider is failing: retry later, or ask another source (provider_status shows which are healthy)',
  UPSTREAM_BAD_RESPONSE: 'the provider answered nonsense: retry later, or ask another source',
  SUBSCRIPTION_ENDED:
    'the live price stream stopped: the server subscribes again by itself and sends resources/updated once it is live',
};

export function agentError(
  error: GraphqlError,
  answer?: Pick<GraphqlAnswer, 'retryAfter' | 'status'>,
): AgentError {
  const ext = error.extensions ?? {};
  const code =
    typeof ext.code === 'string'
      ? ext.code
      : answer?.status === 429
        ? 'RATE_LIMITED'
        : 'INTERNAL_SERVER_ERROR';
  const retryAfter = typeof ext.retryAfter === 'number' ? ext.retryAfter : answer?.retryAfter;
  const scope = typeof ext.scope === 'string' ? ext.scope : undefined;
  const hint = HINTS[code];
  return {
    code,
    message: error.message,
    hint:
      typeof hint === 'function'
        ? hint({ retryAfter, scope })
        : (hint ?? 'unexpected error: retry once, then report it'),
    ...(error.path ? { path: error.path } : {}),
    ...(retryAfter !== undefined ? { retryAfter } : {}),
  };
}

/** One line for the tool's text content. */
export function describeAgentError(error: AgentError): string {
  return `${error.code}: ${error.message} — ${error.hint}`;
}
