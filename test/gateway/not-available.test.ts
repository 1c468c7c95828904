import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

// What no provider offers is NOT_AVAILABLE, not an outage, and says what is offered; what another
// provider can serve is served by it; an unknown asset is NOT_FOUND. End to end over the sandbox,
// counting what reached each provider.

type GqlError = { message: string; path?: unknown[]; extensions?: Record<string, unknown> };

const DAY = 86_400_000;
let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway();
  // The catalogues once, so the counts below are the candle and signal calls alone.
  await t.query(
    '{ asset(by: { id: "bitcoin" }) { id } signals(assetIds: ["tether"], interval: M15) { kind } }',
  );
});
afterAll(() => t.close());

function errorAt(errors: GqlError[] | undefined, path: unknown[]): GqlError | undefined {
  return errors?.find((e) => JSON.stringify(e.path) === JSON.stringify(path));
}

const candles = (args: string) =>
  `{ asset(by: { id: "bitcoin" }) { candles(${args}) { edges { node { openTime closeTime source } } } } sources { name } }`;

interface CandleData {
  asset: {
    candles: { edges: Array<{ node: { openTime: string; closeTime: string; source: string } }> } | null;
  };
  sources: Array<{ name: string }>;
}

describe('candles no provider offers', () => {
  it('H1 in EUR older than CoinGecko reaches: NOT_AVAILABLE with the range that is, and no call', async () => {
    t.sandbox.resetCounts();
    const from = new Date(Date.now() - 5 * DAY).toISOString();
    const res = await t.query<CandleData>(candles(`interval: H1, currency: EUR, from: "${from}"`));
    expect(res.body.data!.asset.candles).toBeNull();
    expect(res.body.data!.sources.length).toBeGreaterThan(0);
    const error = errorAt(res.body.errors, ['asset', 'candles']);
    expect(error?.extensions?.code).toBe('NOT_AVAILABLE');
    const available = error?.extensions?.available as {
      intervals: string[];
      currencies: string[];
      from: string;
    };
    expect(available.intervals).toEqual(['M30', 'H1', 'H4', 'D1']);
    expect(available.currencies).toContain('EUR');
    expect(Date.parse(available.from)).toBeGreaterThan(Date.now() - 2 * DAY - 3_600_000);
    expect(t.sandbox.count('coingecko', 'coins/ohlc') + t.sandbox.count('binance', 'klines')).toBe(0);
  });

  it('W1 in EUR: NOT_AVAILABLE saying Bitcoin has it in USD', async () => {
    const res = await t.query<CandleData>(candles('interval: W1, currency: EUR'));
    const error = errorAt(res.body.errors, ['asset', 'candles']);
    expect(error?.extensions).toEqual({
      code: 'NOT_AVAILABLE',
      available: { intervals: ['M30', 'H1', 'H4', 'D1'], currencies: ['USD'] },
    });
  });

  it('H1 in EUR for the last day is served by CoinGecko, its 30 min candles merged into hours', async () => {
    t.sandbox.resetCounts();
    const from = new Date(Date.now() - 20 * 3_600_000).toISOString();
    const res = await t.query<CandleData>(candles(`interval: H1, currency: EUR, from: "${from}"`));
    expect(res.body.errors).toBeUndefined();
    const rows = res.body.data!.asset.candles!.edges.map((e) => e.node);
    expect(rows.length).toBeGreaterThanOrEqual(20);
    expect(rows.every((c) => c.source === 'COINGECKO')).toBe(true);
    expect(rows.every((c) => Date.parse(c.closeTime) - Date.parse(c.openTime) === 3_600_000)).toBe(true);
    expect(t.sandbox.count('coingecko', 'coins/ohlc')).toBe(1);
  });
});

interface SignalData {
  signals: Array<{ kind: string; source: string } | null> | null;
}

describe('signals', () => {
  it('an unknown asset id is NOT_FOUND at its entry; the known asset still has its signals', async () => {
    const res = await t.query<SignalData>(
      '{ signals(assetIds: ["no-such-coin", "bitcoin"], interval: H4) { kind source } }',
    );
    const errors = (res.body.errors ?? []) as GqlError[];
    expect(errors.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    expect(errors[0]!.message).toContain('"no-such-coin"');
    expect(errors[0]!.path).toEqual(['signals', 0]);
    expect(res.body.data!.signals![0]).toBeNull();
    expect(res.body.data!.signals!.slice(1).length).toBeGreaterThan(0);
    expect(res.body.data!.signals!.slice(1).every((s) => s?.source === 'COMPUTED')).toBe(true);
  });

  it('D1 signals of an asset without a Binance pair are computed from the days CoinGecko has', async () => {
    t.sandbox.resetCounts();
    const res = await t.query<SignalData>('{ signals(assetIds: ["tether"], interval: D1) { kind source } }');
    expect(res.body.errors).toBeUndefined();
    const kinds = res.body.data!.signals!.map((s) => s!.kind);
    // Thirty daily candles: enough for RSI, too few for the 50-day SMA crossover.
    expect(kinds).toContain('RSI');
    expect(kinds).not.toContain('SMA_CROSSOVER');
    expect(t.sandbox.count('binance', 'klines')).toBe(0);
    expect(t.sandbox.count('coingecko', 'coins/ohlc')).toBe(1);
  });

  it('signals at an interval no provider has for the asset: a NOT_AVAILABLE entry, not an outage', async () => {
    const res = await t.query<SignalData>('{ signals(assetIds: ["tether"], interval: M15) { kind } }');
    const errors = (res.body.errors ?? []) as GqlError[];
    expect(errors.map((e) => [e.extensions?.code, e.path])).toEqual([['NOT_AVAILABLE', ['signals', 0]]]);
  });
});
