import type { IncomingMessage } from 'node:http';
import type { RequestGate } from '../transport/fast-path.js';
import { type Identify, QUERY_ANY } from './caller.js';

// In trusted-documents enforce mode, the response cache keys answers for callers with scope query:any
// apart from everyone else's: an answer to a document outside the manifest can only have been stored
// for such a caller, so no caller without the scope can ever be served it. Until src/auth/ lands the
// caller comes from the Identify test seam; auth's own gate replaces this one at merge.

export function callerScopeGate(identify: Identify): RequestGate {
  return {
    name: 'trusted-documents',
    check(req: IncomingMessage) {
      const caller = identify({ headers: { get: (name) => headerOf(req, name) } });
      return { scope: caller?.scopes.has(QUERY_ANY) ? QUERY_ANY : '' };
    },
  };
}

function headerOf(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : (value ?? null);
}
