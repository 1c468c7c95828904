import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shippedOperationsFile } from '../../src/mcp/index.js';
import { agentOperations, readManifest } from '../../src/mcp/manifest.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/** Answers are read as loose JSON: the assertions say what they must hold. */
// biome-ignore lint/suspicious/noExplicitAny: JSON answers in tests
type Json = any;

// Issue #14 over Streamable HTTP: the SDK's own client against the gateway on a real port. Each
// shipped tool is called and its answer checked against the sandbox or the same operation sent to
// /graphql; live prices arrive as resource notifications.

type Structured = { data?: Record<string, Json>; errors?: Array<Record<string, unknown>> };

const operations = agentOperations(readManifest(shippedOperationsFile()));
const textOf = (name: string) => operations.find((o) => o.operation.name?.value === name)!.text;

describe('MCP over Streamable HTTP', () => {
  let t: TestGateway;
  let url: URL;
  let client: Client;

  const connect = async (headers: Record<string, string> = {}) => {
    const c = new Client({ name: 'test', version: '1' });
    await c.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }));
    return c;
  };
  const call = async (name: string, args: Record<string, unknown>) => {
    const result = await client.callTool({ name, arguments: args });
    return result as {
      isError?: boolean;
      structuredContent?: Structured;
      content: Array<{ type: string; text: string }>;
    };
  };

  beforeAll(async () => {
    t = await startTestGateway({
      sandbox: { tickMs: 50 },
      env: { MARKETGRAPH_MCP_NOTIFY_THROTTLE_MS: '0' },
    });
    const { port } = await t.gateway.start();
    url = new URL(`http://127.0.0.1:${port}/mcp`);
    client = await connect();
  });
  afterAll(async () => {
    await client?.close();
    await t?.close();
  });

  it('lists one tool per @mcp operation, with input schemas from their variables', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([
      'asset_candles',
      'asset_categories',
      'asset_prices',
      'asset_signals',
      'describe_type',
      'on_chain_metrics',
      'price_history',
      'provider_status',
      'run_graphql',
      'search_assets',
    ]);
    const prices = tools.find((tool) => tool.name === 'asset_prices')!;
    expect(prices.description).toMatch(/^Current prices of up to 50 assets/);
    expect(prices.inputSchema).toMatchObject({
      type: 'object',
      required: ['ids'],
      properties: {
        ids: {
          type: 'array',
          items: { type: 'string' },
          description: 'Only these assets (unknown ids are left out).',
        },
        currency: { type: 'string', default: 'USD', enum: expect.arrayContaining(['USD', 'EUR', 'BTC']) },
      },
    });
    const candles = tools.find((tool) => tool.name === 'asset_candles')!;
    expect(candles.inputSchema.required).toEqual(['id']);
    expect(candles.inputSchema.properties).toMatchObject({
      // The description of AssetLookup.id, the input field $id is passed to.
      id: { type: 'string', description: 'Canonical id, e.g. "bitcoin".' },
      from: { type: 'string', format: 'date-time' },
      interval: { type: 'string', default: 'D1', enum: expect.arrayContaining(['M1', 'H1', 'D1', 'W1']) },
      first: { type: 'integer', default: 500 },
    });
    const search = tools.find((tool) => tool.name === 'search_assets')!;
    expect(search.inputSchema.required).toBeUndefined();
    expect(search.inputSchema.properties).toMatchObject({
      // An input object: its fields, their types and descriptions, no other keys.
      filter: {
        type: 'object',
        additionalProperties: false,
        properties: {
          minChange24h: { type: 'number', description: expect.stringMatching(/percent/) },
          category: { type: 'string', description: expect.stringMatching(/assetCategories/) },
        },
      },
      orderBy: { type: 'string', enum: expect.arrayContaining(['CHANGE_24H_DESC', 'VOLUME_DESC']) },
    });
    const status = tools.find((tool) => tool.name === 'provider_status')!;
    expect(status.inputSchema).toEqual({ type: 'object', properties: {}, additionalProperties: false });
  });

  it('asset_prices: consensus and per-provider quotes agree with the sandbox, each with source, asOf and stale', async () => {
    const result = await call('asset_prices', { ids: ['bitcoin', 'ethereum'] });
    expect(result.isError).toBeUndefined();
    const nodes = result.structuredContent!.data!.assets.edges.map((e: Json) => e.node);
    expect(nodes.map((n: Json) => n.id)).toEqual(['bitcoin', 'ethereum']);
    for (const node of nodes) {
      expect(node.consensus).toMatchObject({ source: 'COMPUTED', stale: false, currency: 'USD' });
      expect(node.consensus.sources.length).toBeGreaterThan(1);
      expect(node.quotes.length).toBeGreaterThan(1);
      for (const price of [node.consensus, ...node.quotes]) {
        expect(typeof price.source).toBe('string');
        expect(typeof price.stale).toBe('boolean');
        const truth = t.sandbox.market.priceUsd(node.id, Date.parse(price.asOf));
        expect(Math.abs(price.value / truth - 1)).toBeLessThan(0.02);
      }
    }
    // The text content is the same JSON, for hosts that read only text.
    expect(JSON.parse(result.content[0]!.text)).toEqual(result.structuredContent);
  });

  it('asset_candles: the candles of a range are the sandbox candles', async () => {
    const to = Math.floor(t.sandbox.market.now() / 3_600_000) * 3_600_000;
    const from = to - 10 * 3_600_000;
    const result = await call('asset_candles', {
      id: 'bitcoin',
      interval: 'H1',
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
    });
    expect(result.isError).toBeUndefined();
    const candles = result.structuredContent!.data!.asset.candles.edges.map((e: Json) => e.node);
    expect(candles).toHaveLength(10);
    for (const candle of candles) {
      const truth = t.sandbox.market.candle('bitcoin', 3_600_000, Date.parse(candle.openTime));
      expect(candle.source).toBe('BINANCE');
      expect(candle.close).toBeCloseTo(truth.close, 2);
      expect(candle.high).toBeCloseTo(truth.high, 2);
    }
  });

  it.each([
    ['asset_signals', 'AssetSignals', { assetIds: ['bitcoin'], kinds: ['RSI', 'SMA_CROSSOVER'] }],
    ['on_chain_metrics', 'OnChainMetrics', { chain: 'bitcoin', kinds: ['BLOCK_HEIGHT', 'FEE_FASTEST'] }],
    ['provider_status', 'ProviderStatus', {}],
    [
      'price_history',
      'PriceHistory',
      {
        id: 'bitcoin',
        from: new Date(Date.now() - 3 * 86_400_000).toISOString(),
        to: new Date(Date.now() - 86_400_000).toISOString(),
      },
    ],
    [
      'search_assets',
      'SearchAssets',
      { query: 'eth', filter: { minMarketCap: 1e6 }, orderBy: 'CHANGE_24H_DESC', first: 3 },
    ],
    ['search_assets', 'SearchAssets', { filter: { category: 'stablecoins' }, first: 5 }],
    ['asset_categories', 'AssetCategories', {}],
  ])('%s answers what the same operation answers on /graphql', async (tool, operation, args) => {
    const result = await call(tool, args);
    expect(result.isError).toBeUndefined();
    const direct = await t.query(textOf(operation), args);
    expect(direct.body.errors).toBeUndefined();
    const data = result.structuredContent!.data!;
    if (tool === 'provider_status') {
      // Latency and quota move between two calls; which providers and their state do not.
      const pick = (d: Json) => d.sources.map((s: Json) => [s.name, s.enabled, s.healthy, s.breaker]);
      expect(pick(data)).toEqual(pick(direct.body.data));
    } else expect(data).toEqual(direct.body.data);
    expect(JSON.stringify(data)).not.toBe('{}');
  });

  it('on_chain_metrics and search_assets values carry their source and asOf', async () => {
    const metrics = (await call('on_chain_metrics', { chain: 'bitcoin', kinds: ['BLOCK_HEIGHT'] }))
      .structuredContent!;
    expect(metrics.data!.onChainMetrics[0]).toMatchObject({ kind: 'BLOCK_HEIGHT', source: 'MEMPOOL' });
    expect(Number.isNaN(Date.parse(metrics.data!.onChainMetrics[0].asOf))).toBe(false);
    const search = (await call('search_assets', { query: 'btc', first: 2 })).structuredContent!;
    expect(search.data!.searchAssets[0]).toMatchObject({ id: 'bitcoin', symbol: 'BTC' });
    for (const row of search.data!.searchAssets)
      expect(row.market).toMatchObject({ source: 'COINGECKO', stale: false, asOf: expect.any(String) });
  });

  it('a refused call is a tool error with its code and a one-line hint, never a stack', async () => {
    const unknown = await call('asset_candles', { id: 'no-such-coin' });
    const error = unknown.structuredContent!.errors![0]!;
    expect(error).toMatchObject({ code: 'NOT_FOUND', hint: expect.stringMatching(/search_assets/) });
    expect(unknown.content[0]!.text).not.toMatch(/\bat .*\.(ts|js):\d+/);

    const bad = await call('asset_candles', { id: 'bitcoin', interval: 'FORTNIGHT' });
    expect(bad.isError).toBe(true);
    expect(bad.structuredContent!.errors![0]).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(bad.content[0]!.text).toMatch(/^BAD_USER_INPUT: .* — fix the argument/);
  });

  it('schema tools go through /graphql too: describe_type and run_graphql', async () => {
    const described = await call('describe_type', { name: 'Price' });
    const fields = described.structuredContent!.data!.__type.fields.map((f: Json) => f.name);
    expect(fields).toEqual(expect.arrayContaining(['value', 'source', 'asOf', 'stale']));
    const run = await call('run_graphql', {
      query: 'query($id: ID!) { asset(by: { id: $id }) { symbol } }',
      variables: { id: 'ethereum' },
    });
    expect(run.structuredContent!.data).toEqual({ asset: { symbol: 'ETH' } });
  });

  it('price resources: read one, subscribe and receive at least two change notifications', async () => {
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((r) => r.uriTemplate)).toEqual(['price://{assetId}/{currency}']);
    const read = await client.readResource({ uri: 'price://bitcoin/usd' });
    const price = JSON.parse((read.contents[0] as { text: string }).text);
    expect(price).toMatchObject({
      assetId: 'bitcoin',
      currency: 'USD',
      stale: false,
      source: expect.any(String),
    });

    const updates: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push(n.params.uri);
    });
    await client.subscribeResource({ uri: 'price://ethereum/usd' });
    const deadline = Date.now() + 20_000;
    while (updates.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(updates.length).toBeGreaterThanOrEqual(2);
    expect(new Set(updates)).toEqual(new Set(['price://ethereum/usd']));
    const latest = JSON.parse(
      ((await client.readResource({ uri: 'price://ethereum/usd' })).contents[0] as { text: string }).text,
    );
    expect(latest).toMatchObject({ assetId: 'ethereum', source: 'BINANCE', stale: false });
    const truth = t.sandbox.market.priceUsd('ethereum', Date.parse(latest.asOf));
    expect(Math.abs(latest.value / truth - 1)).toBeLessThan(0.02);
    // One shared upstream stream serves it, as for priceUpdated subscribers.
    expect(t.sandbox.streams('binance').some((s) => s.startsWith('ethusdt'))).toBe(true);

    await client.unsubscribeResource({ uri: 'price://ethereum/usd' });
    const { resources } = await client.listResources();
    expect(resources).toEqual([]);
  });

  it('an unknown resource is refused with what to ask instead', async () => {
    await expect(client.readResource({ uri: 'price://bitcoin/xyz' })).rejects.toThrow(
      /price:\/\/<asset id>\/<currency>/,
    );
    await expect(client.subscribeResource({ uri: 'price://no-such-coin/usd' })).rejects.toThrow(/NOT_FOUND/);
  });

  it("an error reaches the agent with the JSON-RPC prefix once, whether ours or the gateway's", async () => {
    const invalid = await client.readResource({ uri: 'price://bitcoin/xyz' }).catch((e: Error) => e);
    expect((invalid as Error).message).toMatch(/^MCP error -32602: not a price resource: /);
    const unknown = await client
      .subscribeResource({ uri: 'price://no-such-coin/usd' })
      .catch((e: Error) => e);
    expect((unknown as Error).message).toMatch(/^MCP error -32602: NOT_FOUND: /);
    expect((unknown as Error).message.match(/MCP error/g)).toHaveLength(1);
  });

  it('the committed manifest is the one the operations folder builds', async () => {
    const { buildManifest } = await import('../../src/mcp/manifest.js');
    const { buildSchema } = await import('../../src/schema/index.js');
    const folder = new URL('../../mcp/operations/', import.meta.url).pathname;
    expect(JSON.parse(readFileSync(shippedOperationsFile(), 'utf8'))).toEqual(
      buildManifest(folder, buildSchema()),
    );
  });
});
