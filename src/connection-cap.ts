import type { RequestListener, Server, ServerResponse } from 'node:http';
import { isIPv6, type Socket } from 'node:net';

// A cap on a server's open client connections (HTTP, SSE and upgraded WebSockets alike). A connection
// over it is refused politely: its request is answered 503 with Retry-After and a coded GraphQL error,
// then closed; one that sends nothing is dropped after `graceMs`. Refusing takes a socket too, so the
// refused are bounded as well: beyond `max` plus a margin, Node drops new connections unanswered
// (server.maxConnections), and the process never holds more sockets than that.
// One address may hold `perAddress` of the admitted connections, so one client that opens connections
// and sends nothing (or a slowloris) cannot take every place from everyone else while the headers
// timeout runs; addresses that speak for many clients (proxies) are exempted by the caller. An IPv6
// client counts by its /64, which one subscriber usually has whole. A refusal's grace is a deadline that
// trickled bytes do not extend, and one address has only a few refusals pending at a time (beyond them
// its connections are dropped at once), so no address can fill the refusal margin for everyone else.

export const CONNECTION_LIMIT_EXCEEDED = 'CONNECTION_LIMIT_EXCEEDED';

export interface ConnectionCapOptions {
  max: number;
  /** How long a refused connection may take to send its request (default 1 s). */
  graceMs?: number;
  /** Called when the cap is reached; again only after the open count has fallen below 90 % of it. */
  onFull?: (open: number) => void;
  /** Admitted connections one address may hold (default: `max`, no share). */
  perAddress?: number;
  /** Addresses the share does not apply to. */
  exempt?: (address: string) => boolean;
  /** Called when an address reaches its share; again only after it has fallen below 90 % of it. */
  onAddressFull?: (address: string, open: number) => void;
}

export interface ConnectionCap {
  /** Whether the connection was admitted; a refused one gets `refuseUpgrade`'s answer. */
  admits(socket: Socket): boolean;
  /** Wraps a request handler: requests on refused connections are answered 503 instead. */
  requests(handler: RequestListener): RequestListener;
  /** Admitted connections open now. */
  open(): number;
}

/** The margin of sockets (over `max`) kept for refusing politely. */
export function refusalMargin(max: number): number {
  return Math.max(16, Math.ceil(max / 8));
}

/** Refusals one (non-exempt) address may have waiting for their answer at a time. */
const PENDING_REFUSALS_PER_ADDRESS = 4;

export function capConnections(server: Server, options: ConnectionCapOptions): ConnectionCap {
  const graceMs = options.graceMs ?? 1_000;
  const perAddress = Math.min(options.max, options.perAddress ?? options.max);
  /** Why each refused connection was refused: the answer it gets names the limit. */
  const refused = new WeakMap<Socket, string>();
  /** Admitted connections per address under the share, and the addresses told of as full. */
  const byAddress = new Map<string, number>();
  const fullAddresses = new Set<string>();
  /** Refused connections per address still waiting for their answer. */
  const refusing = new Map<string, number>();
  let open = 0;
  let full = false;
  server.maxConnections = options.max + refusalMargin(options.max);

  const refuseSocket = (socket: Socket, address: string | undefined, message: string) => {
    if (address !== undefined) {
      const pending = refusing.get(address) ?? 0;
      if (pending >= PENDING_REFUSALS_PER_ADDRESS) {
        socket.destroy();
        return;
      }
      refusing.set(address, pending + 1);
    }
    refused.set(socket, message);
    const deadline = setTimeout(() => socket.destroy(), graceMs);
    deadline.unref();
    socket.once('close', () => {
      clearTimeout(deadline);
      if (address === undefined) return;
      const pending = (refusing.get(address) ?? 1) - 1;
      if (pending > 0) refusing.set(address, pending);
      else refusing.delete(address);
    });
  };

  server.on('connection', (socket: Socket) => {
    const address = countedAddress(socket.remoteAddress, options.exempt);
    if (open >= options.max) {
      refuseSocket(
        socket,
        address,
        `the server has its limit of ${options.max} open connections; retry later`,
      );
      if (!full) {
        full = true;
        options.onFull?.(open);
      }
      return;
    }
    const sharing = perAddress < options.max && address !== undefined;
    if (sharing) {
      const held = byAddress.get(address) ?? 0;
      if (held >= perAddress) {
        refuseSocket(
          socket,
          address,
          `this address holds ${held} open connections, the most one address may; close one or retry later`,
        );
        if (!fullAddresses.has(address)) {
          fullAddresses.add(address);
          options.onAddressFull?.(address, held);
        }
        return;
      }
      byAddress.set(address, held + 1);
    }
    open += 1;
    socket.once('close', () => {
      open -= 1;
      if (open < options.max * 0.9) full = false;
      if (!sharing) return;
      const held = (byAddress.get(address) ?? 1) - 1;
      if (held > 0) byAddress.set(address, held);
      else byAddress.delete(address);
      if (held < perAddress * 0.9) fullAddresses.delete(address);
    });
  });
  return {
    admits: (socket) => !refused.has(socket),
    requests: (handler) => (req, res) => {
      const refusal = refused.get(req.socket);
      if (refusal !== undefined) refuse(res, refusal);
      else handler(req, res);
    },
    open: () => open,
  };
}

/** What a connection counts under (its address; an IPv6 one's /64), or undefined when it is exempt. */
export function countedAddress(
  address: string | undefined,
  exempt: ((address: string) => boolean) | undefined,
) {
  if (address === undefined || exempt?.(address)) return undefined;
  return isIPv6(address) && !address.startsWith('::ffff:') ? prefix64(address) : address;
}

/** The first four groups of an IPv6 address, written out ("2001:db8:0:1::/64"). */
function prefix64(address: string): string {
  const bare = address.split('%')[0]!;
  const [head = '', tail] = bare.split('::');
  const left = head ? head.split(':') : [];
  const right = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups =
    tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => Number.parseInt(group || '0', 16).toString(16))
    .join(':')}::/64`;
}

/** The status line, headers and message a refused WebSocket upgrade is answered with. */
export const UPGRADE_REFUSAL = {
  status: 503,
  message: 'Service Unavailable',
  headers: { 'Retry-After': '1' },
} as const;

function refuse(res: ServerResponse, message: string): void {
  const body = JSON.stringify({
    errors: [
      {
        message,
        extensions: { code: CONNECTION_LIMIT_EXCEEDED },
      },
    ],
  });
  res.writeHead(503, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'retry-after': '1',
    connection: 'close',
  });
  res.end(body);
}
