import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import pino, { type Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { createCache } from './cache.js';
import { createCandleService } from './candles.js';
import type { Config } from './config.js';
import { type AppContext, createContext, type Services } from './context.js';
import { createHttp } from './http.js';
import { createBinanceStreams } from './live/binance-streams.js';
import { createPriceFeed } from './live/price-feed.js';
import { createPriceHub } from './live/price-hub.js';
import { createLoaders } from './loaders.js';
import { createMetrics } from './metrics.js';
import { createOnChainService } from './onchain.js';
import { useEndpoints } from './plugins/use-endpoints.js';
import { createAssetRegistry } from './registry.js';
import { buildSchema } from './schema/index.js';
import { createSignalService } from './signals/service.js';
import { parseTickerEvent } from './sources/binance.js';
import { createSources } from './sources/index.js';

// createGateway wires every per-process service and returns the Yoga instance plus start/close.
// Nothing listens until start() is called, so tests drive `yoga.fetch` without a socket.

export const GRAPHQL_PATH = '/graphql';

export const EXAMPLE_QUERY = `# marketgraph: one GraphQL API over CoinGecko, Binance, DefiLlama, mempool.space, ...
# Press the ▶ button (or Ctrl+Enter) to run. Open the Docs panel for the whole schema.
{
  assets(first: 10) {
    edges {
      node {
        id
        symbol
        name
        rank
        price(currency: USD) { value change24h asOf source stale }
      }
    }
  }
  btc: asset(id: "bitcoin") {
    market(currency: EUR) { price marketCap volume24h high24h low24h }
    candles(interval: D1, first: 3) { edges { node { openTime open high low close volume } } }
  }
}

# Live prices (graphql-ws or SSE):
# subscription { priceUpdated(assetIds: ["bitcoin", "ethereum"]) { assetId value asOf source } }
`;

export interface GatewayDeps {
  logger?: Logger;
  now?: () => number;
}

export interface Gateway {
  yoga: YogaServerInstance<Record<string, unknown>, AppContext>;
  services: Services;
  /** Listens on config.host:config.port (port 0 = ephemeral) for HTTP, SSE and graphql-ws. */
  start(): Promise<{ url: string; port: number }>;
  close(): Promise<void>;
}

export function createGateway(config: Config, deps: GatewayDeps = {}): Gateway {
  const logger = deps.logger ?? pino({ level: config.logLevel });
  const metrics = createMetrics();
  const http = createHttp({ config, metrics, logger });
  const cache = createCache({
    config,
    events: metrics,
    onBackgroundError: (error, namespace) =>
      logger.warn({ namespace, err: describe(error) }, 'background refresh failed'),
  });
  const sources = createSources({ http, config });
  const registry = createAssetRegistry({ config, cache, sources });
  const candles = createCandleService({ config, sources, registry });
  const binanceWs = config.providers.binance.enabled && config.providers.binance.wsUrl;
  const streams = binanceWs
    ? createBinanceStreams({ wsUrl: config.providers.binance.wsUrl, logger })
    : undefined;

  /** Loaders outside any request (live feed): fresh each call, so nothing is memoized for long. */
  const loadersOutsideRequests = () =>
    createLoaders({ config, cache, sources, fetchCandles: (key) => candles.fetch(key) });
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
  const hub = createPriceHub({
    registry,
    streams,
    parseTicker: parseTickerEvent,
    poll: loadUsdPrices,
    pollMs: Math.max(1000, config.cache.ttl.price),
    onError: (error) => logger.warn({ err: describe(error) }, 'price poll failed'),
  });
  const priceFeed = createPriceFeed({
    hub,
    currentPrices: loadUsdPrices,
    // Tether's price in the target currency is the USD(T) → currency rate the Binance ticks need.
    fxPerUsd: async (currency) => {
      const [tether] = await loadersOutsideRequests().price.loadMany([`${currency}:tether`]);
      if (!tether || tether instanceof Error) throw tether ?? new Error(`no ${currency} rate`);
      return tether.value.value;
    },
  });

  const services: Services = {
    config,
    cache,
    http,
    sources,
    registry,
    candles,
    signals: createSignalService({}),
    onchain: createOnChainService({ config, cache, sources }),
    priceFeed,
  };
  const schema = buildSchema();
  let graphiqlPage: string | undefined;
  const yoga = createYoga<Record<string, unknown>, AppContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    logging: {
      debug: (...args) => logger.debug(args.map(String).join(' ')),
      info: (...args) => logger.info(args.map(String).join(' ')),
      warn: (...args) => logger.warn(args.map(String).join(' ')),
      error: (...args) => logger.error(args.map(describe).join(' ')),
    },
    context: () => createContext(services),
    graphiql: { title: 'marketgraph', defaultQuery: EXAMPLE_QUERY, subscriptionsProtocol: 'WS' },
    // The bundled GraphiQL needs no CDN; the page is ~9 MB, so it is rendered once.
    renderGraphiQL: (options) => (graphiqlPage ??= renderGraphiQL(options)),
    plugins: [
      useEndpoints({
        registry: metrics.registry,
        health: () => ({ profile: config.profile, liveFeeds: hub.active().length }),
      }),
    ],
  });

  let server: Server | undefined;
  let wss: WebSocketServer | undefined;
  let disposeWs: { dispose(): void | Promise<void> } | undefined;

  return {
    yoga,
    services,
    async start() {
      server = createServer(yoga);
      wss = new WebSocketServer({ server, path: GRAPHQL_PATH });
      disposeWs = useServer(
        {
          execute: (args) => (args.rootValue as { execute: (a: ExecutionArgs) => never }).execute(args),
          subscribe: (args) => (args.rootValue as { subscribe: (a: ExecutionArgs) => never }).subscribe(args),
          onSubscribe: async (ctx, _id, payload) => {
            const enveloped = yoga.getEnveloped({
              ...ctx,
              req: ctx.extra.request,
              socket: ctx.extra.socket,
              params: payload,
            });
            const document = enveloped.parse(payload.query);
            const errors = enveloped.validate(enveloped.schema, document);
            if (errors.length > 0) return errors;
            return {
              schema: enveloped.schema,
              operationName: payload.operationName,
              document,
              variableValues: payload.variables,
              contextValue: await enveloped.contextFactory(),
              rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
            };
          },
        },
        wss,
        12_000,
      );
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(config.port, config.host, resolve);
      });
      const { port } = server.address() as AddressInfo;
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      return { url: `http://${host}:${port}${GRAPHQL_PATH}`, port };
    },
    async close() {
      await disposeWs?.dispose();
      for (const client of wss?.clients ?? []) client.terminate();
      wss?.close();
      if (server) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server!.close(() => resolve()));
      }
      hub.close();
      await streams?.close();
      await yoga.dispose();
      await http.close();
      await cache.close();
    },
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
