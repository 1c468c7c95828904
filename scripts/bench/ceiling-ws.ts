import type { AddressInfo } from 'node:net';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';

// The fan-out ceiling: a plain `ws` server that does the least a fan-out server can do, speaking just
// enough of graphql-transport-ws for the same graphql-ws clients the gateway gets (ack connection_init,
// note which asset a `subscribe` asks for). Every tick (100 ms, like the sandbox's Binance streams in
// the bench) it serializes one `next` frame per asset, once, and sends those same bytes to every
// client of that asset (the clients all use subscription id "1"). No GraphQL, no per-client work.
// Run as its own process by fanout.ts: prints {"port":N} on stdout; answers a "stats" line on stdin
// with {"ticks":N}.

const tickMs = Number(process.argv[2] ?? '100');
const server = new WebSocketServer({
  port: 0,
  host: '127.0.0.1',
  perMessageDeflate: false,
  handleProtocols: (protocols) => (protocols.has('graphql-transport-ws') ? 'graphql-transport-ws' : false),
});
const byAsset = new Map<string, Set<WebSocket>>();
let ticks = 0;

server.on('connection', (socket) => {
  let asset: string | undefined;
  socket.on('message', (data: RawData) => {
    const message = JSON.parse(String(data)) as {
      type: string;
      payload?: { variables?: { ids?: string[] } };
    };
    if (message.type === 'connection_init') socket.send('{"type":"connection_ack"}');
    else if (message.type === 'subscribe' && !asset) {
      asset = message.payload?.variables?.ids?.[0] ?? 'bitcoin';
      let set = byAsset.get(asset);
      if (!set) {
        set = new Set();
        byAsset.set(asset, set);
      }
      set.add(socket);
    } else if (message.type === 'ping') socket.send('{"type":"pong"}');
  });
  socket.on('close', () => {
    if (asset) byAsset.get(asset)?.delete(socket);
  });
  socket.on('error', () => socket.terminate());
});

setInterval(() => {
  const asOf = Date.now();
  ticks++;
  for (const [asset, sockets] of byAsset) {
    const frame = Buffer.from(
      JSON.stringify({
        id: '1',
        type: 'next',
        payload: {
          data: {
            priceUpdated: {
              assetId: asset,
              value: 60_000 + Math.sin(asOf / 1000) * 100,
              asOf: new Date(asOf),
            },
          },
        },
      }),
    );
    for (const socket of sockets) socket.send(frame, { binary: false });
  }
}, tickMs);

server.on('listening', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});

process.stdin.setEncoding('utf8').on('data', (chunk: string) => {
  for (const line of chunk.split('\n').map((l) => l.trim())) {
    if (line === 'stats') process.stdout.write(`${JSON.stringify({ ticks })}\n`);
  }
});
