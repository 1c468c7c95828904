import { fileURLToPath } from 'node:url';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { GraphQLSchema } from 'graphql';
import type { Config } from '../config.js';
import { createGraphqlExecutor, type GraphqlFetch } from './execute.js';
import { createMcpHttp, type McpHttp } from './http.js';
import { readManifest } from './manifest.js';
import { createMcpSession, type McpSession } from './session.js';
import { createToolSet, type ToolSet } from './tools.js';

// The MCP server of one gateway: its tools (from the manifest), and the two ways in, Streamable HTTP
// (mounted at /mcp by server.ts) and stdio (`npm run mcp`, main.ts). Both answer through `fetch`, the
// gateway's own yoga.fetch.

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
  onError?: (error: unknown) => void;
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
  };
  const http = createMcpHttp(sessionDeps, {
    maxSessions: config.mcp.maxSessions,
    idleMs: config.mcp.sessionIdleMs,
    maxBodyBytes: config.limits.maxBodyBytes,
    onError: deps.onError,
  });
  const connected = new Set<McpSession>();
  return {
    tools,
    http,
    async connect(transport) {
      const session = createMcpSession({
        ...sessionDeps,
        headers: config.mcp.apiKey ? { authorization: `Bearer ${config.mcp.apiKey}` } : undefined,
      });
      connected.add(session);
      await session.server.connect(transport);
      return session;
    },
    async close() {
      await http.close();
      await Promise.all([...connected].map((s) => s.close()));
    },
  };
}
