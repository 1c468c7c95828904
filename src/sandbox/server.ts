import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import type { ProviderName } from '../market/model.js';
import { CATALOGUE } from './catalogue.js';
import {
  compilePath,
  type Dialect,
  type DialectFactory,
  JSON_CONTENT_TYPE,
  type SandboxRequest,
  type SandboxResponse,
} from './dialect.js';
import { DIALECTS } from './dialects.js';
import { createFaultRegistry, type FaultRegistry, parseFault } from './faults.js';
import { createMarket, type Market } from './market.js';

// The sandbox shell: one loopback HTTP server per provider dialect, plus an admin server. The shell
// counts every request by provider and endpoint, enforces each provider's quota the way the provider
// does, and injects faults; dialects only answer well-formed requests.

export interface SandboxOptions {
  seed?: number;
  now?: () => number;
  /**
   * Tick period in ms (default 1000, like Binance's @ticker streams): push streams send one frame per
   * tick, and the hot REST endpoints compute an answer once per URL per tick (sandbox/page-memo.ts).
   */
  tickMs?: number;
  host?: string;
  /** Enforce the providers' free-tier quotas (default true), or override some of them. */
  quotas?: boolean | Partial<Record<ProviderName, { limit: number; windowMs: number }>>;
  /** Which dialects to run (default: all registered). */
  providers?: ProviderName[];
  dialects?: Partial<Record<ProviderName, DialectFactory>>;
}

export interface ProviderEndpoint {
  provider: ProviderName;
  /** REST base URL in the provider's own form, e.g. http://127.0.0.1:PORT/api/v3 for CoinGecko. */
  url: string;
  /** WebSocket base URL (origin only) where the provider streams; undefined without streams. */
  wsUrl?: string;
}

export interface RequestRecord {
  provider: ProviderName;
  endpoint: string;
  at: number;
  status: number;
}

export interface Sandbox {
  market: Market;
  faults: FaultRegistry;
  endpoints: Partial<Record<ProviderName, ProviderEndpoint>>;
  adminUrl: string;
  /** Requests served per provider and endpoint since the last reset. */
  counts(): Record<string, Record<string, number>>;
  count(provider: ProviderName, endpoint?: string): number;
  requests(provider?: ProviderName): RequestRecord[];
  resetCounts(): void;
  /** Subscribed stream names per provider (across all of its WebSocket connections). */
  streams(provider: ProviderName): string[];
  wsConnections(provider: ProviderName): number;
  /** Drop every WebSocket connection of a provider. */
  dropWebSockets(provider: ProviderName): void;
  setQuota(provider: ProviderName, quota: { limit: number; windowMs: number } | null): void;
  close(): Promise<void>;
}

/** Request records kept for requests() (at least this many, at most twice as many). */
const LOG_RECORDS = 10_000;

interface QuotaState {
  limit: number;
  windowMs: number;
  windowStart: number;
  used: number;
  /** Set once a 429 was sent; a call before it elapses is "ignoring the 429". */
  blockedUntil: number;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const now = options.now ?? Date.now;
  const market = createMarket({ catalogue: CATALOGUE, seed: options.seed ?? 42, now });
  const faults = createFaultRegistry();
  const host = options.host ?? '127.0.0.1';
  const factories = { ...DIALECTS, ...options.dialects };
  const providers = options.providers ?? (Object.keys(factories) as ProviderName[]);
  const counts = new Map<string, number>();
  const log: RequestRecord[] = [];
  const quotas = new Map<ProviderName, QuotaState | null>();
  const dialects = new Map<ProviderName, Dialect>();
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const endpoints: Sandbox['endpoints'] = {};

  for (const provider of providers) {
    const factory = factories[provider];
    if (!factory) throw new Error(`no sandbox dialect for provider ${provider}`);
    const dialect = factory({ market, tickMs: options.tickMs ?? 1000 });
    dialects.set(provider, dialect);
    const override = typeof options.quotas === 'object' ? options.quotas[provider] : undefined;
    const quota = options.quotas === false ? null : (override ?? dialect.quota);
    quotas.set(provider, quota ? { ...quota, windowStart: now(), used: 0, blockedUntil: 0 } : null);
  }

  function record(provider: ProviderName, endpoint: string, status: number) {
    const key = `${provider} ${endpoint}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    log.push({ provider, endpoint, at: now(), status });
    // Trimmed in batches: cutting one record per request would move the whole log every time.
    if (log.length > 2 * LOG_RECORDS) log.splice(0, log.length - LOG_RECORDS);
  }

  /** Returns the response that replaces the normal one when the quota is exhausted. */
  function enforceQuota(
    dialect: Dialect,
    request: SandboxRequest,
    endpoint: string,
  ): SandboxResponse | undefined {
    const q = quotas.get(dialect.provider);
    if (!q) return undefined;
    const t = now();
    if (t - q.windowStart >= q.windowMs) {
      q.windowStart = t - ((t - q.windowStart) % q.windowMs);
      q.used = 0;
    }
    const retryAfter = Math.max(1, Math.ceil((q.windowStart + q.windowMs - t) / 1000));
    if (t < q.blockedUntil && dialect.banned) return dialect.banned(retryAfter);
    q.used += dialect.weight?.(endpoint, request) ?? 1;
    if (q.used <= q.limit) return undefined;
    q.blockedUntil = q.windowStart + q.windowMs;
    return dialect.rateLimited(retryAfter);
  }

  for (const [provider, dialect] of dialects) {
    const routes = dialect.routes.map((route) => ({ route, match: compilePath(route.path) }));
    const server = createServer((req, res) => {
      void serve(dialect, routes, req, res);
    });
    server.on('connection', (socket) => {
      if (faults.isDown(provider)) {
        socket.destroy();
        return;
      }
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    if (dialect.websocket) {
      const ws = dialect.websocket;
      const wss = new WebSocketServer({ noServer: true });
      server.on('upgrade', (req, socket, head) => {
        const url = new URL(req.url ?? '/', 'http://sandbox');
        if (url.pathname !== ws.path || faults.isDown(provider)) {
          socket.destroy();
          return;
        }
        record(provider, ws.endpoint, 101);
        wss.handleUpgrade(req, socket, head, (client) => ws.accept(client, req, url));
      });
    }
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    servers.push(server);
    const { port } = server.address() as AddressInfo;
    const origin = `http://${host}:${port}`;
    endpoints[provider] = {
      provider,
      url: `${origin}${dialect.basePath}`,
      ...(dialect.websocket ? { wsUrl: `ws://${host}:${port}` } : {}),
    };
  }

  async function serve(
    dialect: Dialect,
    routes: Array<{ route: Dialect['routes'][number]; match: (p: string) => Record<string, string> | null }>,
    req: IncomingMessage,
    res: ServerResponse,
  ) {
    // 'down' also refuses requests on keep-alive connections opened before it was set; otherwise a
    // pooled client would keep being served by a provider that is supposed to be unreachable.
    if (faults.isDown(dialect.provider)) {
      req.socket.destroy();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://sandbox');
    let endpoint = 'unknown';
    let response: SandboxResponse;
    let request: SandboxRequest = { method: req.method ?? 'GET', url, headers: req.headers, params: {} };
    const hit = routes
      .map(({ route, match }) => ({ route, params: match(url.pathname) }))
      .find((r) => r.params);
    if (hit) {
      endpoint = hit.route.endpoint;
      request = { ...request, params: hit.params! };
    }
    const fault = faults.take(dialect.provider, endpoint);
    if (fault?.kind === 'latency') await sleep(fault.latencyMs ?? 1000);
    if (fault?.kind === 'hang') {
      record(dialect.provider, endpoint, 0);
      return; // the socket stays open until the client gives up or the sandbox closes
    }
    if (fault?.kind === 'reset') {
      record(dialect.provider, endpoint, 0);
      req.socket.destroy();
      return;
    }
    const limited = enforceQuota(dialect, request, endpoint);
    if (limited) response = limited;
    else if (fault?.kind === 'rate-limit') response = dialect.rateLimited(fault.retryAfter ?? 60);
    else if (fault?.kind === 'server-error') response = dialect.serverError(fault.status ?? 503);
    else if (fault?.kind === 'html') response = htmlErrorPage(fault.status ?? 502);
    else if (fault?.kind === 'malformed-json')
      response = { status: 200, text: '{"data": [1, 2', contentType: 'application/json' };
    else if (!hit) response = dialect.notFound(request);
    else if (request.method !== 'GET' && request.method !== 'HEAD') response = dialect.notFound(request);
    else {
      try {
        response = hit.route.handle(request);
      } catch (error) {
        console.error(`sandbox ${dialect.provider} ${endpoint} failed:`, error);
        response = dialect.serverError(500);
      }
    }
    const q = quotas.get(dialect.provider);
    dialect.decorate?.(request, response, q?.used ?? 0);
    const status = response.status ?? 200;
    record(dialect.provider, endpoint, status);
    const body = response.json !== undefined ? JSON.stringify(response.json) : (response.text ?? '');
    const contentType =
      response.json !== undefined ? JSON_CONTENT_TYPE : (response.contentType ?? 'text/plain');
    res.writeHead(status, { 'content-type': contentType, ...response.headers });
    res.end(request.method === 'HEAD' ? undefined : body);
  }

  const admin = createServer((req, res) => {
    void handleAdmin(req, res);
  });
  async function handleAdmin(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://admin');
    const send = (status: number, json: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(json));
    };
    const parts = url.pathname.split('/').filter(Boolean);
    try {
      if (req.method === 'GET' && url.pathname === '/counts') return send(200, sandbox.counts());
      if (req.method === 'POST' && url.pathname === '/counts/reset') {
        sandbox.resetCounts();
        return send(200, { ok: true });
      }
      if (req.method === 'GET' && url.pathname === '/endpoints') return send(200, endpoints);
      if (req.method === 'GET' && url.pathname === '/streams') {
        return send(200, Object.fromEntries([...dialects.keys()].map((p) => [p, sandbox.streams(p)])));
      }
      if (req.method === 'GET' && url.pathname === '/faults') return send(200, faults.list());
      if (req.method === 'DELETE' && url.pathname === '/faults') {
        faults.clear();
        return send(200, { ok: true });
      }
      // PUT /faults/<provider>/<endpoint...>  body: Fault  ('*' for every endpoint)
      if (parts[0] === 'faults' && parts.length >= 3) {
        const provider = parts[1] as ProviderName;
        if (!dialects.has(provider)) return send(404, { error: `unknown provider ${provider}` });
        const endpoint = decodeURIComponent(parts.slice(2).join('/'));
        if (req.method === 'DELETE') {
          faults.clear(provider, endpoint);
          return send(200, { ok: true });
        }
        if (req.method === 'PUT' || req.method === 'POST') {
          const fault = parseFault(JSON.parse(await readBody(req)));
          faults.set(provider, endpoint, fault);
          return send(200, { ok: true, provider, endpoint, fault });
        }
      }
      if (parts[0] === 'websockets' && parts[2] === 'drop' && req.method === 'POST') {
        sandbox.dropWebSockets(parts[1] as ProviderName);
        return send(200, { ok: true });
      }
      send(404, {
        error: 'unknown admin route',
        routes: [
          'GET /counts',
          'POST /counts/reset',
          'GET /endpoints',
          'GET /streams',
          'GET|DELETE /faults',
          'PUT|DELETE /faults/:provider/:endpoint',
          'POST /websockets/:provider/drop',
        ],
      });
    } catch (error) {
      send(400, { error: error instanceof Error ? error.message : String(error) });
    }
  }
  await new Promise<void>((resolve) => admin.listen(0, host, resolve));
  admin.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const sandbox: Sandbox = {
    market,
    faults,
    endpoints,
    adminUrl: `http://${host}:${(admin.address() as AddressInfo).port}`,
    counts() {
      const out: Record<string, Record<string, number>> = {};
      for (const [key, n] of counts) {
        const [provider, endpoint] = key.split(' ') as [string, string];
        out[provider] = { ...out[provider], [endpoint]: n };
      }
      return out;
    },
    count(provider, endpoint) {
      let total = 0;
      for (const [key, n] of counts) {
        const [p, e] = key.split(' ');
        if (p === provider && (endpoint === undefined || e === endpoint)) total += n;
      }
      return total;
    },
    requests(provider) {
      return provider ? log.filter((r) => r.provider === provider) : [...log];
    },
    resetCounts() {
      counts.clear();
      log.length = 0;
    },
    streams(provider) {
      return dialects.get(provider)?.websocket?.streams() ?? [];
    },
    wsConnections(provider) {
      return dialects.get(provider)?.websocket?.connections() ?? 0;
    },
    dropWebSockets(provider) {
      dialects.get(provider)?.websocket?.dropAll();
    },
    setQuota(provider, quota) {
      quotas.set(provider, quota ? { ...quota, windowStart: now(), used: 0, blockedUntil: 0 } : null);
    },
    async close() {
      for (const dialect of dialects.values()) dialect.websocket?.close();
      for (const socket of sockets) socket.destroy();
      await Promise.all(
        [...servers, admin].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
      );
    },
  };
  return sandbox;
}

function htmlErrorPage(status: number): SandboxResponse {
  return {
    status,
    contentType: 'text/html',
    text: `<html>\r\n<head><title>${status} Error</title></head>\r\n<body>\r\n<center><h1>${status} Error</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`,
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > 65_536) reject(new Error('admin request body too large'));
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
