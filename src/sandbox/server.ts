import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ProviderName } from '../market/model.js';
import { listenAdmin } from './admin.js';
import type { Dialect, DialectFactory } from './dialect.js';
import { DIALECTS } from './dialects.js';
import { createFaultRegistry, type FaultRegistry } from './faults.js';
import { CATALOGUE } from './market/catalogue.js';
import { createMarket, type Market } from './market/market.js';
import { listenProvider } from './provider-server.js';
import { chooseQuota, createQuotas, type Quota } from './quotas.js';
import { createRequestLog, type RequestRecord } from './request-log.js';

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
  quotas?: boolean | Partial<Record<ProviderName, Quota>>;
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

export type { RequestRecord } from './request-log.js';

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
  /** The most WebSocket connections a provider had open at once since the last reset. */
  wsConnectionsPeak(provider: ProviderName): number;
  resetWsConnectionsPeak(provider: ProviderName): void;
  /** Drop every WebSocket connection of a provider. */
  dropWebSockets(provider: ProviderName): void;
  setQuota(provider: ProviderName, quota: Quota | null): void;
  close(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const now = options.now ?? Date.now;
  const host = options.host ?? '127.0.0.1';
  const market = createMarket({ catalogue: CATALOGUE, seed: options.seed ?? 42, now });
  const faults = createFaultRegistry();
  const log = createRequestLog(now);
  const quotas = createQuotas(now);
  const dialects = createDialects(options, market);
  for (const dialect of dialects.values()) quotas.set(dialect.provider, chooseQuota(dialect, options.quotas));

  const sockets = new Set<Socket>();
  const servers: Server[] = [];
  const endpoints: Sandbox['endpoints'] = {};
  for (const [provider, dialect] of dialects) {
    const { server, url, wsUrl } = await listenProvider({ dialect, faults, quotas, log, host, sockets });
    servers.push(server);
    endpoints[provider] = { provider, url, ...(wsUrl ? { wsUrl } : {}) };
  }

  const websocket = (provider: ProviderName) => dialects.get(provider)?.websocket;
  const streams = (provider: ProviderName) => websocket(provider)?.streams() ?? [];
  const dropWebSockets = (provider: ProviderName) => websocket(provider)?.dropAll();
  const admin = await listenAdmin({
    host,
    sockets,
    log,
    faults,
    providers: [...dialects.keys()],
    endpoints,
    streams,
    dropWebSockets,
  });

  return {
    market,
    faults,
    endpoints,
    adminUrl: `http://${host}:${(admin.address() as AddressInfo).port}`,
    counts: log.counts,
    count: log.count,
    requests: log.requests,
    resetCounts: log.reset,
    streams,
    wsConnections: (provider) => websocket(provider)?.connections() ?? 0,
    wsConnectionsPeak: (provider) => websocket(provider)?.peakConnections() ?? 0,
    resetWsConnectionsPeak: (provider) => websocket(provider)?.resetPeak(),
    dropWebSockets,
    setQuota: quotas.set,
    async close() {
      for (const dialect of dialects.values()) dialect.websocket?.close();
      for (const socket of sockets) socket.destroy();
      await Promise.all(
        [...servers, admin].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
      );
    },
  };
}

/** The dialects to run, by provider, in start order (each bound to the one market). */
function createDialects(options: SandboxOptions, market: Market): Map<ProviderName, Dialect> {
  const factories = { ...DIALECTS, ...options.dialects };
  const providers = options.providers ?? (Object.keys(factories) as ProviderName[]);
  const dialects = new Map<ProviderName, Dialect>();
  for (const provider of providers) {
    const factory = factories[provider];
    if (!factory) throw new Error(`no sandbox dialect for provider ${provider}`);
    dialects.set(provider, factory({ market, tickMs: options.tickMs ?? 1000 }));
  }
  return dialects;
}
