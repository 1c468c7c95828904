import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TopAssetsDocument } from '../gql/graphql.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

// Issue #2 acceptance: 50 assets with prices cost at most 2 upstream requests, and 0 within the TTL.

describe('Query.assets', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway();
  });
  afterAll(async () => {
    await t.close();
  });

  it('returns 50 priced assets for at most 2 upstream requests, then 0 within the TTL', async () => {
    t.sandbox.resetCounts();
    const first = await t.query(TopAssetsDocument, { first: 50, currency: 'USD' });
    expect(first.body.errors).toBeUndefined();
    const nodes = first.body.data!.assets.edges.map((e) => e.node);
    expect(nodes).toHaveLength(50);
    expect(new Set(nodes.map((n) => n.id)).size).toBe(50);
    expect(nodes[0]!.id).toBe('bitcoin');
    for (const node of nodes) {
      expect(node.price).not.toBeNull();
      expect(node.price!.value).toBeGreaterThan(0);
      expect(node.price!.currency).toBe('USD');
      expect(node.price!.source).toBe('COINGECKO');
      expect(Number.isNaN(Date.parse(node.price!.asOf))).toBe(false);
    }
    // The sandbox's own price for bitcoin agrees with what the gateway served.
    const btc = nodes[0]!.price!;
    const truth = t.sandbox.market.priceUsd('bitcoin', Date.parse(btc.asOf));
    expect(Math.abs(btc.value / truth - 1)).toBeLessThan(0.01);

    const upstream = Object.values(t.sandbox.counts()).flatMap((byEndpoint) => Object.values(byEndpoint));
    const total = upstream.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThanOrEqual(2);

    t.sandbox.resetCounts();
    const again = await t.query(TopAssetsDocument, { first: 50, currency: 'USD' });
    expect(again.body.data!.assets.edges).toHaveLength(50);
    expect(t.sandbox.counts()).toEqual({});
  });

  it('pages with after and orders by the requested key', async () => {
    const page1 = await t.query<{
      assets: {
        edges: Array<{ cursor: string; node: { id: string; rank: number } }>;
        pageInfo: { endCursor: string; hasNextPage: boolean };
      };
    }>('{ assets(first: 5) { edges { cursor node { id rank } } pageInfo { endCursor hasNextPage } } }');
    const { edges, pageInfo } = page1.body.data!.assets;
    expect(edges.map((e) => e.node.rank)).toEqual([1, 2, 3, 4, 5]);
    expect(pageInfo.hasNextPage).toBe(true);
    const page2 = await t.query<{ assets: { edges: Array<{ node: { rank: number } }> } }>(
      `{ assets(first: 5, after: "${pageInfo.endCursor}") { edges { node { rank } } } }`,
    );
    expect(page2.body.data!.assets.edges.map((e) => e.node.rank)).toEqual([6, 7, 8, 9, 10]);

    const byVolume = await t.query<{ assets: { edges: Array<{ node: { market: { volume24h: number } } }> } }>(
      '{ assets(first: 10, orderBy: VOLUME_DESC) { edges { node { market { volume24h } } } } }',
    );
    const volumes = byVolume.body.data!.assets.edges.map((e) => e.node.market.volume24h);
    expect([...volumes].sort((a, b) => b - a)).toEqual(volumes);
  });

  it('filters by ids and resolves one asset by id, symbol and Node id', async () => {
    const res = await t.query<{
      assets: { edges: Array<{ node: { id: string } }> };
      eth: { id: string; name: string } | null;
      bySymbol: { id: string } | null;
      node: { id: string } | null;
    }>(`{
      assets(ids: ["ethereum", "bitcoin", "no-such-coin"]) { edges { node { id } } }
      eth: asset(id: "ethereum") { id name }
      bySymbol: asset(symbol: "btc") { id }
      node(id: "bitcoin") { id }
    }`);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.assets.edges.map((e) => e.node.id)).toEqual(['ethereum', 'bitcoin']);
    expect(res.body.data!.eth).toEqual({ id: 'ethereum', name: 'Ethereum' });
    expect(res.body.data!.bySymbol).toEqual({ id: 'bitcoin' });
    expect(res.body.data!.node).toEqual({ id: 'bitcoin' });
  });

  it('asks CoinGecko about an id it does not list once, not on every query', async () => {
    const query = '{ assets(ids: ["bitcoin", "no-such-coin-2"]) { edges { node { id } } } }';
    t.sandbox.resetCounts();
    for (let i = 0; i < 4; i += 1) {
      const res = await t.query<{ assets: { edges: Array<{ node: { id: string } }> } }>(query);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data!.assets.edges.map((e) => e.node.id)).toEqual(['bitcoin']);
    }
    expect(t.sandbox.counts().coingecko?.['coins/markets'] ?? 0).toBeLessThanOrEqual(1);
  });

  it('serves the market in another currency and converts consistently', async () => {
    const res = await t.query<{
      asset: { usd: { price: number }; eur: { price: number; marketCap: number; currency: string } };
    }>(
      '{ asset(id: "bitcoin") { usd: market(currency: USD) { price } eur: market(currency: EUR) { price marketCap currency } } }',
    );
    expect(res.body.errors).toBeUndefined();
    const { usd, eur } = res.body.data!.asset;
    expect(eur.currency).toBe('EUR');
    expect(eur.price / usd.price).toBeGreaterThan(0.8);
    expect(eur.price / usd.price).toBeLessThan(1.0);
    expect(eur.marketCap).toBeGreaterThan(eur.price * 1e6);
  });
});

describe('Query.assets page boundaries', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway();
  });
  afterAll(async () => {
    await t.close();
  });

  it('a full 250-asset page costs one markets call and still knows whether more follow', async () => {
    t.sandbox.resetCounts();
    const res = await t.query<{ assets: { edges: unknown[]; pageInfo: { hasNextPage: boolean } } }>(
      '{ assets(first: 250) { edges { node { id } } pageInfo { hasNextPage } } }',
    );
    expect(res.body.errors).toBeUndefined();
    // The sandbox lists fewer than 250 assets, so the page is short and nothing follows.
    expect(res.body.data!.assets.edges.length).toBe(t.sandbox.market.assets.length);
    expect(res.body.data!.assets.pageInfo.hasNextPage).toBe(false);
    expect(t.sandbox.count('coingecko', 'coins/markets')).toBe(1);
  });
});

describe('Query.assets(ids:, orderBy:)', () => {
  // A gateway of its own, so the markets of the ids are cold (a ranking page would have cached them).
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway();
  });
  afterAll(async () => {
    await t.close();
  });

  it('orders ids by orderBy when one is given, at one markets call for the cold ones', async () => {
    type Res = {
      assets: {
        edges: Array<{
          node: { id: string; market: { marketCap: number | null; volume24h: number | null } };
        }>;
        pageInfo: { endCursor: string; hasNextPage: boolean };
      };
    };
    const given = t.sandbox.market.assets.slice(10, 16).map((a) => a.id);
    const page = (orderBy: string, extra = '', ids = given) =>
      t.query<Res>(
        `{ assets(ids: ${JSON.stringify(ids)}, orderBy: ${orderBy}${extra}) { edges { node { id market { marketCap volume24h } } } pageInfo { endCursor hasNextPage } } }`,
      );
    const nodes = (res: { body: { data?: Res | null } }) => res.body.data!.assets.edges.map((e) => e.node);

    t.sandbox.resetCounts();
    // An unknown id is left out, as without an order.
    const byCap = await page('MARKET_CAP_DESC', '', [...given, 'no-such-coin']);
    expect(byCap.body.errors).toBeUndefined();
    expect(t.sandbox.counts()).toEqual({ coingecko: { 'coins/markets': 1 } });
    const caps = nodes(byCap).map((n) => n.market.marketCap!);
    expect(
      nodes(byCap)
        .map((n) => n.id)
        .sort(),
    ).toEqual([...given].sort());
    expect(caps).toEqual([...caps].sort((a, b) => b - a));
    // The order differs from the order the ids were given in, or the test would prove nothing.
    expect(nodes(byCap).map((n) => n.id)).not.toEqual(given);

    const capsAsc = nodes(await page('MARKET_CAP_ASC')).map((n) => n.market.marketCap!);
    expect(capsAsc).toEqual([...caps].reverse());
    const volumes = nodes(await page('VOLUME_DESC')).map((n) => n.market.volume24h!);
    expect(volumes).toEqual([...volumes].sort((a, b) => b - a));
    expect(nodes(await page('ID_DESC')).map((n) => n.id)).toEqual([...given].sort().reverse());
    expect(t.sandbox.count('coingecko', 'coins/markets')).toBe(1);

    // Pages follow the order, not the order of ids.
    const first = await page('MARKET_CAP_DESC', ', first: 4');
    expect(nodes(first).map((n) => n.id)).toEqual(
      nodes(byCap)
        .slice(0, 4)
        .map((n) => n.id),
    );
    expect(first.body.data!.assets.pageInfo.hasNextPage).toBe(true);
    const rest = await page(
      'MARKET_CAP_DESC',
      `, first: 4, after: "${first.body.data!.assets.pageInfo.endCursor}"`,
    );
    expect(nodes(rest).map((n) => n.id)).toEqual(
      nodes(byCap)
        .slice(4)
        .map((n) => n.id),
    );
  });

  it('without orderBy, ids keep their given order', async () => {
    const res = await t.query<{ assets: { edges: Array<{ node: { id: string } }> } }>(
      '{ assets(ids: ["solana", "bitcoin", "ethereum"]) { edges { node { id } } } }',
    );
    expect(res.body.data!.assets.edges.map((e) => e.node.id)).toEqual(['solana', 'bitcoin', 'ethereum']);
  });

  it('fails with a coded upstream error when the figures an order needs cannot be loaded', async () => {
    const ids = JSON.stringify(t.sandbox.market.assets.slice(20, 23).map((a) => a.id));
    t.sandbox.faults.set('coingecko', 'coins/markets', { kind: 'server-error', status: 503 });
    try {
      const res = await t.query(`{ assets(ids: ${ids}, orderBy: VOLUME_DESC) { edges { node { id } } } }`);
      expect(res.body.errors?.[0]?.extensions?.code).toMatch(/^UPSTREAM_/);
      expect(res.body.errors?.[0]?.path).toEqual(['assets']);
    } finally {
      t.sandbox.faults.clear('coingecko', 'coins/markets');
    }
  });
});
