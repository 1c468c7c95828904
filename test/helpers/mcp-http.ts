// A raw MCP `initialize` over HTTP, for the tests about /mcp itself (its caps and refusals) that must
// see statuses and headers the SDK client hides.

export const MCP_PROTOCOL = '2025-03-26';
export const MCP_ACCEPT = 'application/json, text/event-stream';

export async function initializeMcp(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, ...headers },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: MCP_PROTOCOL, capabilities: {}, clientInfo: { name: 'test', version: '1' } },
    }),
  });
  const text = await response.text();
  return {
    status: response.status,
    text,
    retryAfter: response.headers.get('retry-after'),
    session: response.headers.get('mcp-session-id'),
  };
}
