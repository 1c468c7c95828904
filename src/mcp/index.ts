import type { IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { GraphQLSchema } from 'graphql';
import type { Config } from '../config.js';
import { createGraphqlExecutor, type GraphqlFetch } from './execute.js';
import type { McpHttp } from './http.js';
import { lazyMcpHttp } from './lazy-http.js';
import { readManifest } from './manifest.js';
import type { PriceLog } from './price-resources.js';
import type { Timers } from './resubscribe.js';
import type { McpSession } from './session.js';
import { createToolSet, type ToolSet } from './tools.js';

// The MCP server of one gateway: its tools (from the manifest), and the two ways in, Streamable HTTP
// (mounted at /mcp by server.ts) and stdio (`npm run mcp`, main.ts). Both answer through `fetch`, the
// gateway's own yoga.fetch.
// The tools are built (and the manifest checked against the schema) at start; the modules that use the
// MCP SDK (http.ts, session.ts) are imported on the first /mcp request or stdio connection.

export const MCP_PATH = '/mcp';

export function shippedOperationsFile(): string {
  return fileURLToPath(new URL('../../mcp/operations.json', import.meta.url));
}

export interface Mcp {
  tools: ToolSet;
  http: McpHttp;
  /** A session over `transport` (stdio) answering with the configured key. */
  connect(transport: Transport): Promise<McpSession>;
  close(): Promise<void>;
}

export function createMcp(deps: {
  config: Config;
  schema: GraphQLSchema;
  fetch: GraphqlFetch;
  version: string;
  /** The address of a /mcp caller (src/auth/client-address.ts). */
  addressOf?: (req: IncomingMessage) => string;
  onError?: (error: unknown) => void;
  /** Where the sessions' price subscriptions log their failures and recoveries. */
  log?: PriceLog;
  /** The price re-subscription timers and jitter (tests pass their own). */
  timers?: Timers;
  random?: () => number;
}): Mcp {
  const { config } = deps;
  const execute = createGraphqlExecutor({ fetch: deps.fetch, byDocumentId: config.mcp.byDocumentId });
  const tools = createToolSet({
    schema: deps.schema,
    manifest: readManifest(config.mcp.operationsFile || shippedOperationsFile()),
    execute,
    schemaTools: config.mcp.schemaTools,
  });
  const sessionDeps = {
    tools,
    execute,
    fetch: deps.fetch,
    version: deps.version,
    throttleMs: config.mcp.notifyThrottleMs,
    maxSubscriptions: config.mcp.maxSubscriptions,
    log: deps.log,
    timers: deps.timers,
    random: deps.random,
  };
  const http = lazyMcpHttp({
    create: async () =>
      (await import('./http.js')).createMcpHttp(sessionDeps, {
        maxSessions: config.mcp.maxSessions,
        idleMs: config.mcp.sessionIdleMs,
        stalledStreamMs: config.mcp.stalledStreamMs,
        maxBodyBytes: config.limits.maxBodyBytes,
        addressOf: deps.addressOf,
        onError: deps.onError,
      }),
    onError: deps.onError,
  });
  const connected = new Set<McpSession>();
  return {
    tools,
    http,
    async connect(transport) {
      const { createMcpSession } = await import('./session.js');
      const session = createMcpSession({
        ...sessionDeps,
        headers: config.mcp.apiKey ? { authorization: `Bearer ${config.mcp.apiKey}` } : undefined,
      });
      connected.add(session);
      const { withClientErrors } = await import('./rpc-errors.js');
      await session.server.connect(withClientErrors(transport));
      return session;
    },
    async close() {
      await http.close();
      await Promise.all([...connected].map((s) => s.close()));
    },
  };
}
