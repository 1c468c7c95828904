import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  type IsomorphicHeaders,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { callerHeaders } from './caller.js';
import type { GraphqlExecutor, GraphqlFetch } from './execute.js';
import { createPriceResources, PRICE_TEMPLATE, type PriceLog } from './price-resources.js';
import type { Timers } from './resubscribe.js';
import type { ToolSet } from './tools.js';

// One MCP session: the SDK's Server with marketgraph's tools and price resources. Each request is
// answered with the credentials it came with (Streamable HTTP: that POST's headers), or with the
// session's fixed ones (stdio: the configured key).

export interface SessionDeps {
  tools: ToolSet;
  execute: GraphqlExecutor;
  fetch: GraphqlFetch;
  version: string;
  throttleMs: number;
  maxSubscriptions: number;
  /** Headers for requests that carry none of their own (stdio). */
  headers?: IsomorphicHeaders;
  /** Where a price subscription's failures and recoveries are logged. */
  log?: PriceLog;
  /** The re-subscription timers and jitter (tests pass their own). */
  timers?: Timers;
  random?: () => number;
}

export interface McpSession {
  server: Server;
  close(): Promise<void>;
}

export function createMcpSession(deps: SessionDeps): McpSession {
  const server = new Server(
    { name: 'marketgraph', version: deps.version },
    {
      capabilities: { tools: {}, resources: { subscribe: true } },
      instructions:
        'Crypto market data: prices (consensus and per-provider), candles, signals, on-chain metrics and provider status. Every value names its source, asOf and whether it is stale. Live prices: subscribe to price://<asset id>/<currency>.',
    },
  );
  const headersOf = (extra: Parameters<typeof callerHeaders>[0]) => callerHeaders(extra, deps.headers);
  const prices = createPriceResources({
    execute: deps.execute,
    fetch: deps.fetch,
    throttleMs: deps.throttleMs,
    maxSubscriptions: deps.maxSubscriptions,
    log: deps.log,
    timers: deps.timers,
    random: deps.random,
    onUpdate: (uri) => {
      server.sendResourceUpdated({ uri }).catch(() => prices.unsubscribe(uri));
    },
  });

  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: deps.tools.list() }));
  server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
    deps.tools.call(request.params.name, request.params.arguments, headersOf(extra)),
  );
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: [
      {
        uriTemplate: PRICE_TEMPLATE,
        name: 'price',
        title: 'Live price',
        description:
          'The current price of one asset in one currency (usd, eur, gbp, jpy, aud, cad, chf, btc, eth), with source, asOf and stale. Subscribe for a notification on each change.',
        mimeType: 'application/json',
      },
    ],
  }));
  server.setRequestHandler(ListResourcesRequestSchema, () => ({
    resources: prices
      .subscribed()
      .map((uri) => ({ uri, name: uri.replace('price://', ''), mimeType: 'application/json' })),
  }));
  server.setRequestHandler(ReadResourceRequestSchema, (request, extra) =>
    prices.read(request.params.uri, headersOf(extra)),
  );
  server.setRequestHandler(SubscribeRequestSchema, async (request, extra) => {
    await prices.subscribe(request.params.uri, headersOf(extra));
    return {};
  });
  server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    prices.unsubscribe(request.params.uri);
    return {};
  });
  server.onclose = () => prices.close();
  return {
    server,
    async close() {
      prices.close();
      await server.close();
    },
  };
}
