import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { type Config, loadConfig, type UpstreamName } from '../../src/config.js';
import { createHttp, type Http, type HttpDeps } from '../../src/http/client.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';

// A scripted loopback provider: `handler` answers each request (n counts from 1); every request is
// recorded with its arrival time, and every socket's close time, so tests assert what the server saw.

export interface SeenRequest {
  n: number;
  at: number;
  url: string;
  headers: IncomingMessage['headers'];
  /** Client-side port of the connection that carried it: equal ports mean a reused connection. */
  remotePort: number | undefined;
}

export interface ScriptedServer {
  url: string;
  requests: SeenRequest[];
  /** Resolves when the socket that carried request n closes. */
  socketClosed(n: number): Promise<number>;
  close(): Promise<void>;
}

export async function startScriptedServer(
  handler: (req: IncomingMessage, res: ServerResponse, n: number) => void,
): Promise<ScriptedServer> {
  const requests: SeenRequest[] = [];
  const sockets = new Map<number, Socket>();
  const closedAt = new WeakMap<Socket, number>();
  const server = createServer((req, res) => {
    const n = requests.length + 1;
    requests.push({
      n,
      at: Date.now(),
      url: req.url ?? '',
      headers: req.headers,
      remotePort: req.socket.remotePort,
    });
    sockets.set(n, req.socket);
    handler(req, res, n);
  });
  server.on('connection', (socket) => socket.on('close', () => closedAt.set(socket, Date.now())));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api`,
    requests,
    socketClosed(n) {
      const socket = sockets.get(n);
      if (!socket) return Promise.reject(new Error(`no request ${n}`));
      const at = closedAt.get(socket);
      if (at !== undefined || socket.destroyed) return Promise.resolve(at ?? Date.now());
      return new Promise((resolve) => socket.once('close', () => resolve(Date.now())));
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export function sendHtml(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/html', ...headers });
  res.end(
    `<html><head><title>${status}</title></head><body><center><h1>${status}</h1></center><hr><center>nginx</center></body></html>`,
  );
}

export function buildConfig(
  env: Record<string, string>,
  urls: Partial<Record<UpstreamName, string>>,
): Config {
  const endpoints = Object.fromEntries(Object.entries(urls).map(([name, url]) => [name, { url }]));
  return loadConfig({ env: { MARKETGRAPH_LOG_LEVEL: 'silent', ...env }, endpoints });
}

/** Captures pino's JSON lines so tests can assert what was (not) logged. */
export function captureLogger(): { logger: HttpDeps['logger']; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

export function makeHttp(
  config: Config,
  extra: Partial<HttpDeps> = {},
): { http: Http; metrics: Metrics; lines: string[] } {
  const metrics = extra.metrics ?? createMetrics();
  const { logger, lines } = captureLogger();
  const http = createHttp({
    config,
    metrics,
    logger,
    backoff: { baseMs: 20, capMs: 200 },
    random: () => 0.999,
    ...extra,
  });
  return { http, metrics, lines };
}
