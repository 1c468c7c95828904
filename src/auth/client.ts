// Who is calling, what they may do and how much they may spend. A Client is established once per
// request (HTTP, SSE) or per graphql-ws connection by src/auth/identify.ts and carried in the context.

export interface Plan {
  requestsPerMinute: number;
  costPerMinute: number;
  maxSubscriptions: number;
}

export interface Client {
  /** Budget and log identity: the key's id, `jwt:<iss>|<sub>`, or `anonymous:<address>`. */
  id: string;
  kind: 'key' | 'jwt' | 'anonymous';
  scopes: ReadonlySet<string>;
  plan: Plan;
}

/** Every scope a key or token can hold (README "Clients and keys" says what each allows). */
export const SCOPES = ['subscribe', 'sources:detail', 'signals:licensed', 'query:any'] as const;
export type Scope = (typeof SCOPES)[number];

export type AuthMode = 'off' | 'optional' | 'required';

/**
 * True when `client` holds `scope`. No client (MARKETGRAPH_AUTH=off) holds none: callers that open
 * everything when auth is off (the schema's scope checks) say so themselves.
 */
export function hasScope(client: Client | undefined, scope: string): boolean {
  return client?.scopes.has(scope) === true;
}

/** The scope set as one canonical string ('' for none): part of the response-cache key. */
export function scopeKey(scopes: ReadonlySet<string>): string {
  return scopes.size === 0 ? '' : [...scopes].sort().join(',');
}
