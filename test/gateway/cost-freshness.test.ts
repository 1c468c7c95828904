import { type OperationDefinitionNode, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLES } from '../../src/examples.js';
import { startTestGateway, type TestGateway, useListeningGateway } from '../helpers/gateway.js';
import { multipartPayloads } from '../helpers/yoga-stream.js';

// extensions.cost and extensions.freshness (README "Cost and freshness"): the calls an answer reports
// are the calls the sandbox received for it, the estimate bounds them, and hits report none.

interface Cost {
  estimate: number | null;
  upstreamCalls: { total: number; byProvider: Record<string, number> };
  cacheHits: number;
  budget?: { requests: number; cost: number; resetMs: number };
  quota: Record<string, number>;
}
interface Extensions {
  cost: Cost;
  freshness: { oldestAsOf: string | null; stale: boolean };
}

const QUERIES = EXAMPLES.filter(
  (e) => (parse(e.document).definitions[0] as OperationDefinitionNode).operation === 'query',
);

/** What the sandbox received since its last reset, per provider. */
function received(t: TestGateway): Record<string, number> {
  return Object.fromEntries(
    Object.entries(t.sandbox.counts()).map(([provider, byEndpoint]) => [
      provider,
      Object.values(byEndpoint).reduce((a, b) => a + b, 0),
    ]),
  );
}

async function extensionsOf(t: TestGateway, document: string): Promise<Extensions> {
  if (document.includes('@defer')) {
    // Incremental payloads carry the figures as they stand; the last one has them all.
    const { parts } = await multipartPayloads(t.gateway, { query: document });
    return (parts.at(-1) as { extensions: Extensions }).extensions;
  }
  const res = await t.query(document);
  expect(res.body.errors, document).toBeUndefined();
  return (res.body as { extensions: Extensions }).extensions;
}

describe('extensions.cost on a miss', () => {
  let t: TestGateway;
  let cold: TestGateway;
  beforeAll(async () => {
    // No response cache: every request executes.
    t = await startTestGateway({ env: { MARKETGRAPH_RESPONSE_CACHE: 'false' } });
    // Values that expire at once, while identity lookups (metadata) stay cached: identity lookups are
    // process-wide work, outside every request's count (the asset registry, Binance's symbol list,
    // Token Metrics' token ids), so each example runs once to load them and is then measured cold.
    cold = await startTestGateway({
      sandboxInstance: t.sandbox,
      env: {
        MARKETGRAPH_RESPONSE_CACHE: 'false',
        MARKETGRAPH_CACHE_STALE_MS: '0',
        ...Object.fromEntries(
          ['PRICE', 'MARKET', 'CANDLES', 'ONCHAIN', 'SIGNALS'].map((n) => [`MARKETGRAPH_TTL_${n}_MS`, '0']),
        ),
      },
    });
  });
  afterAll(async () => {
    await cold.close();
    await t.close();
  });

  it.each(QUERIES.map((e) => [e.title, e.document] as const))(
    'counts the calls the sandbox received, within the estimate: %s',
    async (_title, document) => {
      await extensionsOf(cold, document);
      t.sandbox.resetCounts();
      const { cost } = await extensionsOf(cold, document);
      // Provider health is the gateway's own state; every other example reads provider data.
      if (!document.includes('sources')) expect(cost.upstreamCalls.total).toBeGreaterThan(0);
      expect(cost.upstreamCalls.byProvider).toEqual(received(t));
      expect(cost.upstreamCalls.total).toBe(Object.values(received(t)).reduce((a, b) => a + b, 0));
      expect(cost.estimate).toBeGreaterThanOrEqual(cost.upstreamCalls.total);
      expect(cost.estimate).toBeLessThanOrEqual(t.config.limits.maxCost);
    },
  );

  it('reports no call for an answer served from the process cache', async () => {
    const query = '{ assets(first: 5) { edges { node { id price { value asOf } market { marketCap } } } } }';
    await t.query(query);
    t.sandbox.resetCounts();
    const res = await t.query(query);
    expect(received(t)).toEqual({});
    expect((res.body as { extensions: Extensions }).extensions.cost.upstreamCalls).toEqual({
      total: 0,
      byProvider: {},
    });
  });

  it("reports cache hits, each enabled provider's quota and the caller's budget left", async () => {
    const query = '{ assets(first: 5) { edges { node { id price { value asOf } } } } }';
    const before = (await t.query(query)).body as { extensions: Extensions };
    const res = await t.query(query);
    const { cost, freshness } = (res.body as { extensions: Extensions }).extensions;
    expect(cost.cacheHits).toBeGreaterThanOrEqual(5);
    // The anonymous plan of the sandbox profile (src/auth/): one request more spent than before.
    expect(cost.budget).toMatchObject({ requests: expect.any(Number), cost: expect.any(Number) });
    expect(cost.budget!.requests).toBe(before.extensions.cost.budget!.requests - 1);
    const enabled = Object.values(t.config.providers)
      .filter((p) => p.enabled)
      .map((p) => p.name);
    expect(Object.keys(cost.quota).sort()).toEqual([...enabled].sort());
    for (const name of enabled) expect(cost.quota[name]).toBeLessThanOrEqual(t.config.providers[name].rpm);
    // The oldest value is no younger than any asOf the answer shows.
    const data = res.body.data as { assets: { edges: Array<{ node: { price: { asOf: string } } }> } };
    const oldestShown = Math.min(...data.assets.edges.map((e) => Date.parse(e.node.price.asOf)));
    expect(Date.parse(freshness.oldestAsOf!)).toBeLessThanOrEqual(oldestShown);
    expect(freshness.stale).toBe(false);
  });
});

describe('extensions.cost on a response-cache hit', () => {
  const gateway = useListeningGateway();

  const QUERY = '{ assets(first: 50) { edges { node { id symbol price { value asOf source stale } } } } }';

  it('reports 0 upstream calls, the same estimate and freshness, in identity and in gzip', async () => {
    const get = (encoding?: string) =>
      fetch(`${gateway.url}?query=${encodeURIComponent(QUERY)}`, {
        headers: { accept: 'application/json', 'accept-encoding': encoding ?? 'identity' },
      });
    gateway.t.sandbox.resetCounts();
    const miss = await get();
    expect(miss.headers.get('x-response-cache')).toBe('miss');
    const missBody = (await miss.json()) as { data: unknown; extensions: Extensions };
    expect(missBody.extensions.cost.upstreamCalls.byProvider).toEqual(received(gateway.t));
    gateway.t.sandbox.resetCounts();
    for (const encoding of ['identity', 'gzip', 'br, gzip']) {
      const hit = await get(encoding);
      expect(hit.headers.get('x-response-cache')).toBe('hit');
      expect(hit.headers.get('content-encoding')).toBe(encoding === 'identity' ? null : 'gzip');
      const body = (await hit.json()) as { data: unknown; extensions: Extensions };
      expect(body.data).toEqual(missBody.data);
      expect(body.extensions.freshness).toEqual(missBody.extensions.freshness);
      expect(body.extensions.cost.estimate).toBe(missBody.extensions.cost.estimate);
      expect(body.extensions.cost.upstreamCalls).toEqual({ total: 0, byProvider: {} });
      expect(Object.keys(body.extensions.cost.quota)).toEqual(Object.keys(missBody.extensions.cost.quota));
    }
    expect(received(gateway.t)).toEqual({});
  });
});
