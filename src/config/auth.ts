import { z } from 'zod';
import type { AuthMode, Plan, Scope } from '../auth/client.js';
import { compileProxyTrust } from '../auth/client-address.js';
import type { Profile } from './setting.js';
import { type GroupValues, httpUrl, nonEmpty, oneOf, setting } from './setting.js';

// Client identity's rows (README "Clients and keys") and the AuthConfig derived from them: the JWT
// settings as one optional group, and the anonymous plan of the profile.

export interface AuthConfig {
  mode: AuthMode;
  /** The keys file (JSON; keys as SHA-256 hashes), re-read on SIGHUP and on change. */
  keysFile: string | undefined;
  /** JWT bearer tokens are accepted when a JWKS URL is set. */
  jwt: { jwksUrl: string; issuer: string | undefined; audience: string | undefined } | undefined;
  /** Anonymous callers' plan and scopes unless the keys file sets them (per profile). */
  anonymous: { plan: Plan; scopes: readonly Scope[] };
  /** Proxies whose X-Forwarded-For names the caller (src/auth/client-address.ts); empty: none. */
  trustProxy: readonly string[];
}

/**
 * What anonymous callers get without a keys file that says otherwise. The sandbox is a demo over fake
 * data: anonymous callers may use all of it (but send any document only where trusted documents are
 * not enforced), at budgets no test or demo reaches. Live: a small budget, no subscriptions, no
 * operator or licensed data.
 */
const ANONYMOUS_DEFAULTS: Record<Profile, AuthConfig['anonymous']> = {
  sandbox: {
    plan: { requestsPerMinute: 6_000, costPerMinute: 1_000_000, maxSubscriptions: 1_000 },
    scopes: ['subscribe', 'sources:detail', 'signals:licensed'],
  },
  live: {
    plan: { requestsPerMinute: 60, costPerMinute: 20_000, maxSubscriptions: 0 },
    scopes: [],
  },
};

/** A comma-separated list of proxies, each one proxy-addr takes; checked here so a typo stops the start. */
const proxyList = z.string().transform((raw, ctx) => {
  const entries = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  try {
    compileProxyTrust(entries);
  } catch (error) {
    ctx.addIssue({
      code: 'custom',
      message: `must be a comma-separated list of addresses, CIDR ranges or loopback, linklocal, uniquelocal: ${(error as Error).message}`,
    });
    return z.NEVER;
  }
  return entries as readonly string[];
});

export const AUTH_SETTINGS = {
  mode: setting<AuthMode>({
    env: 'MARKETGRAPH_AUTH',
    parse: oneOf(['off', 'optional', 'required']),
    default: ({ profile }) => (profile === 'live' ? 'required' : 'optional'),
    shown: 'sandbox: `optional`; live: `required`',
    doc: '`off`: no identity, no budgets; `optional`: keys and JWTs are checked when sent, others get the anonymous plan; `required`: a credential is needed (401 without)',
  }),
  keysFile: setting<string | undefined>({
    env: 'MARKETGRAPH_API_KEYS_FILE',
    parse: nonEmpty,
    default: undefined,
    shown: '—',
    doc: 'API keys file (JSON, keys stored as SHA-256 hashes, plans and scopes; see Clients and keys), re-read on SIGHUP and on change',
  }),
  jwksUrl: setting<string | undefined>({
    env: 'MARKETGRAPH_JWT_JWKS_URL',
    parse: httpUrl,
    default: undefined,
    shown: '—',
    doc: 'JWKS URL; when set, JWT bearer tokens verified against it are accepted (scopes from the `scope` claim)',
  }),
  jwtIssuer: setting<string | undefined>({
    env: 'MARKETGRAPH_JWT_ISSUER',
    parse: nonEmpty,
    default: undefined,
    shown: '—',
    doc: 'the `iss` a JWT must carry (needs `MARKETGRAPH_JWT_JWKS_URL`)',
  }),
  jwtAudience: setting<string | undefined>({
    env: 'MARKETGRAPH_JWT_AUDIENCE',
    parse: nonEmpty,
    default: undefined,
    shown: '—',
    doc: 'the `aud` a JWT must carry (needs `MARKETGRAPH_JWT_JWKS_URL`)',
  }),
  trustProxy: setting<readonly string[]>({
    env: 'MARKETGRAPH_TRUST_PROXY',
    parse: proxyList,
    default: [],
    shown: 'none',
    doc: "proxies in front of the gateway whose `X-Forwarded-For` is believed (comma-separated addresses, CIDR ranges, `loopback`, `linklocal`, `uniquelocal`); the caller is the first untrusted hop from the right. Unset: the socket's peer, the header is never read. See Clients and keys",
  }),
};

export function authConfig(values: GroupValues<typeof AUTH_SETTINGS>, profile: Profile): AuthConfig {
  const { jwksUrl, jwtIssuer: issuer, jwtAudience: audience } = values;
  return {
    mode: values.mode,
    keysFile: values.keysFile,
    jwt: jwksUrl ? { jwksUrl, issuer, audience } : undefined,
    anonymous: ANONYMOUS_DEFAULTS[profile],
    trustProxy: values.trustProxy,
  };
}

/** A JWT issuer or audience without a JWKS to verify against is a mistake, not a silent no-op. */
export function checkAuth(values: GroupValues<typeof AUTH_SETTINGS>): string | undefined {
  return !values.jwksUrl && (values.jwtIssuer || values.jwtAudience)
    ? 'MARKETGRAPH_JWT_JWKS_URL: must be set when MARKETGRAPH_JWT_ISSUER or _AUDIENCE is, got nothing'
    : undefined;
}
