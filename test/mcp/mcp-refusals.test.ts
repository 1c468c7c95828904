import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createMcp, type Mcp } from '../../src/mcp/index.js';
import { buildSchema } from '../../src/schema/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type KeysDir, keysDir, keysFileText, newKey } from '../helpers/keys.js';

// Refusals an agent must be able to act on, each from the real gateway: its cost limit, and with
// MARKETGRAPH_AUTH=required its identity check and per-key budgets (src/auth/), which shows the MCP
// layer forwards the caller's key (or the stdio server's configured one) and turns the answers into hints.

type ToolResult = {
  isError?: boolean;
  structuredContent?: { data?: unknown; errors?: Array<Record<string, unknown>> };
  content: Array<{ text: string }>;
};

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`);
};

describe('MCP refusals', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ env: { MARKETGRAPH_MAX_COST: '8' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a call over the cost limit is refused with its code and "ask for fewer", by the real gateway', async () => {
    const { port } = await t.gateway.start();
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)));
    const small = (await client.callTool({
      name: 'asset_signals',
      arguments: { assetIds: ['bitcoin', 'ethereum'] },
    })) as ToolResult;
    expect(small.isError).toBeUndefined();
    t.sandbox.resetCounts();
    const ids = [
      'bitcoin',
      'ethereum',
      'solana',
      'cardano',
      'ripple',
      'dogecoin',
      'tron',
      'chainlink',
      'litecoin',
      'polkadot',
    ];
    // Signals cost a candle window per asset: ten of them are over the limit where two are not.
    const big = (await client.callTool({
      name: 'asset_signals',
      arguments: { assetIds: ids },
    })) as ToolResult;
    expect(big.isError).toBe(true);
    expect(big.structuredContent!.errors![0]).toMatchObject({
      code: 'COST_LIMIT_EXCEEDED',
      hint: expect.stringMatching(/fewer assets/),
    });
    expect(big.content[0]!.text).toMatch(
      /^COST_LIMIT_EXCEEDED: the operation co.* — too costly in one call: ask for fewer assets/,
    );
    // Refused before any provider was asked.
    expect(t.sandbox.counts()).toEqual({});
    await client.close();
  });

  describe('identity and budgets, by the real gateway with auth required', () => {
    let server: Server;
    let gateway: TestGateway;
    let keys: KeysDir;
    let mcp: Mcp;
    let url: URL;
    // A key with two requests a minute, one with plenty, and the one the stdio server is given.
    const agent = newKey('agent', { requestsPerMinute: 2, scopes: ['sources:detail'] });
    const other = newKey('other', { scopes: ['sources:detail'] });
    const stdio = newKey('stdio', { scopes: ['sources:detail'] });

    beforeAll(async () => {
      keys = await keysDir(keysFileText([agent, other, stdio]));
      gateway = await startTestGateway({
        sandboxInstance: t.sandbox,
        env: { MARKETGRAPH_AUTH: 'required', MARKETGRAPH_API_KEYS_FILE: keys.path },
      });
      mcp = createMcp({
        config: loadConfig({ env: { MARKETGRAPH_MCP_API_KEY: stdio.key } }),
        schema: buildSchema(),
        fetch: async (input, init) => gateway.gateway.yoga.fetch(input, init),
        version: 'test',
      });
      server = createServer((req, res) => void mcp.http.handle(req, res));
      url = await listen(server);
    });
    afterAll(async () => {
      await mcp?.close();
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
      await gateway?.close();
      await keys?.remove();
    });

    const connect = async (headers: Record<string, string>) => {
      const client = new Client({ name: 'test', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }));
      return client;
    };
    const status = (client: Client) =>
      client.callTool({ name: 'provider_status', arguments: {} }) as Promise<ToolResult>;

    it('an unauthenticated call is refused with "send a key"', async () => {
      const client = await connect({});
      const result = await status(client);
      expect(result.isError).toBe(true);
      expect(result.structuredContent!.errors![0]).toMatchObject({
        code: 'UNAUTHENTICATED',
        hint: expect.stringMatching(/Authorization: Bearer/),
      });
      await expect(client.subscribeResource({ uri: 'price://bitcoin/usd' })).rejects.toThrow(
        /UNAUTHENTICATED/,
      );
      await client.close();
    });

    it("forwards the caller's key; over its budget a call is refused with the wait from Retry-After", async () => {
      const client = await connect({ authorization: `Bearer ${agent.key}` });
      expect((await status(client)).isError).toBeUndefined();
      expect((await status(client)).isError).toBeUndefined();
      const over = await status(client);
      expect(over.isError).toBe(true);
      const refusal = over.structuredContent!.errors![0]!;
      expect(refusal).toMatchObject({
        code: 'RATE_LIMITED',
        hint: expect.stringMatching(/^over this key's budget: wait \d+ s/),
      });
      expect(refusal.retryAfter).toBeGreaterThan(0);
      // Another key is unaffected.
      const second = await connect({ authorization: `Bearer ${other.key}` });
      expect((await status(second)).isError).toBeUndefined();
      await second.close();
      await client.close();
    });

    it('stdio sessions send the configured key (a gateway requiring one answers them)', async () => {
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      const session = await mcp.connect(serverSide);
      const client = new Client({ name: 'test', version: '1' });
      await client.connect(clientSide);
      const result = await status(client);
      expect(result.isError).toBeUndefined();
      expect(result.structuredContent!.data).toMatchObject({ sources: expect.any(Array) });
      await client.close();
      await session.close();
    });

    it('refuses a request of no session, and an unknown session, with what to do', async () => {
      const noSession = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(noSession.status).toBe(400);
      expect(((await noSession.json()) as { error: { message: string } }).error.message).toMatch(
        /initialize/,
      );
      const unknown = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': 'nope',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(unknown.status).toBe(404);
    });
  });
});
