import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';

// JWT bearer tokens, verified with jose against the issuer's JWKS (fetched on first use and cached by
// jose, refetched when a token names a key it has not seen). Scopes come from the space-separated
// `scope` claim (RFC 8693 / OAuth 2.0); issuer and audience must match the configured ones.

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

export function createJwtVerifier(settings: JwtSettings, options: { timeoutMs?: number } = {}): JwtVerifier {
  const jwks = createRemoteJWKSet(new URL(settings.jwksUrl), { timeoutDuration: options.timeoutMs ?? 2_000 });
  return {
    async verify(token) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, jwks, {
          ...(settings.issuer ? { issuer: settings.issuer } : {}),
          ...(settings.audience ? { audience: settings.audience } : {}),
        }));
      } catch (error) {
        return describe(error);
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

function describe(error: unknown): JwtOutcome {
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
