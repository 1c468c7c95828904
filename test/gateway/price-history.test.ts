import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

// Issue #14 part 3: past prices from CoinGecko market_chart/range (Asset.priceHistory, Asset.priceAt),
// checked against the sandbox market, cached, and coded when refused or when the provider fails.

const HOUR = 3_600_000;
interface Point {
  at: string;
  value: number;
  currency: string;
  source: string;
  stale: boolean;
}
type HistoryAnswer = {
  asset: { priceHistory: { points: Point[]; source: string; asOf: string; stale: boolean } | null };
};
const HISTORY = `query H($id: ID!, $from: DateTime!, $to: DateTime, $currency: Currency) {
  asset(by: { id: $id }) { priceHistory(from: $from, to: $to, currency: $currency) { source asOf stale points { at value currency source stale } } }
}`;
const AT = `query A($id: ID!, $at: DateTime!) { asset(by: { id: $id }) { priceAt(at: $at) { at value source stale } } }`;

describe('price history', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway();
  });
  afterAll(async () => t?.close());

  it('answers the points of a range as the sandbox market has them, then serves them from the cache', async () => {
    const to = t.sandbox.market.now() - 2 * HOUR;
    const from = to - 48 * HOUR;
    t.sandbox.resetCounts();
    const vars = { id: 'bitcoin', from: new Date(from).toISOString(), to: new Date(to).toISOString() };
    const answer = await t.query<HistoryAnswer>(HISTORY, vars);
    expect(answer.body.errors).toBeUndefined();
    const history = answer.body.data!.asset.priceHistory!;
    expect(history).toMatchObject({ source: 'COINGECKO', stale: false });
    // Two days: hourly points, all inside the range.
    expect(history.points.length).toBeGreaterThanOrEqual(47);
    expect(history.points.length).toBeLessThanOrEqual(49);
    for (const point of history.points) {
      const at = Date.parse(point.at);
      expect(at).toBeGreaterThanOrEqual(from);
      expect(at).toBeLessThanOrEqual(to);
      expect(point).toMatchObject({ currency: 'USD', source: 'COINGECKO', stale: false });
      expect(Math.abs(point.value / t.sandbox.market.priceUsd('bitcoin', at) - 1)).toBeLessThan(0.01);
    }
    const ats = history.points.map((p) => Date.parse(p.at));
    expect(ats).toEqual([...ats].sort((a, b) => a - b));
    expect(t.sandbox.count('coingecko', 'coins/market_chart/range')).toBe(1);
    t.sandbox.resetCounts();
    expect((await t.query<HistoryAnswer>(HISTORY, vars)).body.data).toEqual(answer.body.data);
    expect(t.sandbox.count('coingecko', 'coins/market_chart/range')).toBe(0);
  });

  it('answers the price at a past instant in any currency', async () => {
    const at = t.sandbox.market.now() - 3 * 24 * HOUR;
    const answer = await t.query<{ asset: { priceAt: Point } }>(AT, {
      id: 'ethereum',
      at: new Date(at).toISOString(),
    });
    expect(answer.body.errors).toBeUndefined();
    const point = answer.body.data!.asset.priceAt;
    expect(Date.parse(point.at)).toBeLessThanOrEqual(at);
    expect(Date.parse(point.at)).toBeGreaterThan(at - HOUR);
    expect(Math.abs(point.value / t.sandbox.market.priceUsd('ethereum', at) - 1)).toBeLessThan(0.01);
    const eur = await t.query<HistoryAnswer>(HISTORY, {
      id: 'ethereum',
      from: new Date(at - 2 * HOUR).toISOString(),
      to: new Date(at).toISOString(),
      currency: 'EUR',
    });
    const last = eur.body.data!.asset.priceHistory!.points.at(-1)!;
    expect(last.currency).toBe('EUR');
    const truth = t.sandbox.market.price('ethereum', 'eur', Date.parse(last.at))!;
    expect(Math.abs(last.value / truth - 1)).toBeLessThan(0.01);
  });

  it('refuses ranges it cannot serve with BAD_USER_INPUT, before any upstream call', async () => {
    t.sandbox.resetCounts();
    const now = t.sandbox.market.now();
    const cases = [
      { from: new Date(now - HOUR).toISOString(), to: new Date(now - 2 * HOUR).toISOString() },
      { from: new Date(now - 400 * 24 * HOUR).toISOString() },
      { from: new Date(now + HOUR).toISOString() },
    ];
    for (const range of cases) {
      const answer = await t.query<HistoryAnswer>(HISTORY, { id: 'bitcoin', ...range });
      expect(answer.body.data!.asset.priceHistory).toBeNull();
      expect(answer.body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'from' });
    }
    const future = await t.query(AT, { id: 'bitcoin', at: new Date(now + HOUR).toISOString() });
    expect(future.body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'at' });
    expect(t.sandbox.count('coingecko', 'coins/market_chart/range')).toBe(0);
  });

  it('a failing provider is a coded upstream error, never NOT_FOUND, and is not cached', async () => {
    const at = t.sandbox.market.now() - 10 * 24 * HOUR;
    const vars = { id: 'solana', at: new Date(at).toISOString() };
    t.sandbox.faults.set('coingecko', 'coins/market_chart/range', {
      kind: 'server-error',
      status: 503,
      times: 10,
    });
    const failed = await t.query<{ asset: { priceAt: Point | null } }>(AT, vars);
    expect(failed.body.data!.asset.priceAt).toBeNull();
    expect(failed.body.errors![0]!.extensions!.code).toBe('UPSTREAM_UNAVAILABLE');
    t.sandbox.faults.clear();
    const again = await t.query<{ asset: { priceAt: Point | null } }>(AT, vars);
    expect(again.body.errors).toBeUndefined();
    expect(again.body.data!.asset.priceAt!.value).toBeGreaterThan(0);
  });

  it('OnChainMetric.history keeps the points in [from, to]', async () => {
    type Tvl = { protocolTvl: { history: Array<{ at: string; value: number }> } };
    const all = await t.query<Tvl>('{ protocolTvl(slug: "lido") { history { at value } } }');
    const points = all.body.data!.protocolTvl.history;
    expect(points.length).toBeGreaterThan(10);
    const from = points[3]!.at;
    const to = points[8]!.at;
    const some = await t.query<Tvl>(
      `query W($from: DateTime, $to: DateTime) { protocolTvl(slug: "lido") { history(from: $from, to: $to) { at value } } }`,
      { from, to },
    );
    expect(some.body.data!.protocolTvl.history).toEqual(points.slice(3, 9));
    const open = await t.query<Tvl>(
      `query W($from: DateTime) { protocolTvl(slug: "lido") { history(from: $from) { at value } } }`,
      { from: points.at(-2)!.at },
    );
    expect(open.body.data!.protocolTvl.history).toEqual(points.slice(-2));
    const backwards = await t.query(
      `query W($from: DateTime, $to: DateTime) { protocolTvl(slug: "lido") { history(from: $from, to: $to) { at } } }`,
      { from: to, to: from },
    );
    expect(backwards.body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'from' });
  });
});
