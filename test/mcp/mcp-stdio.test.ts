import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../src/sandbox/market/catalogue.js';
import { createMarket } from '../../src/sandbox/market/market.js';

/** Answers are read as loose JSON: the assertions say what they must hold. */
// biome-ignore lint/suspicious/noExplicitAny: JSON answers in tests
type Json = any;

// Issue #14 over stdio, the way a desktop host runs it: `marketgraph --mcp` (npm run mcp) spawned as a
// child process with its own sandbox (seed 42), spoken to with the SDK's client. The sandbox market is
// a pure function of seed and time, so the test's own copy says what the child's should have served.

describe('MCP over stdio (npm run mcp)', () => {
  let client: Client;
  let stderr = '';
  const market = createMarket({ catalogue: CATALOGUE, seed: 42 });

  beforeAll(async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['--import', 'tsx', 'src/main.ts', '--mcp'],
      cwd: new URL('../../', import.meta.url).pathname,
      env: {
        PATH: process.env.PATH ?? '',
        MARKETGRAPH_LOG_LEVEL: 'warn',
        MARKETGRAPH_SANDBOX_SEED: '42',
        MARKETGRAPH_SANDBOX_TICK_MS: '50',
        MARKETGRAPH_MCP_NOTIFY_THROTTLE_MS: '0',
      },
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    client = new Client({ name: 'test', version: '1' });
    await client.connect(transport);
  }, 60_000);
  afterAll(async () => {
    await client?.close();
  });

  it('lists the tools and answers a price call with values the sandbox stands behind', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(
      expect.arrayContaining(['asset_prices', 'asset_candles', 'provider_status']),
    );
    expect(tools.find((t) => t.name === 'asset_signals')!.inputSchema.required).toEqual(['assetIds']);
    const result = (await client.callTool({
      name: 'asset_prices',
      arguments: { ids: ['bitcoin'] },
    })) as unknown as {
      structuredContent: { data: { assets: { edges: Array<{ node: Json }> } } };
    };
    const node = result.structuredContent.data.assets.edges[0]!.node;
    for (const price of [node.consensus, ...node.quotes]) {
      expect(price).toMatchObject({ stale: false, source: expect.any(String), asOf: expect.any(String) });
      const truth = market.priceUsd('bitcoin', Date.parse(price.asOf));
      expect(Math.abs(price.value / truth - 1)).toBeLessThan(0.02);
    }
    // stdout is the protocol's: the banner went to stderr.
    expect(stderr).toMatch(/MCP on stdio, ready/);
  }, 30_000);

  it('sends price notifications for a subscribed resource', async () => {
    const updates: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push(n.params.uri);
    });
    await client.subscribeResource({ uri: 'price://bitcoin/usd' });
    const deadline = Date.now() + 20_000;
    while (updates.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(updates.slice(0, 2)).toEqual(['price://bitcoin/usd', 'price://bitcoin/usd']);
    await client.unsubscribeResource({ uri: 'price://bitcoin/usd' });
  }, 30_000);
});
