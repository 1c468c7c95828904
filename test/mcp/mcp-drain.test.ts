import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

// A shutdown ends MCP sessions too: their notification streams and price subscriptions do not hold
// the drain open until the grace period cuts them.

describe('MCP and the drain', () => {
  let t: TestGateway | undefined;
  afterAll(async () => t?.close());

  it('drains cleanly with a session holding a price subscription', async () => {
    t = await startTestGateway({ sandbox: { tickMs: 50 } });
    const { port } = await t.gateway.start();
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)));
    await client.subscribeResource({ uri: 'price://bitcoin/usd' });
    expect(t.gateway.mcp!.http.sessions()).toBe(1);
    expect(await t.gateway.drain(5_000)).toBe(true);
    expect(t.gateway.mcp!.http.sessions()).toBe(0);
    await client.close().catch(() => undefined);
  });

  it('an initialize still sending its body when /mcp closes opens no session', async () => {
    const g = await startTestGateway();
    const { port } = await g.gateway.start();
    // Built on a first request, so the initialize below meets a built /mcp.
    await fetch(`http://127.0.0.1:${port}/mcp`, { method: 'GET' });
    const { request } = await import('node:http');
    const init = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    });
    const answered = new Promise<number>((resolve, reject) => {
      const req = request(
        {
          port,
          host: '127.0.0.1',
          path: '/mcp',
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'content-length': Buffer.byteLength(init),
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write(init.slice(0, 10));
      // Once the request is in (reading its body), /mcp closes, then the rest of the body is sent
      // (mcp.close() only ends MCP; the gateway still serves).
      setTimeout(() => void g.gateway.mcp!.http.close().then(() => req.end(init.slice(10))), 50);
    });
    expect(await answered).toBe(503);
    expect(g.gateway.mcp!.http.sessions()).toBe(0);
    await g.close();
  });
});
