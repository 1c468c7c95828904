import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { ProviderName } from '../market/model.js';
import type { Market } from './market/market.js';

// What a provider dialect gives the sandbox shell (src/sandbox/server.ts). A dialect knows its
// provider's paths, parameters, JSON shapes and error bodies; the shell owns the sockets, request
// counting, quotas and injected faults, so every provider gets them the same way.

export interface SandboxRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  /** Path parameters captured by the route pattern (`:id`). */
  params: Record<string, string>;
}

/** The content type the shell serves `json` responses with. */
export const JSON_CONTENT_TYPE = 'application/json;charset=utf-8';

export interface SandboxResponse {
  status?: number;
  headers?: Record<string, string>;
  /** Serialized with JSON.stringify and served as application/json. */
  json?: unknown;
  /** Served as is, with `contentType` (text/plain by default). */
  text?: string;
  contentType?: string;
}

export interface Route {
  /** Stable endpoint name used in counts and faults, e.g. 'coins/markets'. */
  endpoint: string;
  /** Path pattern relative to the server root, `:name` captures one segment: '/api/v3/coins/:id/ohlc'. */
  path: string;
  handle(request: SandboxRequest): SandboxResponse;
}

export interface WebSocketEndpoint {
  /** Pathname the upgrade must hit, e.g. '/stream'. */
  path: string;
  /** Endpoint name for counts (each accepted connection counts once). */
  endpoint: string;
  accept(socket: WebSocket, request: IncomingMessage, url: URL): void;
  /** Stream names currently subscribed, across all connections. */
  streams(): string[];
  /** Open connections. */
  connections(): number;
  /** The most connections open at once since the last resetPeak() (or the start). */
  peakConnections(): number;
  resetPeak(): void;
  /** Closes every connection abruptly (fault injection: "the provider dropped us"). */
  dropAll(): void;
  close(): void;
}

export interface Dialect {
  provider: ProviderName;
  /** Path prefix of the provider's REST base URL ('/api/v3' for CoinGecko, '' for Binance). */
  basePath: string;
  routes: Route[];
  websocket?: WebSocketEndpoint;
  /** The provider's own "no such path" answer. */
  notFound(request: SandboxRequest): SandboxResponse;
  /** The provider's 429 as the real one sends it (JSON with Retry-After, or an HTML page). */
  rateLimited(retryAfterSeconds: number): SandboxResponse;
  /** The provider's answer once a client kept calling through 429s (Binance: 418 ban). */
  banned?(retryAfterSeconds: number): SandboxResponse;
  /** The provider's 5xx body. */
  serverError(status: number): SandboxResponse;
  /** Headers the provider adds to every response (Binance: X-MBX-USED-WEIGHT-1M). */
  decorate?(request: SandboxRequest, response: SandboxResponse, usedInWindow: number): void;
  /** Request cost against the quota (Binance weights); 1 when absent. */
  weight?(endpoint: string, request: SandboxRequest): number;
  /** The provider's documented free-tier quota. */
  quota: { limit: number; windowMs: number };
}

export interface DialectDeps {
  market: Market;
  /** Tick period, ms: push streams send a frame per tick; memoized REST answers last a tick. */
  tickMs: number;
}

export type DialectFactory = (deps: DialectDeps) => Dialect;

/** Small helpers shared by dialects. */
export function badRequest(json: unknown, status = 400): SandboxResponse {
  return { status, json };
}

export function compilePath(path: string): (pathname: string) => Record<string, string> | null {
  const names: string[] = [];
  const source = path
    .split('/')
    .map((segment) => {
      if (segment.startsWith(':')) {
        names.push(segment.slice(1));
        return '([^/]+)';
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  const pattern = new RegExp(`^${source}/?$`);
  return (pathname) => {
    const match = pattern.exec(pathname);
    if (!match) return null;
    const params: Record<string, string> = {};
    names.forEach((name, i) => {
      params[name] = decodeURIComponent(match[i + 1]!);
    });
    return params;
  };
}
