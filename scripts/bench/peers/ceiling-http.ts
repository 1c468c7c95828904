import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

// The request/response ceiling of the race: node:http answering every request with a fixed
// "hello world", the least any Node HTTP server can do per request. Run as its own process by
// scenarios/race.ts (which checks every body against the same text): prints
// {"url":"http://127.0.0.1:PORT/"} once it listens.

const HELLO = 'hello world';

const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': HELLO.length });
  res.end(HELLO);
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}/` })}\n`);
});
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
