import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyUpstreams, startTestGateway, type TestGateway } from '../helpers/gateway.js';

// Issue #15 part 2 for subscriptions: the live feeds run outside requests and are not held to a
// request's budget, so one subscribe (signals of 47 assets at an interval nobody asked for yet) spent
// a provider's candle calls for every asset at once: with CoinGecko's 30 a minute, one or two such
// subscriptions left none for anybody's query. Live work now leaves a request's share of each
// provider's quota (MARKETGRAPH_MAX_QUOTA_SHARE_PER_REQUEST) to requests.

const RPM = 20;
const SHARE = 5; // 25 % of 20

describe('live feeds and the provider quota', () => {
  let t: TestGateway;
  beforeAll(async () => {
    // CoinGecko alone: every asset's candles come from it.
    t = await startTestGateway({
      env: { ...onlyUpstreams('coingecko'), MARKETGRAPH_COINGECKO_RPM: String(RPM) },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  const coingeckoLeft = async () => {
    const res = await t.query<{ sources: Array<{ name: string; quotaLeft: number }> }>(
      '{ sources { name quotaLeft } }',
    );
    return res.body.data!.sources.find((s) => s.name === 'coingecko')!.quotaLeft;
  };

  it('a signal subscription over 47 assets leaves a request its share of the quota', async () => {
    const list = await t.query<{ assets: { edges: Array<{ node: { id: string } }> } }>(
      '{ assets(first: 47) { edges { node { id } } } }',
    );
    const ids = list.body.data!.assets.edges.map((e) => e.node.id);
    expect(ids).toHaveLength(47);
    const before = await coingeckoLeft();
    expect(before).toBeGreaterThan(SHARE);
    t.sandbox.resetCounts();
    const subscription = new AbortController();
    const response = await t.gateway.yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({
        query: 'subscription($ids: [ID!]!) { signalChanged(assetIds: $ids, interval: H1) { assetId } }',
        variables: { ids },
      }),
      signal: subscription.signal,
    });
    const events = response.body!.getReader();
    const reading = (async () => {
      while (!(await events.read()).done);
    })().catch(() => undefined);
    try {
      // Its calls take the tokens down to a request's share, and no further.
      const calls = () => Object.values(t.sandbox.counts().coingecko ?? {}).reduce((a, b) => a + b, 0);
      await expect.poll(calls).toBe(before - SHARE);
      expect(await coingeckoLeft()).toBeGreaterThanOrEqual(SHARE);
      // So a query still gets its CoinGecko call.
      const candles = await t.query<{ asset: { candles: { edges: Array<{ node: { source: string } }> } } }>(
        '{ asset(id: "bitcoin") { candles(interval: D1, first: 2) { edges { node { source } } } } }',
      );
      expect(candles.body.errors).toBeUndefined();
      expect(candles.body.data!.asset.candles.edges[0]!.node.source).toBe('COINGECKO');
      expect(calls()).toBe(before - SHARE + 1);
    } finally {
      subscription.abort();
      await events.cancel().catch(() => undefined);
      await reading;
    }
  });
});
