import { type AuthFailure, AuthScopeFailureType } from '@pothos/plugin-scope-auth';
import { GraphQLError } from 'graphql';
import { hasScope, type Scope } from '../auth/client.js';
import type { Context } from '../context.js';

// The schema's authorization (Pothos scope-auth): which client scope each field-level scope needs, and
// the error a field gets when the caller lacks it. Only that field fails (null, with the error at its
// path); the rest of the answer is served. A caller without a credential gets UNAUTHENTICATED (a key
// would help), one whose key or token lacks the scope gets FORBIDDEN; both name the scope in the
// message and in `extensions.scope`. With MARKETGRAPH_AUTH=off there is no client and nothing is checked.

export type SchemaScope = 'subscribe' | 'sourcesDetail' | 'signalsLicensed';

export const CLIENT_SCOPE: Record<SchemaScope, Scope> = {
  subscribe: 'subscribe',
  sourcesDetail: 'sources:detail',
  signalsLicensed: 'signals:licensed',
};

export function authScopes(ctx: Context): Record<SchemaScope, boolean> {
  const off = ctx.client === undefined;
  return {
    subscribe: off || hasScope(ctx.client, CLIENT_SCOPE.subscribe),
    sourcesDetail: off || hasScope(ctx.client, CLIENT_SCOPE.sourcesDetail),
    signalsLicensed: off || hasScope(ctx.client, CLIENT_SCOPE.signalsLicensed),
  };
}

export function unauthorizedError(
  _parent: unknown,
  ctx: Context,
  info: { parentType: { name: string }; fieldName: string },
  result: { failure: AuthFailure },
): GraphQLError {
  const schemaScope = missingScope(result.failure);
  const scope = schemaScope ? CLIENT_SCOPE[schemaScope] : undefined;
  const field = `${info.parentType.name}.${info.fieldName}`;
  const what = scope ? `scope ${scope}` : 'a scope this client does not have';
  if (ctx.client?.kind === 'anonymous') {
    return new GraphQLError(`${field} needs ${what}: send an API key or token that has it`, {
      extensions: { code: 'UNAUTHENTICATED', ...(scope ? { scope } : {}) },
    });
  }
  return new GraphQLError(`${field} needs ${what}, which this client does not have`, {
    extensions: { code: 'FORBIDDEN', ...(scope ? { scope } : {}) },
  });
}

function missingScope(failure: AuthFailure): SchemaScope | undefined {
  if (failure.kind === AuthScopeFailureType.AuthScope) return failure.scope as SchemaScope;
  if (
    failure.kind === AuthScopeFailureType.AnyAuthScopes ||
    failure.kind === AuthScopeFailureType.AllAuthScopes
  ) {
    for (const child of failure.failures) {
      const found = missingScope(child);
      if (found) return found;
    }
  }
  return undefined;
}
