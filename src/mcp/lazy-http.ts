import type { IncomingMessage, ServerResponse } from 'node:http';
import type { McpHttp } from './http.js';

// /mcp built on its first request: the MCP SDK (its server, transports, JSON-schema validator) is a
// large share of a gateway's memory, and most gateways never see an agent. Until then the endpoint
// has no sessions and nothing to close.

export function lazyMcpHttp(deps: {
  create: () => Promise<McpHttp>;
  onError?: (error: unknown) => void;
}): McpHttp {
  let loading: Promise<McpHttp> | undefined;
  let built: McpHttp | undefined;
  let closed = false;
  const load = () =>
    (loading ??= deps.create().then((http) => {
      built = http;
      return http;
    }));
  return {
    async handle(req: IncomingMessage, res: ServerResponse) {
      if (closed) return refuse(res, 503, 'the gateway is shutting down');
      let http: McpHttp;
      try {
        http = await load();
      } catch (error) {
        // Not kept: a later request tries again.
        loading = undefined;
        deps.onError?.(error);
        return refuse(res, 500, 'MCP request failed');
      }
      // Closed while it loaded: a session opened now would outlive close().
      if (closed) return refuse(res, 503, 'the gateway is shutting down');
      await http.handle(req, res);
    },
    sessions: () => built?.sessions() ?? 0,
    async close() {
      closed = true;
      const http = await loading?.catch(() => undefined);
      await http?.close();
    },
  };
}

function refuse(res: ServerResponse, status: number, message: string) {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}
