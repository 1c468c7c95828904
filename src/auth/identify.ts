import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { type AuthMode, type Client, type Plan, SCOPES, scopeKey } from './client.js';
import { type JwtVerifier, looksLikeJwt } from './jwt.js';
import type { KeyStore } from './key-store.js';

// From a request's credential to a Client, the same way for HTTP, SSE and graphql-ws. An API key is
// hashed (SHA-256) and looked up in the keys file; a JWT is verified against the JWKS. Both answers
// are cached per distinct credential string in a bounded map, so a caller who sends the same key on
// every request pays one hash for all of them (the response cache's hits stay cheap); the key cache is
// dropped whenever the keys file is reloaded, and a JWT's entry lives no longer than the token.
// A credential that is wrong is refused in every mode but `off`: it is never served as anonymous.

export interface Identity {
  /** Undefined only with MARKETGRAPH_AUTH=off. */
  client: Client | undefined;
  /** The client's scope set as the response cache keys on it ('' for none). */
  scopeKey: string;
}

export interface Refusal {
  status: 401 | 503;
  code: 'UNAUTHENTICATED' | 'AUTH_UNAVAILABLE';
  message: string;
}

export type IdentifyOutcome = Identity | { refuse: Refusal };

/** The two headers a credential may come in, raw. */
export interface Credentials {
  authorization?: string | undefined;
  apiKey?: string | undefined;
}

export interface Identifier {
  identify(credentials: Credentials, address: string): IdentifyOutcome | Promise<IdentifyOutcome>;
  readonly mode: AuthMode;
}

export interface IdentifierDeps {
  mode: AuthMode;
  keys: KeyStore;
  jwt?: JwtVerifier;
  /** Plan and scopes of anonymous callers when the keys file gives none. */
  anonymous: { plan: Plan; scopes: readonly string[] };
  /** Distinct credential strings remembered (keys and tokens; default 10 000). */
  maxCached?: number;
  now?: () => number;
}

const OFF: Identity = Object.freeze({ client: undefined, scopeKey: '' });
const KNOWN_SCOPES: ReadonlySet<string> = new Set(SCOPES);
/** Longest credential looked at; longer ones are refused unread. */
const MAX_CREDENTIAL = 8_192;

export function createIdentifier(deps: IdentifierDeps): Identifier {
  const { mode, keys } = deps;
  const now = deps.now ?? Date.now;
  const byKey = new LRUCache<string, IdentifyOutcome>({ max: deps.maxCached ?? 10_000 });
  const byToken = new LRUCache<string, IdentifyOutcome>({
    max: deps.maxCached ?? 10_000,
    ttlAutopurge: false,
  });
  let anonymousScopes = anonymousScopeSet();
  keys.onChange(() => {
    byKey.clear();
    byToken.clear();
    anonymousScopes = anonymousScopeSet();
  });

  function anonymousScopeSet() {
    const scopes: ReadonlySet<string> = keys.table().anonymous?.scopes ?? new Set(deps.anonymous.scopes);
    return { scopes, key: scopeKey(scopes) };
  }
  const anonymousPlan = () => keys.table().anonymous?.plan ?? deps.anonymous.plan;

  function refuse(message: string, status: 401 | 503 = 401): { refuse: Refusal } {
    return { refuse: { status, code: status === 401 ? 'UNAUTHENTICATED' : 'AUTH_UNAVAILABLE', message } };
  }

  function byApiKey(key: string): IdentifyOutcome {
    const cached = byKey.get(key);
    if (cached) return cached;
    const entry = keys.table().byHash.get(hash('sha256', key, 'hex'));
    const outcome: IdentifyOutcome = entry
      ? {
          client: { id: entry.id, kind: 'key', scopes: entry.scopes, plan: entry.plan },
          scopeKey: scopeKey(entry.scopes),
        }
      : refuse('the API key is not valid');
    byKey.set(key, outcome);
    return outcome;
  }

  async function byJwt(token: string): Promise<IdentifyOutcome> {
    const cached = byToken.get(token);
    if (cached) return cached;
    if (!deps.jwt) return refuse('the bearer token is not a valid API key, and JWTs are not accepted here');
    const verified = await deps.jwt.verify(token);
    if (!verified.ok) {
      const outcome = refuse(
        `the bearer token was refused: ${verified.reason}`,
        verified.unavailable ? 503 : 401,
      );
      if (!verified.unavailable) byToken.set(token, outcome, { ttl: 60_000 });
      return outcome;
    }
    const scopes = new Set(verified.scopes.filter((s) => KNOWN_SCOPES.has(s)));
    const outcome: IdentifyOutcome = {
      client: {
        id: `jwt:${verified.issuer}|${verified.subject}`,
        kind: 'jwt',
        scopes,
        plan: keys.table().jwt ?? anonymousPlan(),
      },
      scopeKey: scopeKey(scopes),
    };
    const ttl = verified.expiresAt === undefined ? 60_000 : Math.min(60_000, verified.expiresAt - now());
    if (ttl > 0) byToken.set(token, outcome, { ttl });
    return outcome;
  }

  return {
    mode,
    identify({ authorization, apiKey }, address) {
      if (mode === 'off') return OFF;
      if (authorization !== undefined && authorization !== '') {
        if (authorization.length > MAX_CREDENTIAL) return refuse('the Authorization header is too long');
        const match = /^Bearer +(\S+) *$/i.exec(authorization);
        if (!match) return refuse('the Authorization header must be "Bearer <API key or JWT>"');
        const token = match[1]!;
        return looksLikeJwt(token) ? byJwt(token) : byApiKey(token);
      }
      if (apiKey !== undefined && apiKey !== '') {
        if (apiKey.length > MAX_CREDENTIAL) return refuse('the x-api-key header is too long');
        return byApiKey(apiKey);
      }
      if (mode === 'required')
        return refuse('this gateway needs an API key (Authorization: Bearer <key> or x-api-key) or a JWT');
      const { scopes, key } = anonymousScopes;
      return {
        client: { id: `anonymous:${address}`, kind: 'anonymous', scopes, plan: anonymousPlan() },
        scopeKey: key,
      };
    },
  };
}
