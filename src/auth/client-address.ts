import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import proxyaddr from 'proxy-addr';

// The caller's address, the one way every path reads it (anonymous identity and budgets, the fast
// path's gate, graphql-ws upgrades, graphql-sse, MCP). Behind a CDN or reverse proxy the TCP peer is
// the proxy; the client is then read from X-Forwarded-For, but only through the proxies named in
// MARKETGRAPH_TRUST_PROXY: the answer is the first hop from the right that is not trusted, so a client
// that writes its own X-Forwarded-For moves nothing unless the hop it came through is trusted. With
// nothing trusted (the default) the header is never read. proxy-addr (what Express uses) parses the
// header and the ranges; nothing here splits X-Forwarded-For itself.

/** True for an address whose X-Forwarded-For is believed; `hop` counts from the socket (0). */
export type ProxyTrust = (address: string, hop: number) => boolean;

/**
 * The header MCP's in-process GraphQL calls carry the caller's address in (src/mcp/session.ts sets
 * it from the /mcp request's socket). Believed only on requests that came over no socket.
 */
export const CALLER_ADDRESS_HEADER = 'x-marketgraph-caller-address';

/** The address given to a request with none (an in-process call without a caller, a closed socket). */
export const NO_ADDRESS = 'local';

const NAMED_RANGES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * MARKETGRAPH_TRUST_PROXY's entries as one check, or undefined when nothing is trusted. An entry is an
 * address, a CIDR range, an address/netmask, or one of proxy-addr's names (loopback, linklocal,
 * uniquelocal); anything else throws with the entry named.
 */
export function compileProxyTrust(entries: readonly string[]): ProxyTrust | undefined {
  if (entries.length === 0) return undefined;
  for (const entry of entries) {
    try {
      proxyaddr.compile(entry);
    } catch {
      throw new TypeError(`"${entry}" is not an address, a CIDR range or one of ${NAMED_RANGES.join(', ')}`);
    }
  }
  return proxyaddr.compile([...entries]);
}

/** Where an address comes from: a request over a socket, or one the gateway made to itself. */
export type AddressSource =
  | { socketAddress: string | undefined; headers: IncomingHttpHeaders }
  | { inProcess: Headers | IncomingHttpHeaders | undefined };

export function clientAddress(source: AddressSource, trust: ProxyTrust | undefined): string {
  if ('inProcess' in source) {
    const given = headerOf(source.inProcess, CALLER_ADDRESS_HEADER);
    return given && isIP(given) ? given : NO_ADDRESS;
  }
  const { socketAddress, headers } = source;
  if (!socketAddress) return NO_ADDRESS;
  if (!trust) return socketAddress;
  // proxy-addr reads the request's socket address and its X-Forwarded-For, nothing else; `all` lists
  // them from the socket outwards, up to and with the first untrusted hop.
  const hops = proxyaddr.all(
    { socket: { remoteAddress: socketAddress }, headers } as unknown as IncomingMessage,
    trust,
  );
  const found = hops[hops.length - 1] ?? socketAddress;
  // A trusted proxy that forwarded something other than an address: the last hop that is one is kept,
  // so a budget is never keyed by free text.
  return isIP(found) ? found : (hops[hops.length - 2] ?? socketAddress);
}

/** The address of a Yoga request: over its socket when it has one, else an in-process call. */
export function addressOfRequest(
  req: IncomingMessage | undefined,
  request: Request | undefined,
  trust: ProxyTrust | undefined,
): string {
  return req
    ? clientAddress({ socketAddress: req.socket?.remoteAddress, headers: req.headers }, trust)
    : clientAddress({ inProcess: request?.headers }, trust);
}

function headerOf(headers: Headers | IncomingHttpHeaders | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const value = (headers as IncomingHttpHeaders)[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Whether a peer address is this machine's own (IPv4 127/8, IPv6 ::1, or 127/8 mapped into IPv6). */
export function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}
