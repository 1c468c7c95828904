// The caller's scopes as the request's context holds them. src/auth/ establishes the caller
// (`ctx.client`); this is the one place the rest of the gateway reads it, so trusted documents and the
// response cache do not depend on how auth is built.

/** What is read of the context: the fields src/auth/ sets. */
export interface CallerContext {
  client?: { scopes: ReadonlySet<string> };
}

/** Scope that lets a caller send documents outside the trusted-documents manifest in enforce mode. */
export const QUERY_ANY = 'query:any';

export function callerScopes(ctx: CallerContext | undefined): ReadonlySet<string> | undefined {
  return ctx?.client?.scopes;
}

/** False when there is no caller (no auth, or an anonymous one without that scope). */
export function hasScope(ctx: CallerContext | undefined, scope: string): boolean {
  return callerScopes(ctx)?.has(scope) ?? false;
}
