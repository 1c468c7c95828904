import type { IncomingMessage } from 'node:http';
import type { Plugin } from 'graphql-yoga';
import type { Client } from '../auth/client.js';
import { httpRefusal, refusalError } from '../auth/errors.js';
import type { Identifier, IdentifyOutcome, Identity } from '../auth/identify.js';
import { RequestAuth } from '../auth/request-auth.js';

// Who is calling, for every GraphQL request Yoga handles (HTTP and SSE; graphql-ws identifies its
// connection in src/transport/ws-transport.ts). It runs before the request is parsed: a wrong credential,
// or none where one is required, is answered 401 UNAUTHENTICATED without parsing anything. A request
// the response cache's fast path let through was identified (and its request charged) there already;
// its RequestAuth is reused, found by the node request object.

export interface ClientIdentity {
  plugin: Plugin;
  /** The request's auth state, for the context factory; undefined when auth is off. */
  of(initial: { request?: Request; identity?: unknown }): RequestAuth | undefined;
  /**
   * The caller of an operation from its initial context, before the context factory ran (trusted
   * documents refuse before parsing): undefined with auth off, and for a request never identified.
   */
  clientOf(initial: { request?: unknown; identity?: unknown }): Client | undefined;
  /** The fast path's record of a request it identified and charged. */
  gated: WeakMap<IncomingMessage, RequestAuth>;
}

export function useClientIdentity(
  identifier: Identifier,
  /** The caller's address (src/auth/client-address.ts): over `req`'s socket, or in-process. */
  addressOf: (req: IncomingMessage | undefined, request: Request) => string,
): ClientIdentity {
  const byRequest = new WeakMap<Request, RequestAuth>();
  const gated = new WeakMap<IncomingMessage, RequestAuth>();

  const plugin: Plugin = {
    onRequestParse({ request, serverContext, endResponse, fetchAPI }) {
      if (identifier.mode === 'off') return;
      const req = (serverContext as { req?: IncomingMessage }).req;
      const known = req ? gated.get(req) : undefined;
      if (known) {
        byRequest.set(request, known);
        return;
      }
      const outcome = identifier.identify(
        {
          authorization: request.headers.get('authorization') ?? undefined,
          apiKey: request.headers.get('x-api-key') ?? undefined,
        },
        addressOf(req, request),
      );
      const settle = (settled: IdentifyOutcome) => {
        if ('refuse' in settled) {
          const { status, headers, body } = httpRefusal(refusalError(settled.refuse));
          endResponse(new fetchAPI.Response(body, { status, headers }));
          return;
        }
        byRequest.set(request, new RequestAuth(settled));
      };
      if (outcome instanceof Promise) return outcome.then(settle);
      settle(outcome);
    },
  };

  return {
    plugin,
    gated,
    of(initial) {
      if (identifier.mode === 'off') return undefined;
      // graphql-ws: the connection's identity, with a record of its own for each operation.
      if (isIdentity(initial.identity)) return new RequestAuth(initial.identity);
      const found = initial.request ? byRequest.get(initial.request) : undefined;
      // Every GraphQL request passes onRequestParse first; one that did not must not run unidentified.
      if (!found) throw new Error('a request reached execution without being identified');
      return found;
    },
    clientOf(initial) {
      if (identifier.mode === 'off') return undefined;
      if (isIdentity(initial.identity)) return initial.identity.client;
      return byRequest.get(initial.request as Request)?.identity.client;
    },
  };
}

function isIdentity(value: unknown): value is Identity {
  return typeof value === 'object' && value !== null && 'scopeKey' in value && 'client' in value;
}
