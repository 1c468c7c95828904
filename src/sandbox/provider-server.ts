import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import type { ProviderName } from '../market/model.js';
import type { WebSocketEndpoint } from './dialect.js';
import type { FaultRegistry } from './faults.js';
import { createRequestHandler, type RequestHandlerDeps } from './handle-request.js';
import type { RequestLog } from './request-log.js';

// One provider on its own loopback port: REST through the request handler, and the provider's
// WebSocket upgrade when its dialect streams. A provider that is 'down' refuses every connection.

export interface ProviderServer {
  server: Server;
  /** REST base URL in the provider's own form, e.g. http://127.0.0.1:PORT/api/v3 for CoinGecko. */
  url: string;
  /** WebSocket origin where the provider streams; undefined without streams. */
  wsUrl?: string;
}

export async function listenProvider(
  deps: RequestHandlerDeps & { host: string; sockets: Set<Socket> },
): Promise<ProviderServer> {
  const { dialect, faults, host, sockets } = deps;
  const handle = createRequestHandler(deps);
  const server = createServer((req, res) => {
    void handle(req, res);
  });
  server.on('connection', (socket) => {
    if (faults.isDown(dialect.provider)) {
      socket.destroy();
      return;
    }
    trackSocket(sockets, socket);
  });
  if (dialect.websocket) acceptUpgrades(server, dialect.provider, dialect.websocket, faults, deps.log);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host}:${port}${dialect.basePath}`,
    ...(dialect.websocket ? { wsUrl: `ws://${host}:${port}` } : {}),
  };
}

/** Keeps `socket` in `sockets` while it is open, so close() can destroy what clients left open. */
export function trackSocket(sockets: Set<Socket>, socket: Socket): void {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
}

function acceptUpgrades(
  server: Server,
  provider: ProviderName,
  ws: WebSocketEndpoint,
  faults: FaultRegistry,
  log: RequestLog,
) {
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    if (url.pathname !== ws.path || faults.isDown(provider, ws.endpoint)) {
      socket.destroy();
      return;
    }
    log.record(provider, ws.endpoint, 101);
    wss.handleUpgrade(req, socket, head, (client) => ws.accept(client, req, url));
  });
}
