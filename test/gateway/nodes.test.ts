import { isObjectType } from 'graphql';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildSchema } from '../../src/schema/index.js';
import { NODE_TYPES } from '../../src/schema/node-id.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { firstSseEvents } from '../helpers/yoga-stream.js';

// Every type with an id is a Node: its id, given back to node(id:) or nodes(ids:), refetches the
// same object, and an id that does not resolve says why with a code.

type GqlError = { message: string; path?: unknown[]; extensions?: { code?: string } };

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway({ env: { MARKETGRAPH_UPSTREAM_RETRIES: '0' } });
});
afterAll(async () => {
  await t.close();
});
afterEach(() => {
  t.sandbox.faults.clear();
});

const NODE_FIELDS = `
  __typename
  id
  ... on Asset { symbol }
  ... on Signal { assetId signalKind: kind interval }
  ... on OnChainMetric { chain metricKind: kind unit }
`;

async function nodeError(id: string): Promise<{ node: unknown; error: GqlError | undefined }> {
  const res = await t.query<{ node: unknown }>('query ($id: ID!) { node(id: $id) { id } }', { id });
  expect(res.body.errors, id).toHaveLength(1);
  return { node: res.body.data?.node, error: (res.body.errors as GqlError[])[0] };
}

describe('node ids', () => {
  it('decodes exactly the types that implement Node', () => {
    const schema = buildSchema();
    const implementing = Object.values(schema.getTypeMap())
      .filter((type) => isObjectType(type) && type.getInterfaces().some((i) => i.name === 'Node'))
      .map((type) => type.name)
      .sort();
    expect(implementing).toEqual([...NODE_TYPES].sort());
  });

  it('refetches every node type through nodes(ids:) by the id it was given', async () => {
    const res = await t.query<{
      asset: { id: string; signals: Array<{ id: string; kind: string }> };
      onChainMetrics: Array<{ id: string; kind: string }>;
      protocolTvl: { id: string };
    }>(`{
      asset(by: { id: "bitcoin" }) { id signals(kinds: [RSI, SMA_CROSSOVER]) { id kind } }
      onChainMetrics(chain: "bitcoin", kinds: [FEE_FASTEST, HASHRATE]) { id kind }
      protocolTvl(slug: "lido") { id }
    }`);
    expect(res.body.errors).toBeUndefined();
    const { asset, onChainMetrics, protocolTvl } = res.body.data!;
    const rsi = asset.signals.find((s) => s.kind === 'RSI')!;
    const fee = onChainMetrics.find((m) => m.kind === 'FEE_FASTEST')!;
    expect(asset.id).toBe('bitcoin');
    expect(rsi.id).toBe('Signal:bitcoin:RSI:1d');
    expect(fee.id).toBe('OnChainMetric:FEE_FASTEST:bitcoin');
    expect(protocolTvl.id).toBe('OnChainMetric:PROTOCOL_TVL:lido');

    const ids = [asset.id, rsi.id, fee.id, protocolTvl.id];
    const again = await t.query<{ nodes: Array<Record<string, unknown>> }>(
      `query ($ids: [ID!]!) { nodes(ids: $ids) { ${NODE_FIELDS} } }`,
      { ids },
    );
    expect(again.body.errors).toBeUndefined();
    expect(again.body.data!.nodes).toEqual([
      { __typename: 'Asset', id: 'bitcoin', symbol: 'BTC' },
      { __typename: 'Signal', id: rsi.id, assetId: 'bitcoin', signalKind: 'RSI', interval: '1d' },
      {
        __typename: 'OnChainMetric',
        id: fee.id,
        chain: 'bitcoin',
        metricKind: 'FEE_FASTEST',
        unit: 'sat/vB',
      },
      {
        __typename: 'OnChainMetric',
        id: protocolTvl.id,
        chain: 'all',
        metricKind: 'PROTOCOL_TVL',
        unit: 'USD',
      },
    ]);
  });

  it('gives a signal one id across computations and transports: a signalChanged event updates the same object', async () => {
    const res = await t.query<{ signals: Array<{ id: string; kind: string }> }>(
      '{ signals(assetIds: ["ethereum"], interval: H4) { id kind } }',
    );
    expect(res.body.errors).toBeUndefined();
    const signals = res.body.data!.signals;
    expect(signals.length).toBeGreaterThan(0);
    for (const s of signals) expect(s.id).toBe(`Signal:ethereum:${s.kind}:4h`);

    const events = await firstSseEvents(
      t.gateway,
      { query: 'subscription { signalChanged(assetIds: ["ethereum"], interval: H4) { id kind } }' },
      signals.length,
    );
    const live = events.map((e) => (e.data as { signalChanged: { id: string } }).signalChanged.id);
    expect(new Set(live)).toEqual(new Set(signals.map((s) => s.id)));

    const node = await t.query<{ node: { id: string; kind: string } }>(
      `{ node(id: "${signals[0]!.id}") { id ... on Signal { kind } } }`,
    );
    expect(node.body.errors).toBeUndefined();
    expect(node.body.data!.node).toEqual({ id: signals[0]!.id, kind: signals[0]!.kind });
  });

  it.each([
    ['an empty id', ''],
    ['an unknown type', 'Candle:bitcoin'],
    ['a prefixed asset id (asset ids are bare slugs)', 'Asset:bitcoin'],
    ['a Signal id without its interval', 'Signal:bitcoin:RSI'],
    ['a Signal id with an unknown kind', 'Signal:bitcoin:NO_SUCH_KIND:1d'],
    ['a Signal id with an unknown interval', 'Signal:bitcoin:RSI:2d'],
    ['an OnChainMetric id with an unknown kind', 'OnChainMetric:NO_SUCH_KIND:bitcoin'],
    ['an OnChainMetric id without its chain', 'OnChainMetric:FEE_FASTEST'],
    ['a PROTOCOL_TVL id with a malformed slug', 'OnChainMetric:PROTOCOL_TVL:Not A Slug'],
  ])('answers %s with null and BAD_USER_INPUT', async (_what, id) => {
    const { node, error } = await nodeError(id);
    expect(node ?? null).toBeNull();
    expect(error?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(error?.message).toContain(JSON.stringify(id));
  });

  it.each([
    ['an unknown asset', 'no-such-coin'],
    ['a signal of an unknown asset', 'Signal:no-such-coin:RSI:1d'],
    ['a metric the chain does not have', 'OnChainMetric:GAS_PROPOSE:bitcoin'],
    ['an unknown protocol', 'OnChainMetric:PROTOCOL_TVL:no-such-protocol'],
  ])('answers %s with null and NOT_FOUND', async (_what, id) => {
    const { node, error } = await nodeError(id);
    expect(node).toBeNull();
    expect(error?.extensions?.code).toBe('NOT_FOUND');
    expect(error?.path).toEqual(['node']);
  });

  it('leaves a null entry with NOT_FOUND for an id that names nothing, and resolves the others', async () => {
    const res = await t.query<{ nodes: Array<{ id: string } | null> }>(
      '{ nodes(ids: ["ethereum", "no-such-coin", "OnChainMetric:BLOCK_HEIGHT:bitcoin"]) { id } }',
    );
    expect(res.body.data!.nodes).toEqual([
      { id: 'ethereum' },
      null,
      { id: 'OnChainMetric:BLOCK_HEIGHT:bitcoin' },
    ]);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors![0]).toMatchObject({ path: ['nodes', 1], extensions: { code: 'NOT_FOUND' } });
  });

  it("reports a provider's failure on refetch with its upstream code, never as NOT_FOUND", async () => {
    // A gateway of its own, so nothing cached can stand in: the refetch must reach the provider.
    const cold = await startTestGateway({
      sandboxInstance: t.sandbox,
      env: { MARKETGRAPH_UPSTREAM_RETRIES: '0' },
    });
    try {
      t.sandbox.faults.set('mempool', 'blocks/tip/height', { kind: 'server-error', status: 503 });
      const res = await cold.query<{ node: unknown }>(
        '{ node(id: "OnChainMetric:BLOCK_HEIGHT:bitcoin") { id } }',
      );
      expect(res.body.data?.node).toBeNull();
      expect(res.body.errors).toHaveLength(1);
      expect(res.body.errors![0]).toMatchObject({
        path: ['node'],
        extensions: { code: 'UPSTREAM_UNAVAILABLE', provider: 'mempool' },
      });
    } finally {
      await cold.close();
    }
  });
});
