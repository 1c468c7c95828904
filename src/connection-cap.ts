import type { RequestListener, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

// A cap on a server's open client connections (HTTP, SSE and upgraded WebSockets alike). A connection
// over it is refused politely: its request is answered 503 with Retry-After and a coded GraphQL error,
// then closed; one that sends nothing is dropped after `graceMs`. Refusing takes a socket too, so the
// refused are bounded as well: beyond `max` plus a margin, Node drops new connections unanswered
// (server.maxConnections), and the process never holds more sockets than that.

export const CONNECTION_LIMIT_EXCEEDED = 'CONNECTION_LIMIT_EXCEEDED';

export interface ConnectionCapOptions {
  max: number;
  /** How long a refused connection may take to send its request (default 1 s). */
  graceMs?: number;
  /** Called when the cap is reached; again only after the open count has fallen below 90 % of it. */
  onFull?: (open: number) => void;
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

export function capConnections(server: Server, options: ConnectionCapOptions): ConnectionCap {
  const graceMs = options.graceMs ?? 1_000;
  const refused = new WeakSet<Socket>();
  let open = 0;
  let full = false;
  server.maxConnections = options.max + refusalMargin(options.max);
  server.on('connection', (socket: Socket) => {
    if (open >= options.max) {
      refused.add(socket);
      socket.setTimeout(graceMs, () => socket.destroy());
      if (!full) {
        full = true;
        options.onFull?.(open);
      }
      return;
    }
    open += 1;
    socket.once('close', () => {
      open -= 1;
      if (open < options.max * 0.9) full = false;
    });
  });
  return {
    admits: (socket) => !refused.has(socket),
    requests: (handler) => (req, res) => {
      if (refused.has(req.socket)) refuse(res, options.max);
      else handler(req, res);
    },
    open: () => open,
  };
}

/** The status line, headers and message a refused WebSocket upgrade is answered with. */
export const UPGRADE_REFUSAL = {
  status: 503,
  message: 'Service Unavailable',
  headers: { 'Retry-After': '1' },
} as const;

function refuse(res: ServerResponse, max: number): void {
  const body = JSON.stringify({
    errors: [
      {
        message: `the server has its limit of ${max} open connections; retry later`,
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
