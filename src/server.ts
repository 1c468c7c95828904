import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { useDeferStream } from '@graphql-yoga/plugin-defer-stream';
import { GraphQLError } from 'graphql';
import { createYoga, maskError, type YogaServerInstance } from 'graphql-yoga';
import pino, { type Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { createCache } from './cache.js';
import { type Config, UPSTREAMS } from './config.js';
import { capConnections, UPGRADE_REFUSAL } from './connection-cap.js';
import { type AppContext, type Context, createContext, type Services } from './context.js';
import { graphiqlTabs } from './examples.js';
import type { Condition, Freshness } from './freshness.js';
import { budgetLimits, createUpstreamBudget, type UpstreamBudget } from './http/budget.js';
import { collectConfigSecrets, redactLogger } from './http/redact.js';
import { createHttp } from './http.js';
import { createDrain } from './lifecycle/drain.js';
import { trackSubscriptions } from './lifecycle/subscriptions.js';
import { shortenError } from './limits/short-error.js';
import { createLive } from './live/live.js';
import { serveGraphqlWs, type WsTransport } from './live/ws-transport.js';
import { createMetrics } from './metrics.js';
import { useDocumentCache } from './plugins/use-document-cache.js';
import { useDocumentLimits } from './plugins/use-document-limits.js';
import { useEndpoints } from './plugins/use-endpoints.js';
import { useLimits } from './plugins/use-limits.js';
import { useOperationLimits } from './plugins/use-operation-limits.js';
import { createRequestLog } from './plugins/use-request-log.js';
import { useRequestParams } from './plugins/use-request-params.js';
import { useResponseCache } from './plugins/use-response-cache.js';
import { useSharedSubscriptionResults } from './plugins/use-shared-subscription-results.js';
import { useUpstreamBudget } from './plugins/use-upstream-budget.js';
import { orderQuoteProviders } from './quotes.js';
import { createReadiness } from './readiness.js';
import { createRedisConnection, type RedisState } from './redis.js';
import { createAssetRegistry } from './registry.js';
import { createResponseCache } from './response-cache.js';
import { buildSchema } from './schema/index.js';
import { createSignalService } from './signals/service.js';
import { createSources } from './sources/index.js';
import { compressResponses } from './transport/content-coding.js';
import { createFastPath, type FastPathServerContext } from './transport/fast-path.js';
import { serveStaticPage } from './transport/static-page.js';
import { createUpstreamScope } from './upstream-scope.js';

// createGateway wires every per-process service and returns the Yoga instance plus start/close.
// Nothing listens until start() is called, so tests drive `yoga.fetch` without a socket.

export const GRAPHQL_PATH = '/graphql';

/** Yoga's default message for a masked error. */
const UNEXPECTED_ERROR = 'Unexpected error.';

export interface GatewayDeps {
  logger?: Logger;
  /**
   * Adds Node's process and runtime metrics (RSS, heap spaces, GC, event-loop lag) to /metrics. For
   * the one gateway of a process (main.ts); off by default because they are per process, not per
   * gateway, and their collectors outlive it.
   */
  processMetrics?: boolean;
  /** The clock of the per-process cache and the response cache (tests move it). */
  now?: () => number;
  /** Execute and serialize each live event once per distinct subscription (default true; off only to measure it). */
  shareLiveResults?: boolean;
}

export interface Gateway {
  yoga: YogaServerInstance<Record<string, unknown>, AppContext>;
  services: Services;
  /** Redis as this gateway sees it ('off' without REDIS_URL), e.g. for readiness. */
  redisState(): RedisState | 'off';
  /** Listens on config.host:config.port (port 0 = ephemeral) for HTTP, SSE and graphql-ws. */
  start(): Promise<{ url: string; port: number }>;
  /**
   * Stops accepting connections, lets requests in flight finish, ends SSE and graphql-ws subscriptions
   * with `complete` (closing WebSockets with 1001), all within `graceMs`, then cuts what is left.
   * Resolves true when nothing had to be cut. Call close() after it.
   */
  drain(graceMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export function createGateway(config: Config, deps: GatewayDeps = {}): Gateway {
  const logger = redactLogger(deps.logger ?? pino({ level: config.logLevel }), collectConfigSecrets(config));
  const metrics = createMetrics(undefined, { defaultMetrics: deps.processMetrics });
  for (const p of UPSTREAMS)
    if (config.providers[p].enabled) metrics.setQuotaLimit(p, config.providers[p].rpm);
  // With REDIS_URL, processes share the cache, the quota buckets (so N processes together stay inside
  // one provider quota) and the live topics. Redis may come and go: every user of it carries on
  // without it (src/redis.ts); one log line per change of state says so.
  const redis = config.redisUrl
    ? createRedisConnection({
        config,
        onChange(up, error) {
          metrics.setRedisUp(up);
          if (up) logger.info('redis is up; sharing cache, quotas and live topics');
          else
            logger.warn(
              { err: error ? describe(error) : undefined },
              'redis is down; serving from this process until it returns',
            );
        },
        onError: (error) => logger.debug({ err: describe(error) }, 'redis connection error'),
      })
    : undefined;
  if (redis) metrics.setRedisUp(false);
  const http = createHttp({
    config,
    metrics,
    logger,
    quotaStore: redis && {
      redis: redis.commands,
      keyPrefix: `${config.redis.prefix}quota`,
      available: redis.up,
      onLate: redis.reportLate,
    },
  });
  const responseCache = config.responseCache.enabled
    ? createResponseCache({ maxBytes: config.responseCache.maxBytes, now: deps.now, metrics })
    : undefined;
  const processCache = createCache({
    config,
    redis,
    events: metrics,
    now: deps.now,
    onBackgroundError: (error, namespace) =>
      logger.warn({ namespace, err: describe(error) }, 'background refresh failed'),
  });
  // Every consumer reads the watched cache, so the response cache learns of every rewrite.
  const cache = responseCache ? responseCache.watch(processCache) : processCache;
  const sources = createSources({ http, config });
  const registry = createAssetRegistry({ config, cache, sources });
  const providerOrder = () => orderQuoteProviders(config, http);
  const quoteOrderState = quoteOrderCondition(() => providerOrder().join());
  /** The AUTO price order; with `freshness`, an answer stored from it is valid only while it holds. */
  const quoteOrder = (freshness?: Freshness) =>
    freshness
      ? () => {
          const order = providerOrder();
          freshness.dependOn(quoteOrderState, order.join());
          return order;
        }
      : providerOrder;
  // The process's own upstream scope serves work outside requests (the live feeds); each request gets
  // one over its budget (services.forRequest, called by createContext), reading through the response
  // cache's recording view when its answer may be stored.
  const outside = createUpstreamScope({ config, cache, sources, registry, quoteOrder: providerOrder });
  const { candles, fx, onchain } = outside;
  const limits = budgetLimits(config);
  const forRequest = (budget: UpstreamBudget, freshness?: Freshness) =>
    createUpstreamScope({
      config,
      cache: freshness ? freshness.observe(cache) : cache,
      sources: createSources({ http: http.forRequest(budget), config }),
      registry,
      quoteOrder: quoteOrder(freshness),
      budget,
    });
  /** Fresh loaders for one use outside requests (the live feed). */
  const newLoaders = () => outside.newLoaders();
  const loadersOutsideRequests = newLoaders;
  const loadUsdPrices = async (assetIds: string[]) => {
    const results = await loadersOutsideRequests().price.loadMany(assetIds.map((id) => `usd:${id}`));
    return results.flatMap((r) =>
      r instanceof Error
        ? []
        : [
            {
              assetId: r.value.assetId,
              value: r.value.value,
              change24h: r.value.change24h,
              asOf: r.value.asOf.getTime(),
              source: r.value.source,
            },
          ],
    );
  };
  const signals = createSignalService({});
  // Upstream streams, pollers and the feeds behind Subscription (in-process, or across processes
  // through Redis when REDIS_URL is set).
  metrics.observeCache(processCache);
  const live = createLive({
    config,
    redis,
    logger,
    registry,
    onchain,
    signals,
    loadUsdPrices,
    fxPerUsd: (currency) => fx.perUsd(currency),
    context: () => createContext(services, { outsideRequests: true }) as Context,
    shareResults: deps.shareLiveResults,
    maskError: (error) => {
      // Yoga's mask and message, so a subscription error reads like a query's.
      const masked = maskError(error, UNEXPECTED_ERROR) as GraphQLError;
      if (masked !== error) logger.error({ err: describe(error) }, 'unexpected error in a subscription');
      return masked;
    },
  });

  const services: Services = {
    config,
    cache,
    http,
    sources,
    registry,
    candles,
    signals,
    onchain,
    priceFeed: live.prices,
    live,
    fx,
    newLoaders,
    newBudget: () => createUpstreamBudget(limits),
    forRequest,
  };
  const subscriptions = trackSubscriptions();
  const schema = buildSchema();
  const requestLog = createRequestLog({ logger, metrics });
  const readiness = createReadiness({
    config,
    http,
    redis: redis && { ready: () => redis.up(), ping: () => redis.commands.ping() },
    redisTimeoutMs: config.redis.timeoutMs,
  });
  let graphiqlPage: Promise<string> | undefined;
  const yoga = createYoga<Record<string, unknown>, AppContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    // Yoga answers its own health check with an empty 200 before any plugin runs; it moves to
    // /health/live (a bare liveness probe) so /health is ours and says what the gateway sees.
    healthCheckEndpoint: '/health/live',
    logging: {
      debug: (...args) => logger.debug(args.map(String).join(' ')),
      info: (...args) => logger.info(args.map(String).join(' ')),
      warn: (...args) => logger.warn(args.map(String).join(' ')),
      error: (...args) => logger.error(args.map(describe).join(' ')),
    },
    context: (initial) =>
      createContext(services, { freshness: (initial as Partial<FastPathServerContext>).freshness }),
    // Every README example as a ready tab (src/examples.ts).
    graphiql: { title: 'marketgraph', defaultTabs: graphiqlTabs(), subscriptionsProtocol: 'WS' },
    // The bundled GraphiQL needs no CDN; the page is ~9 MB, so it is rendered once. Its module is loaded
    // on the first GraphiQL request, not at start: it costs ~80 MB of RSS, which a gateway that only
    // serves API traffic never needs.
    renderGraphiQL: (options) =>
      (graphiqlPage ??= import('@graphql-yoga/render-graphiql').then((m) => m.renderGraphiQL(options))),
    // Limits, in the order a request meets them: README.md "Limits".
    maxRequestBodySize: config.limits.maxBodyBytes,
    // Yoga's cache keeps failed documents too, by count; use-document-cache replaces it.
    parserAndValidationCache: false,
    maskedErrors: {
      maskError: (error, message, isDev) => {
        const masked = maskError(error, message, isDev);
        return masked instanceof GraphQLError ? shortenError(masked) : masked;
      },
    },
    plugins: [
      // First: it gives every response its x-request-id, those of the endpoints below included.
      requestLog.plugin,
      useEndpoints({
        registry: metrics.registry,
        health: () => ({
          profile: config.profile,
          redis: redis ? redis.state() : 'off',
          pid: process.pid,
          liveFeeds: live.hub.active().length,
          live: live.health(),
        }),
        ready: readiness,
      }),
      useRequestParams(),
      useDocumentLimits(config.limits),
      useDocumentCache({ maxBytes: config.limits.documentCacheBytes }),
      useOperationLimits(config.limits),
      useLimits({
        maxCost: config.limits.maxComplexity,
        maxNodes: config.limits.maxNodes,
        maxPageSize: config.limits.maxPageSize,
      }),
      useResponseCache(),
      useUpstreamBudget({ logger }),
      useDeferStream(),
      // Before the next one, whose streams it tracks for a shutdown.
      subscriptions.plugin,
      // Last: it ends Envelop's subscribe hooks (see the plugin).
      useSharedSubscriptionResults(live.shared, { onStream: requestLog.streamStarted }),
    ],
  });

  // In front of Yoga: whole answers from the response cache, before any parsing, then the GraphiQL
  // page as a static asset (see the modules); what Yoga answers itself is compressed as it goes out.
  const pages = serveStaticPage({
    path: GRAPHQL_PATH,
    render: async () => {
      const response = await yoga.fetch(`http://localhost${GRAPHQL_PATH}`, {
        headers: { accept: 'text/html' },
      });
      return {
        status: response.status,
        contentType: response.headers.get('content-type') ?? 'text/html',
        body: Buffer.from(await response.arrayBuffer()),
      };
    },
    next: config.compression ? compressResponses(yoga) : yoga,
    compress: config.compression,
    onError: (error) => logger.error({ err: describe(error) }, 'GraphiQL page failed'),
  });
  const listener: RequestListener = responseCache
    ? createFastPath({
        path: GRAPHQL_PATH,
        cache: responseCache,
        execute: (url, init, serverContext) => yoga.fetch(url, init, serverContext),
        passThrough: pages,
        compress: config.compression,
        onError: (error) => logger.error({ err: describe(error) }, 'response cache fast path failed'),
      })
    : pages;
  const drain = createDrain();

  let server: Server | undefined;
  let wss: WebSocketServer | undefined;
  let disposeWs: WsTransport | undefined;

  return {
    yoga,
    services,
    redisState: () => (redis ? redis.state() : 'off'),
    async start() {
      const limits = config.server;
      server = createServer({
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        // How often Node looks for connections past those two timeouts (its default is 30 s).
        connectionsCheckingInterval: Math.min(30_000, Math.max(10, Math.floor(limits.headersTimeoutMs / 4))),
        keepAliveTimeout: limits.keepAliveTimeoutMs,
      });
      const cap = capConnections(server, {
        max: limits.maxConnections,
        graceMs: Math.min(1_000, limits.headersTimeoutMs),
        onFull: (open) => logger.warn({ open }, 'connection cap reached: refusing new connections with 503'),
      });
      server.on('request', drain.requests(cap.requests(listener)));
      wss = new WebSocketServer({
        server,
        path: GRAPHQL_PATH,
        maxPayload: config.ws.maxMessageBytes,
        // Connections over the cap are refused here too (ws answers and closes them).
        verifyClient: ({ req }, done) =>
          cap.admits(req.socket)
            ? done(true)
            : done(false, UPGRADE_REFUSAL.status, UPGRADE_REFUSAL.message, UPGRADE_REFUSAL.headers),
      });
      // ws re-emits the server's errors; a failed listen is reported by the promise below.
      wss.on('error', () => undefined);
      disposeWs = serveGraphqlWs({
        yoga,
        wss,
        keepAliveMs: 12_000,
        connectionInitWaitMs: config.ws.initTimeoutMs,
        maxSubscriptions: config.ws.maxSubscriptions,
        json: live.shared.json,
        onError: (error) => logger.warn({ err: describe(error) }, 'graphql-ws socket error'),
        onUnexpectedError: (error) =>
          logger.error({ err: describe(error) }, 'unexpected error in a graphql-ws operation'),
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(config.port, config.host, resolve);
      });
      const { port } = server.address() as AddressInfo;
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      return { url: `http://${host}:${port}${GRAPHQL_PATH}`, port };
    },
    async drain(graceMs) {
      if (!server) return true;
      subscriptions.refuse();
      return drain.drain({
        server,
        graceMs,
        endStreams: () => {
          subscriptions.endAll();
          disposeWs?.endAll();
        },
        cut: () => {
          for (const client of wss?.clients ?? []) client.terminate();
        },
      });
    },
    async close() {
      await disposeWs?.dispose();
      for (const client of wss?.clients ?? []) client.terminate();
      wss?.close();
      if (server) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server!.close(() => resolve()));
      }
      await live.close();
      await yoga.dispose();
      await http.close();
      await cache.close();
      await redis?.close();
    },
  };
}

/**
 * Which providers AUTO prices ask first: health and quota decide it, so a stored answer that read AUTO
 * prices depends on it. Hits re-read it; working it out reads every provider's health, a large share
 * of what a hit costs, so it is worked out at most once per millisecond of wall time (the clock the
 * order itself reads).
 */
function quoteOrderCondition(order: () => string): Condition {
  let at = Number.NaN;
  let value = '';
  return {
    name: 'quote-order',
    read() {
      const t = Date.now();
      if (t !== at) {
        at = t;
        value = order();
      }
      return value;
    },
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
