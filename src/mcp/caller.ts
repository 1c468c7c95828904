import type { IncomingMessage } from 'node:http';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { IsomorphicHeaders } from '@modelcontextprotocol/sdk/types.js';
import { CALLER_ADDRESS_HEADER } from '../auth/client-address.js';

// The /mcp caller's address, from its request to the GraphQL calls made for it. Those calls go through
// yoga.fetch without a socket, so the gateway would see no address (every anonymous agent one client);
// the address the gateway worked out from the /mcp request's socket (and X-Forwarded-For through
// trusted proxies) rides to the session's handlers in the request's AuthInfo, which the SDK hands
// them as given (`req.auth`, its documented slot for what the server knows of the caller), and on to
// yoga.fetch as CALLER_ADDRESS_HEADER. A caller's own copy of that header is always dropped.

const ADDRESS = 'marketgraph.callerAddress';

/** Marks `req` with the caller's address before the SDK transport reads it. */
export function markCaller(req: IncomingMessage, address: string): void {
  const info: AuthInfo = { token: '', clientId: '', scopes: [], extra: { [ADDRESS]: address } };
  (req as IncomingMessage & { auth?: AuthInfo }).auth = info;
}

/** The headers a handler's GraphQL calls carry: the request's, with the address the gateway found. */
export function callerHeaders(
  extra: { requestInfo?: { headers: IsomorphicHeaders }; authInfo?: AuthInfo },
  fallback: IsomorphicHeaders | undefined,
): IsomorphicHeaders | undefined {
  const given = extra.requestInfo?.headers ?? fallback;
  const address = extra.authInfo?.extra?.[ADDRESS];
  if (!given && typeof address !== 'string') return undefined;
  const { [CALLER_ADDRESS_HEADER]: _dropped, ...headers } = given ?? {};
  return typeof address === 'string' ? { ...headers, [CALLER_ADDRESS_HEADER]: address } : headers;
}
