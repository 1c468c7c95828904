import type { JWTPayload } from 'jose';

// JWT bearer tokens, verified with jose against the issuer's JWKS (fetched on first use and cached by
// jose, refetched when a token names a key it has not seen). Scopes come from the space-separated
// `scope` claim (RFC 8693 / OAuth 2.0); issuer and audience must match the configured ones.
// jose is imported only by a configured verifier (a gateway without a JWKS never loads it); the import
// starts when the verifier is made, so the first token does not wait for it.

export interface JwtSettings {
  jwksUrl: string;
  issuer: string | undefined;
  audience: string | undefined;
}

export type JwtOutcome =
  | { ok: true; subject: string; issuer: string; scopes: string[]; expiresAt: number | undefined }
  /** `unavailable`: the JWKS could not be fetched, so the token could not be judged either way. */
  | { ok: false; reason: string; unavailable?: boolean };

export interface JwtVerifier {
  verify(token: string): Promise<JwtOutcome>;
}

/** A compact JWS: three base64url segments. API keys never contain a dot. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}

type Jose = typeof import('jose');

export function createJwtVerifier(settings: JwtSettings, options: { timeoutMs?: number } = {}): JwtVerifier {
  const url = new URL(settings.jwksUrl);
  const loaded = import('jose').then((jose) => ({
    jose,
    jwks: jose.createRemoteJWKSet(url, { timeoutDuration: options.timeoutMs ?? 2_000 }),
  }));
  // A failed import is the first verify's error, not an unhandled rejection at start.
  loaded.catch(() => undefined);
  return {
    async verify(token) {
      const { jose, jwks } = await loaded;
      let payload: JWTPayload;
      try {
        ({ payload } = await jose.jwtVerify(token, jwks, {
          ...(settings.issuer ? { issuer: settings.issuer } : {}),
          ...(settings.audience ? { audience: settings.audience } : {}),
        }));
      } catch (error) {
        return describe(jose.errors, error);
      }
      if (typeof payload.sub !== 'string' || payload.sub === '')
        return { ok: false, reason: 'the token has no subject' };
      const scope = typeof payload.scope === 'string' ? payload.scope : '';
      return {
        ok: true,
        subject: payload.sub,
        issuer: payload.iss ?? '',
        scopes: scope.split(' ').filter((s) => s !== ''),
        expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined,
      };
    },
  };
}

function describe(errors: Jose['errors'], error: unknown): JwtOutcome {
  if (error instanceof errors.JWTExpired) return { ok: false, reason: 'the token has expired' };
  if (error instanceof errors.JWTClaimValidationFailed)
    return { ok: false, reason: `the token's ${error.claim} claim is not accepted` };
  if (error instanceof errors.JWKSTimeout)
    return { ok: false, reason: 'the JWKS did not answer in time', unavailable: true };
  if (error instanceof errors.JOSEError) {
    if (error.code === 'ERR_JWKS_INVALID')
      return { ok: false, reason: 'the JWKS is not valid', unavailable: true };
    return { ok: false, reason: 'the token is not valid' };
  }
  // fetch failed (network): the JWKS could not be reached.
  return { ok: false, reason: 'the JWKS could not be fetched', unavailable: true };
}
