import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyUpstreams, startTestGateway, type TestGateway } from '../helpers/gateway.js';

// Issue #3 acceptance under load: concurrent identical cold queries share their upstream calls, and a
// burst far beyond a provider's quota is queued or refused by the gateway's own bucket, so the
// provider never has to answer 429 and no client is left hanging.

const OTHERS_OFF = onlyUpstreams('coingecko', 'mempool');

type GqlError = { message: string; path?: unknown[]; extensions?: Record<string, unknown> };

describe('200 concurrent identical cold queries', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ env: OTHERS_OFF, sandbox: { providers: ['coingecko'] } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('cost one upstream call between them (coins/markets, which carries the prices), not 200', async () => {
    const query = '{ assets(first: 50) { edges { node { id price { value source } } } } }';
    type Data = { assets: { edges: Array<{ node: { id: string; price: { value: number } | null } }> } };
    const results = await Promise.all(Array.from({ length: 200 }, () => t.query<Data>(query)));
    for (const res of results) {
      expect(res.body.errors).toBeUndefined();
      const nodes = res.body.data!.assets.edges.map((e) => e.node);
      expect(nodes).toHaveLength(50);
      expect(nodes.every((n) => n.price!.value > 0)).toBe(true);
    }
    expect(results[199]!.body.data).toEqual(results[0]!.body.data);
    expect(t.sandbox.counts()).toEqual({ coingecko: { 'coins/markets': 1 } });
    // Each shared call counts once, for the request that started it (extensions.cost).
    const reported = results.reduce(
      (sum, res) =>
        sum +
        (res.body as { extensions: { cost: { upstreamCalls: { total: number } } } }).extensions.cost
          .upstreamCalls.total,
      0,
    );
    expect(reported).toBe(1);
  });
});

describe('a burst of 300 queries against a 30 requests/min provider', () => {
  const DEADLINE_MS = 5000;
  let t: TestGateway;
  let ids: string[];
  /** CoinGecko calls the warm-up spent from the 30-call window. */
  let warmUpCalls: number;
  beforeAll(async () => {
    t = await startTestGateway({
      env: {
        ...OTHERS_OFF,
        MARKETGRAPH_COINGECKO_RPM: '30',
        MARKETGRAPH_UPSTREAM_DEADLINE_MS: String(DEADLINE_MS),
      },
      sandbox: { providers: ['coingecko'], quotas: { coingecko: { limit: 30, windowMs: 60_000 } } },
    });
    // One call learns every asset (and caches their metadata), so the burst below needs only OHLC calls.
    const all = await t.query<{ assets: { edges: Array<{ node: { id: string } }> } }>(
      '{ assets(first: 200) { edges { node { id } } } }',
    );
    ids = all.body.data!.assets.edges.map((e) => e.node.id);
    warmUpCalls = t.sandbox.count('coingecko');
    t.sandbox.resetCounts();
    expect(ids.length).toBeGreaterThanOrEqual(50);
  });
  afterAll(async () => {
    await t.close();
  });

  it('never makes the sandbox answer 429; each client gets data or UPSTREAM_RATE_LIMITED within the deadline', async () => {
    // 300 different (asset, currency) pairs: each query needs one CoinGecko OHLC call of its own.
    const currencies = ['EUR', 'GBP', 'JPY', 'AUD', 'CAD', 'CHF'];
    const pairs = currencies.flatMap((currency) => ids.map((id) => ({ id, currency }))).slice(0, 300);
    expect(pairs).toHaveLength(300);

    const started = Date.now();
    const results = await Promise.all(
      pairs.map(async ({ id, currency }) => {
        const res = await t.query<{
          asset: { candles: { edges: Array<{ node: { close: number } }> } | null } | null;
        }>(
          `{ asset(id: "${id}") { candles(interval: H4, currency: ${currency}, first: 2) { edges { node { close } } } } }`,
        );
        return { ...res, ms: Date.now() - started };
      }),
    );
    const wall = Date.now() - started;

    const calls = t.sandbox.requests('coingecko');
    expect(calls.filter((c) => c.status === 429)).toEqual([]);
    expect(warmUpCalls + calls.length).toBeLessThanOrEqual(30);

    let served = 0;
    let limited = 0;
    for (const res of results) {
      const errors: GqlError[] = res.body.errors ?? [];
      if (errors.length === 0) {
        served++;
        expect(res.body.data!.asset!.candles!.edges.length).toBeGreaterThan(0);
        continue;
      }
      limited++;
      expect(errors).toHaveLength(1);
      expect(errors[0]!.extensions).toMatchObject({ code: 'UPSTREAM_RATE_LIMITED', provider: 'coingecko' });
      expect(errors[0]!.extensions!.retryAfter).toBeGreaterThan(0);
    }
    expect(served + limited).toBe(300);
    // Every token of the window the warm-up left served one query, and only those went out.
    expect(served).toBe(30 - warmUpCalls);
    expect(calls.length).toBe(30 - warmUpCalls);
    // None waited past its deadline (plus generous room for 300 queries on a shared 2-core box).
    expect(Math.max(...results.map((r) => r.ms))).toBeLessThan(DEADLINE_MS + 3000);
    expect(wall).toBeLessThan(DEADLINE_MS + 3000);
  });
});
