import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { answerClientErrors } from '../src/client-errors.js';
import { waitFor } from './helpers/clients.js';

// What Node's parser refuses is answered with a coded error, and the connection is gone afterwards on
// the server's side too: its sockets are half-open, so a client that never closes its own side must
// not keep the connection (and its place under the connection cap) by it.

let server: Server | undefined;
const clients: Socket[] = [];
afterEach(async () => {
  for (const socket of clients.splice(0)) socket.destroy();
  if (!server) return;
  server.closeAllConnections();
  await new Promise((resolve) => server!.close(resolve));
  server = undefined;
});

async function start(handled: string[]) {
  server = createServer({ headersTimeout: 200, requestTimeout: 300, connectionsCheckingInterval: 50 });
  answerClientErrors(server);
  open = 0;
  server.on('connection', (socket) => {
    open += 1;
    socket.once('close', () => {
      open -= 1;
    });
  });
  server.on('request', (req, res) => {
    req.resume();
    req.on('end', () => {
      handled.push(req.url ?? '');
      res.end('handled');
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A client that keeps its own side open after the server's FIN, as an attacker would. */
function halfOpen(port: number) {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  clients.push(socket);
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    received += chunk;
  });
  socket.on('error', () => undefined);
  return { socket, received: () => received };
}

/** Server-side sockets open now (counted from the server's own events). */
let open = 0;
const connections = () => open;

describe('answerClientErrors', () => {
  it.each([
    [
      'headers too large',
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      '431',
      'REQUEST_HEADERS_TOO_LARGE',
    ],
    ['not HTTP', 'NOT HTTP AT ALL\r\n\r\n', '400', 'BAD_REQUEST'],
    ['headers that never end', 'GET / HTTP/1.1\r\nHost: x\r\n', '408', 'REQUEST_TIMEOUT'],
  ])('%s: answered %s with a code, and closed on the server side', async (_label, sent, status, code) => {
    const port = await start([]);
    const client = halfOpen(port);
    client.socket.write(sent);
    await waitFor(() => client.received().includes('}]}'), 3_000, 'the answer');
    expect(client.received()).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    expect(client.received()).toContain(`"code":"${code}"`);
    await waitFor(() => connections() === 0, 3_000, 'the server to drop the connection');
  });

  it('a body that trickles past the request timeout never reaches the handler', async () => {
    const handled: string[] = [];
    const port = await start(handled);
    const client = halfOpen(port);
    client.socket.write('POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n');
    const trickle = setInterval(() => client.socket.write('a'), 25);
    try {
      await waitFor(() => client.received().includes('REQUEST_TIMEOUT'), 3_000, 'the 408');
      await waitFor(() => connections() === 0, 3_000, 'the server to drop the connection');
    } finally {
      clearInterval(trickle);
    }
    expect(handled).toEqual([]);
  });
});
