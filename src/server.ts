import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { useDeferStream } from '@graphql-yoga/plugin-defer-stream';
import { GraphQLError } from 'graphql';
import { createYoga, maskError, type YogaServerInstance } from 'graphql-yoga';
import pino, { type Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { createAuth } from './auth/auth.js';
import { isLoopback } from './auth/client-address.js';
import type { Identity } from './auth/identify.js';
import { type Cache, createCache } from './cache.js';
import { version } from './cli.js';
import { answerClientErrors } from './client-errors.js';
import { type Config, UPSTREAMS } from './config.js';
import { capConnections, UPGRADE_REFUSAL } from './connection-cap.js';
import {
  type AppContext,
  createContext,
  type RequestScopes,
  type RequestView,
  type Services,
} from './context.js';
import type { ReadLog } from './cost/read-log.js';
import { quotaView } from './cost/report.js';
import { upstreamCostTable } from './cost/upstream-cost.js';
import { codedUpstreamError, quote } from './errors.js';
import { graphiqlTabs } from './examples.js';
import type { Condition, Freshness } from './freshness.js';
import { budgetLimits, createLiveBudget, createUpstreamBudget, type UpstreamBudget } from './http/budget.js';
import { createHttp } from './http/client.js';
import { collectConfigSecrets, redactLogger } from './http/redact.js';
import { createDrain } from './lifecycle/drain.js';
import { trackSubscriptions } from './lifecycle/subscriptions.js';
import { shortenError } from './limits/short-error.js';
import { createLive } from './live/live.js';
import { priceTick } from './live/ticks.js';
import { createAbsences } from './market/absences.js';
import { orderQuoteProviders } from './market/quotes.js';
import { createAssetRegistry } from './market/registry.js';
import { createMcp, MCP_PATH, type Mcp } from './mcp/index.js';
import { createMetrics } from './metrics.js';
import { useCostReport } from './plugins/use-cost-report.js';
import { useDocumentCache } from './plugins/use-document-cache.js';
import { useDocumentLimits } from './plugins/use-document-limits.js';
import { useEndpoints } from './plugins/use-endpoints.js';
import { useExecutionTimeout } from './plugins/use-execution-timeout.js';
import { useIntrospectionSwitch } from './plugins/use-introspection-switch.js';
import { useLimits } from './plugins/use-limits.js';
import { useOperationLimits } from './plugins/use-operation-limits.js';
import { createRequestLog } from './plugins/use-request-log.js';
import { useRequestParams } from './plugins/use-request-params.js';
import { useResponseCache } from './plugins/use-response-cache.js';
import { useTrustedDocuments } from './plugins/use-trusted-documents.js';
import { useUpstreamBudget } from './plugins/use-upstream-budget.js';
import { createReadiness } from './readiness.js';
import { createRedisConnection, type RedisState } from './redis.js';
import { createResponseCache } from './response-cache.js';
import { buildSchema } from './schema/index.js';
import { createSignalService } from './signals/service.js';
import { createSources } from './sources/index.js';
import { createQuietRepeats, kindOf } from './telemetry/quiet-repeats.js';
import type { Tracing } from './telemetry/tracing.js';
import { compressResponses } from './transport/content-coding.js';
import { corsPolicy, originAllowed } from './transport/cors.js';
import { createFastPath, type FastPathServerContext } from './transport/fast-path.js';
import { serveStaticPage } from './transport/static-page.js';
import { useGraphqlSseSingleConnection } from './transport/use-graphql-sse.js';
import { useSharedSubscriptionResults } from './transport/use-shared-subscription-results.js';
import { serveGraphqlWs, type WsTransport } from './transport/ws-transport.js';
import { loadManifest } from './trust/manifest.js';
import { createUpstreamScope } from './upstream-scope.js';

// createGateway wires every per-process service and returns the Yoga instance plus start/close.
// Nothing listens until start() is called, so tests drive `yoga.fetch` without a socket.

export const GRAPHQL_PATH = '/graphql';

/** Yoga's default message for a masked error. */
const UNEXPECTED_ERROR = 'Unexpected error.';

/** graphql-sse streams (reserved or open) one client may hold; its client needs one per page. */
const SSE_STREAMS_PER_CALLER = 32;
/** A graphql-sse reservation not opened within this is dropped (its client opens it at once). */
const SSE_RESERVE_MS = 5_000;

export interface GatewayDeps {
  logger?: Logger;
  /**
   * Adds Node's process and runtime metrics (RSS, heap spaces, GC, event-loop lag) to /metrics. For
   * the one gateway of a process (main.ts); off by default because they are per process, not per
   * gateway, and their collectors outlive it.
   */
  processMetrics?: boolean;
  /**
   * The clock of the per-process cache, the response cache, the upstream client and the subscription
   * slots' leases (tests move it).
   */
  now?: () => number;
  /** Execute and serialize each live event once per distinct subscription (default true; off only to measure it). */
  shareLiveResults?: boolean;
  /**
   * OpenTelemetry, loaded by loadTracing (src/telemetry/tracing.ts) when config.tracing names an
   * endpoint; without it nothing is traced and no SDK is loaded. close() shuts it down (flushing).
   */
  tracing?: Tracing;
}

export interface Gateway {
  yoga: YogaServerInstance<Record<string, unknown>, AppContext>;
  services: Services;
  /** The MCP server (src/mcp/): served at /mcp once started, or over stdio by main.ts; none when turned off. */
  mcp: Mcp | undefined;
  /** Re-reads the keys file (main.ts calls it on SIGHUP): true when the new keys are in use. */
  reloadKeys(): Promise<boolean>;
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
  // Who is calling and what they may spend (src/auth/): per-client budgets share Redis like the quotas.
  let auth: ReturnType<typeof createAuth>;
  try {
    auth = createAuth({ config, redis, now: deps.now, onLog: (level, line) => logger[level](line) });
  } catch (error) {
    // An invalid keys file stops the start: leave no Redis connection behind.
    void redis?.close();
    throw error;
  }
  // Work outside requests (provider calls, polls, refreshes, stream reconnects) fails again and again
  // while its cause lasts: one warning per kind of failure, summaries further and further apart, a line on recovery.
  const quiet = createQuietRepeats({ logger, now: deps.now });
  const http = createHttp({
    config,
    metrics,
    logger,
    quiet,
    now: deps.now,
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
      quiet.failed(
        `refresh ${namespace}`,
        kindOf(error),
        { namespace, err: describe(error) },
        'background refresh failed',
      ),
  });
  // Every consumer reads the watched cache, so the response cache learns of every rewrite.
  const cache = responseCache ? responseCache.watch(processCache) : processCache;
  const sources = createSources({ http, config });
  const registry = createAssetRegistry({ config, cache, sources, now: deps.now });
  // On the gateway's clock, like the upstream client whose Retry-After blocks it reads.
  const clock = deps.now ?? Date.now;
  const providerOrder = () => orderQuoteProviders(config, http, clock());
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
  // one over its budget (forRequest, called by createContext), reading through the response
  // cache's recording view when its answer may be stored.
  const absences = createAbsences(cache, config);
  const outside = createUpstreamScope({
    config,
    cache,
    sources,
    registry,
    absences,
    quoteOrder: providerOrder,
  });
  const { onchain } = outside;
  const limits = budgetLimits(config);
  const { tracing } = deps;
  const forRequest = (budget: UpstreamBudget, view: RequestView = {}) => {
    const { freshness, trace, reads } = view;
    const observed = observeReads(freshness ? freshness.observe(cache) : cache, reads);
    return createUpstreamScope({
      config,
      cache: trace ? trace.cache(observed) : observed,
      sources: createSources({ http: http.forRequest(budget, trace), config }),
      registry,
      absences,
      quoteOrder: quoteOrder(freshness),
      budget,
    });
  };
  // The live feeds' polls (a subscription's first event included) take no request's budget, but they
  // leave a request's share of each provider's quota to requests (http/budget.ts createLiveBudget).
  const liveBudget = createLiveBudget(limits);
  const liveScope = createUpstreamScope({
    config,
    cache,
    sources: createSources({ http: http.forRequest(liveBudget), config }),
    registry,
    absences,
    quoteOrder: providerOrder,
    budget: liveBudget,
  });
  /** Fresh loaders for one use outside requests (the live feed). */
  const newLoaders = () => liveScope.newLoaders();
  const loadersOutsideRequests = newLoaders;
  const loadUsdPrices = async (assetIds: string[]) => {
    const results = await loadersOutsideRequests().price.loadMany(
      assetIds.map((assetId) => ({ currency: 'usd', assetId })),
    );
    // A price no provider could give is left out of the ticks (the next poll asks again) but logged.
    const failed = results.find(
      (r): r is Error => r instanceof Error && (r as GraphQLError).extensions?.code !== 'NOT_FOUND',
    );
    if (failed)
      quiet.failed(
        'live price lookup',
        kindOf(failed),
        { err: describe(failed) },
        'live price lookup failed',
      );
    else quiet.recovered('live price lookup', {}, 'live price lookup recovered');
    // A price the cache served past its TTL says so on the event too, as it does in a query.
    return results.flatMap((r) =>
      r instanceof Error ? [] : [priceTick({ ...r.value, stale: r.value.stale || r.stale })],
    );
  };
  const signals = createSignalService({ providerSignals: config.providers.tokenmetrics.enabled, now: clock });
  // Upstream streams, pollers and the feeds behind Subscription (in-process, or across processes
  // through Redis when REDIS_URL is set).
  metrics.observeCache(processCache);
  const live = createLive({
    config,
    redis,
    logger,
    quiet,
    registry,
    // The live scope's, as the loaders: its polls and lookups leave requests their share of a quota.
    onchain: liveScope.onchain,
    signals,
    loadUsdPrices,
    fxPerUsd: (currency) => liveScope.fx.perUsd(currency),
    newLoaders,
    shareResults: deps.shareLiveResults,
    // Subscribers with different scopes may be answered differently (src/auth/): never shared.
    sharePartition: (args) => auth.scopeKeyOf(args.contextValue),
    maskError: (error) => {
      // Yoga's mask and message, so a subscription error reads like a query's.
      const coded = codedUpstreamError(error);
      if (coded) return coded;
      const masked = maskError(error, UNEXPECTED_ERROR) as GraphQLError;
      if (masked !== error) logger.error({ err: describe(error) }, 'unexpected error in a subscription');
      return masked;
    },
  });

  const services: Services = {
    config,
    now: clock,
    http,
    registry,
    signals,
    onchain,
    priceHistory: outside.priceHistory,
    priceFeed: live.prices,
    live,
  };
  const scopes: RequestScopes = { newBudget: () => createUpstreamBudget(limits), forRequest };
  const quota = quotaView(config, http);
  const trustedDocuments = config.trustedDocuments.file
    ? loadManifest(config.trustedDocuments.file)
    : undefined;
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
      createContext(services, scopes, {
        freshness: (initial as Partial<FastPathServerContext>).freshness,
        trace: tracing?.forRequest(initial),
        ...auth.contextFor(initial as { request?: Request; identity?: unknown }),
      }),
    // Every README example as a ready tab (src/examples.ts).
    graphiql: config.frontDoor.graphiql
      ? { title: 'marketgraph', defaultTabs: graphiqlTabs(), subscriptionsProtocol: 'WS' }
      : false,
    cors: corsPolicy(config.frontDoor),
    // GraphQL over HTTP's persisted documents (plugins/use-trusted-documents.ts).
    extraParamNames: ['documentId'],
    // The bundled GraphiQL needs no CDN; the page is ~9 MB, so it is rendered once. Its module is loaded
    // on the first GraphiQL request, not at start: it costs ~80 MB of RSS, which a gateway that only
    // serves API traffic never needs.
    renderGraphiQL: (options) =>
      (graphiqlPage ??= import('@graphql-yoga/render-graphiql').then((m) => m.renderGraphiQL(options))),
    // Limits, in the order a request meets them: README.md "Limits".
    maxRequestBodySize: config.limits.maxBodyBytes,
    // Each operation of a batch gets its own context (budget) and passes every limit on its own.
    batching: config.batching.limit > 0 ? { limit: config.batching.limit } : false,
    // Yoga's cache keeps failed documents too, by count; use-document-cache replaces it.
    parserAndValidationCache: false,
    maskedErrors: {
      maskError: (error, message, isDev) => {
        const masked = codedUpstreamError(error) ?? maskError(error, message, isDev);
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
      // graphql-sse's single-connection mode (PUT, and requests with a stream token): served by Yoga's
      // graphql-sse plugin, which ends the request here; it identifies the caller itself.
      useGraphqlSseSingleConnection({
        path: GRAPHQL_PATH,
        maxBodyBytes: config.limits.maxBodyBytes,
        maxStreamsPerCaller: SSE_STREAMS_PER_CALLER,
        maxStreams: config.server.maxConnections,
        reserveMs: SSE_RESERVE_MS,
        now: clock,
        callerOf: (request, serverContext) =>
          (serverContext.identity as Identity | undefined)?.client?.id ??
          auth.addressOf(serverContext.req as IncomingMessage | undefined, request),
        identify:
          config.auth.mode === 'off'
            ? undefined
            : async (request, serverContext) => {
                const req = serverContext.req as IncomingMessage | undefined;
                const verdict = await auth.identifyRequest(request, auth.addressOf(req, request));
                return 'refuse' in verdict ? verdict : { context: { identity: verdict.identity } };
              },
        onUnexpectedError: (error) => logger.error({ err: describe(error) }, 'graphql-sse request failed'),
      }),
      // Before anything is parsed: a wrong or missing credential is answered 401 at once.
      auth.identityPlugin,
      useRequestParams(),
      // The client's traceparent, then spans for parse, validate and execute (src/telemetry/).
      ...(tracing?.plugins ?? []),
      useIntrospectionSwitch({ enabled: config.frontDoor.introspection }),
      useDocumentLimits(config.limits),
      useDocumentCache({ maxBytes: config.limits.documentCacheBytes }),
      // After identity (the caller decides who may send documents outside the manifest) and after the
      // document cache: its refusal replaces whatever they would parse, so nothing untrusted is parsed.
      ...(trustedDocuments
        ? useTrustedDocuments({
            documents: trustedDocuments,
            mode: config.trustedDocuments.mode,
            callerOf: (initial) => auth.clientOf(initial),
          })
        : []),
      useOperationLimits(config.limits),
      useLimits({
        maxCost: config.limits.maxCost,
        maxNodes: config.limits.maxNodes,
        table: upstreamCostTable({ config, defaultPageSize: 50, maxPageSize: config.limits.maxPageSize }),
      }),
      useCostReport({ quota }),
      // After the cost plugins (it charges their estimate), before anything that runs the operation.
      auth.budgetsPlugin,
      useExecutionTimeout({ timeoutMs: config.limits.executionTimeoutMs }),
      useResponseCache(),
      useUpstreamBudget({ logger }),
      useDeferStream(),
      // Before the next one, whose streams it tracks for a shutdown.
      subscriptions.plugin,
      // Last: it ends Envelop's subscribe hooks (see the plugin).
      useSharedSubscriptionResults(live.shared, {
        onStream: (args) => {
          const logged = requestLog.streamStarted(args);
          const slot = auth.streamOpened(args.contextValue);
          return () => {
            logged();
            slot();
          };
        },
      }),
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
        gates: config.auth.mode === 'off' ? [] : [auth.gate],
        compress: config.compression,
        quota,
        // Auth's gate keys answers by the caller's scope set, so an answer to a document outside the
        // trusted manifest (stored for a caller with query:any) is never served to one without it.
        budgetFor: (req) => auth.budgetFor(req),
        onError: (error) => logger.error({ err: describe(error) }, 'response cache fast path failed'),
      })
    : pages;
  const drain = createDrain();
  // Agents' tool calls are ordinary requests through yoga.fetch, so every rule of /graphql applies.
  const mcp = config.mcp.enabled
    ? createMcp({
        config,
        schema,
        fetch: async (url, init) => yoga.fetch(url, init),
        version: version(),
        addressOf: (req) => auth.addressOf(req),
        onError: (error) => logger.warn({ err: describe(error) }, 'MCP request failed'),
        log: (level, fields, message) => logger[level](fields, message),
      })
    : undefined;
  const mcpOrigin = originAllowed(config.frontDoor);
  const routed: RequestListener = mcp
    ? (req, res) => {
        if (req.url !== MCP_PATH && !req.url?.startsWith(`${MCP_PATH}?`)) return listener(req, res);
        // A browser page may reach /mcp on localhost through DNS rebinding: only listed origins may call.
        const origin = req.headers.origin;
        if (origin && !mcpOrigin(origin)) return refuseOrigin(res, origin);
        void mcp.http.handle(req, res);
      }
    : listener;

  let server: Server | undefined;
  let wss: WebSocketServer | undefined;
  let disposeWs: WsTransport | undefined;

  return {
    yoga,
    services,
    mcp,
    reloadKeys: () => auth.reload(),
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
      answerClientErrors(server);
      const cap = capConnections(server, {
        max: limits.maxConnections,
        graceMs: Math.min(1_000, limits.headersTimeoutMs),
        onFull: (open) => logger.warn({ open }, 'connection cap reached: refusing new connections with 503'),
        perAddress: limits.maxConnectionsPerAddress || Math.max(1, Math.floor(limits.maxConnections / 4)),
        // Loopback: a proxy on this machine, and its own load tools; a trusted proxy speaks for many.
        exempt: (address) => isLoopback(address) || auth.isTrustedProxy(address),
        onAddressFull: (address, open) =>
          logger.warn(
            { address, open },
            'an address reached its share of connections: refusing its new ones with 503',
          ),
      });
      server.on('request', drain.requests(cap.requests(routed)));
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
        authenticate:
          config.auth.mode === 'off'
            ? undefined
            : async (request, payload) => {
                const verdict = await auth.connect(request, payload);
                return 'refuse' in verdict ? verdict : { context: { identity: verdict.identity } };
              },
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
          void mcp?.close();
          subscriptions.endAll();
          disposeWs?.endAll();
        },
        cut: () => {
          for (const client of wss?.clients ?? []) client.terminate();
        },
      });
    },
    async close() {
      await mcp?.close();
      await disposeWs?.dispose();
      for (const client of wss?.clients ?? []) client.terminate();
      wss?.close();
      if (server) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server!.close(() => resolve()));
      }
      auth.close();
      await live.close();
      await yoga.dispose();
      await http.close();
      await cache.close();
      await redis?.close();
      await tracing?.shutdown();
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

function observeReads(cache: Cache, reads: ReadLog | undefined): Cache {
  return reads ? reads.observe(cache) : cache;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** JSON-RPC's shape, as MCP clients read it, with HTTP 403. */
function refuseOrigin(res: ServerResponse, origin: string) {
  const body = JSON.stringify({
    jsonrpc: '2.0',
    error: {
      code: -32000,
      message: `origin ${quote(origin)} may not call /mcp: it is not in MARKETGRAPH_CORS_ORIGINS`,
    },
    id: null,
  });
  res.writeHead(403, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
