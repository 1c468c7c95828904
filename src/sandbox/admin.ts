import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ProviderName } from '../market/model.js';
import { type FaultRegistry, parseFault } from './faults.js';
import { trackSocket } from './provider-server.js';
import type { RequestLog } from './request-log.js';

// The admin server: what tests do in-process (counts, faults, dropped streams), over HTTP for people
// and for tests of the gateway running in another process.

export interface AdminDeps {
  host: string;
  sockets: Set<Socket>;
  log: RequestLog;
  faults: FaultRegistry;
  /** The providers running, in start order. */
  providers: readonly ProviderName[];
  endpoints: unknown;
  streams(provider: ProviderName): string[];
  dropWebSockets(provider: ProviderName): void;
}

const ROUTES = [
  'GET /counts',
  'POST /counts/reset',
  'GET /endpoints',
  'GET /streams',
  'GET|DELETE /faults',
  'PUT|DELETE /faults/:provider/:endpoint',
  'POST /websockets/:provider/drop',
];

export async function listenAdmin(deps: AdminDeps): Promise<Server> {
  const admin = createServer((req, res) => {
    void handleAdmin(deps, req, res);
  });
  await new Promise<void>((resolve) => admin.listen(0, deps.host, resolve));
  admin.on('connection', (socket) => trackSocket(deps.sockets, socket));
  return admin;
}

async function handleAdmin(deps: AdminDeps, req: IncomingMessage, res: ServerResponse) {
  const { log, faults } = deps;
  const url = new URL(req.url ?? '/', 'http://admin');
  const send = (status: number, json: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(json));
  };
  const parts = url.pathname.split('/').filter(Boolean);
  try {
    if (req.method === 'GET' && url.pathname === '/counts') return send(200, log.counts());
    if (req.method === 'POST' && url.pathname === '/counts/reset') {
      log.reset();
      return send(200, { ok: true });
    }
    if (req.method === 'GET' && url.pathname === '/endpoints') return send(200, deps.endpoints);
    if (req.method === 'GET' && url.pathname === '/streams') {
      return send(200, Object.fromEntries(deps.providers.map((p) => [p, deps.streams(p)])));
    }
    if (req.method === 'GET' && url.pathname === '/faults') return send(200, faults.list());
    if (req.method === 'DELETE' && url.pathname === '/faults') {
      faults.clear();
      return send(200, { ok: true });
    }
    // PUT /faults/<provider>/<endpoint...>  body: Fault  ('*' for every endpoint)
    if (parts[0] === 'faults' && parts.length >= 3) {
      const provider = parts[1] as ProviderName;
      if (!deps.providers.includes(provider)) return send(404, { error: `unknown provider ${provider}` });
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
      deps.dropWebSockets(parts[1] as ProviderName);
      return send(200, { ok: true });
    }
    send(404, { error: 'unknown admin route', routes: ROUTES });
  } catch (error) {
    send(400, { error: error instanceof Error ? error.message : String(error) });
  }
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
