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
});
