import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProviderName } from '../../src/market/model.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';
import { onlyUpstreams, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { shiftedClock } from '../helpers/manual-clock.js';
import { firstSseEvents } from '../helpers/yoga-stream.js';

// Issue #11 item 6, end to end: every value type says where it came from (`source`), when it was true
// (`asOf`) and whether the cache served it past its TTL (`stale`), in queries and in priceUpdated
// events, and extensions.freshness agrees. The gateway's clock jumps past 2 × TTL and every provider's
// REST endpoints fail, so the cache can only serve what it holds (stale on error): the values must
// come back as they were, with their old asOf, flagged stale. Then the providers recover and the
// values are fresh again. TTLs are long against the test's own run time, so only the jumps age entries.

const TTL = 60_000;
const PAST_TWO_TTLS = 2 * TTL + 30_000;
const DAY = 86_400_000;
const HOUR = 3_600_000;

const ENV = {
  MARKETGRAPH_RESPONSE_CACHE: 'false',
  MARKETGRAPH_TTL_PRICE_MS: String(TTL),
  MARKETGRAPH_TTL_MARKET_MS: String(TTL),
  MARKETGRAPH_TTL_CANDLES_MS: String(TTL),
  MARKETGRAPH_TTL_ONCHAIN_MS: String(TTL),
  MARKETGRAPH_TTL_SIGNALS_MS: String(TTL),
  MARKETGRAPH_CACHE_STALE_MS: String(3_600_000),
  MARKETGRAPH_UPSTREAM_RETRIES: '0',
  MARKETGRAPH_UPSTREAM_DEADLINE_MS: '2000',
  // Each failing round costs several failures; keep the breaker out of this test.
  MARKETGRAPH_BREAKER_THRESHOLD: '1000',
};

interface Freshness {
  asOf: string;
  source: string;
  stale: boolean;
}
interface Answer<T> {
  data: T;
  errors?: unknown[];
  extensions: { freshness: { oldestAsOf: string | null; stale: boolean } };
}

/** Every { asOf, source, stale } object in the answer, wherever it is. */
function servedValues(data: unknown): Freshness[] {
  if (Array.isArray(data)) return data.flatMap(servedValues);
  if (typeof data !== 'object' || data === null) return [];
  const own = 'stale' in data && 'asOf' in data ? [data as Freshness] : [];
  return [...own, ...Object.values(data).flatMap(servedValues)];
}

async function ask<T>(t: TestGateway, query: string): Promise<Answer<T>> {
  const res = await t.query<T>(query);
  const body = res.body as unknown as Answer<T>;
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  return body;
}

/** extensions.freshness says what the values say: stale when one is, and no younger than the oldest. */
function expectExtensionsAgree(answer: Answer<unknown>) {
  const values = servedValues(answer.data);
  expect(values.length).toBeGreaterThan(0);
  expect(answer.extensions.freshness.stale).toBe(values.some((v) => v.stale));
  const oldest = Math.min(...values.map((v) => Date.parse(v.asOf)));
  expect(Date.parse(answer.extensions.freshness.oldestAsOf!)).toBeLessThanOrEqual(oldest);
}

/** The answer with every `stale` flag replaced, to compare two answers' data otherwise. */
function withStale(data: unknown, stale: boolean): unknown {
  return JSON.parse(JSON.stringify(data), (key, value) => (key === 'stale' ? stale : value));
}

async function failing<T>(sandbox: Sandbox, providers: ProviderName[], run: () => Promise<T>): Promise<T> {
  for (const p of providers) sandbox.faults.set(p, '*', { kind: 'server-error', status: 503 });
  try {
    return await run();
  } finally {
    sandbox.faults.clear();
  }
}

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ quotas: false });
});
afterAll(async () => {
  await sandbox.close();
});

describe('prices, price history and on-chain metrics', () => {
  const clock = shiftedClock();
  let t: TestGateway;
  // Binance is off so the first priceUpdated event is the cached REST price, not a stream frame.
  const PROVIDERS: ProviderName[] = ['coingecko', 'mempool', 'defillama'];
  beforeAll(async () => {
    t = await startTestGateway({
      sandboxInstance: sandbox,
      env: { ...onlyUpstreams('coingecko', 'mempool', 'defillama'), ...ENV },
      now: clock.now,
    });
  });
  afterAll(async () => {
    await t.close();
  });

  const from = Math.floor((Date.now() - 3 * DAY) / HOUR) * HOUR;
  const to = from + DAY;
  const QUERY = `{
    asset(id: "bitcoin") {
      price { value asOf source stale }
      priceHistory(from: "${new Date(from).toISOString()}", to: "${new Date(to).toISOString()}") {
        asOf source stale points { at value asOf source stale }
      }
      priceAt(at: "${new Date(to).toISOString()}") { at value asOf source stale }
    }
    onChainMetrics(chain: "bitcoin", kinds: [HASHRATE, BLOCK_HEIGHT]) {
      kind value asOf source stale history(from: "${new Date(Date.now() - 3 * DAY).toISOString()}") { at value asOf source stale }
    }
  }`;
  interface Data {
    asset: {
      price: Freshness & { value: number };
      priceHistory: Freshness & { points: Array<Freshness & { at: string; value: number }> };
      priceAt: Freshness & { at: string; value: number };
    };
    onChainMetrics: Array<Freshness & { kind: string; value: number; history: Freshness[] | null }>;
  }
  const PRICE_UPDATED = 'subscription { priceUpdated(assetIds: ["bitcoin"]) { value asOf source stale } }';
  const firstEvent = async () => {
    const [event] = await firstSseEvents(t.gateway, { query: PRICE_UPDATED }, 1);
    expect(event?.errors).toBeUndefined();
    return (event!.data as { priceUpdated: Freshness & { value: number } }).priceUpdated;
  };

  it('says stale: false with the provider and time of each value while the cache is fresh', async () => {
    const before = clock.now();
    const fresh = await ask<Data>(t, QUERY);
    const after = clock.now();
    const { asset, onChainMetrics } = fresh.data;
    expect(asset.price).toMatchObject({ source: 'COINGECKO', stale: false });
    expect(asset.priceHistory).toMatchObject({ source: 'COINGECKO', stale: false });
    expect(asset.priceHistory.points.length).toBeGreaterThan(10);
    // A point is as of its answer's fetch (on the gateway's clock), not of its own `at`; priceAt reads
    // a range of its own, fetched apart.
    for (const point of asset.priceHistory.points) {
      expect(point).toMatchObject({ source: 'COINGECKO', stale: false, asOf: asset.priceHistory.asOf });
    }
    expect(asset.priceAt).toMatchObject({ source: 'COINGECKO', stale: false });
    for (const fetchedAt of [asset.priceHistory.asOf, asset.priceAt.asOf].map(Date.parse)) {
      expect(fetchedAt).toBeGreaterThanOrEqual(before);
      expect(fetchedAt).toBeLessThanOrEqual(after);
    }
    expect(onChainMetrics.map((m) => m.kind).sort()).toEqual(['BLOCK_HEIGHT', 'HASHRATE']);
    for (const metric of onChainMetrics) {
      expect(metric).toMatchObject({ source: 'MEMPOOL', stale: false });
      for (const point of metric.history ?? []) {
        expect(point).toMatchObject({ source: 'MEMPOOL', stale: false, asOf: metric.asOf });
      }
    }
    expect(onChainMetrics.find((m) => m.kind === 'HASHRATE')!.history!.length).toBeGreaterThan(0);
    expectExtensionsAgree(fresh);

    const event = await firstEvent();
    expect(event).toEqual({ ...asset.price, stale: false });
  });

  it('serves the same values with their true asOf and stale: true when every refetch fails, then fresh again', async () => {
    const fresh = await ask<Data>(t, QUERY);
    // Subscribing once loads the asset catalogue (its lifetime is the metadata TTL, not jumped past).
    expect((await firstEvent()).stale).toBe(false);
    clock.advance(PAST_TWO_TTLS);
    const { stale, event } = await failing(sandbox, PROVIDERS, async () => {
      sandbox.resetCounts();
      const stale = await ask<Data>(t, QUERY);
      const event = await firstEvent();
      // The refetches were made, and failed: what came back is the cache's.
      for (const p of PROVIDERS) expect(sandbox.count(p), p).toBeGreaterThan(0);
      return { stale, event };
    });
    expect(stale.data).toEqual(withStale(fresh.data, true));
    expect(servedValues(stale.data).every((v) => v.stale)).toBe(true);
    expectExtensionsAgree(stale);
    expect(stale.extensions.freshness.stale).toBe(true);
    // The live event carries the same stale cached price, flagged, with the provider's time.
    expect(event).toEqual({ ...fresh.data.asset.price, stale: true });

    // The providers recover: past two TTLs again, everything is refetched and fresh.
    clock.advance(PAST_TWO_TTLS);
    const recovered = await ask<Data>(t, QUERY);
    expect(servedValues(recovered.data).every((v) => !v.stale)).toBe(true);
    expect(Date.parse(recovered.data.asset.priceHistory.asOf)).toBeGreaterThan(
      Date.parse(fresh.data.asset.priceHistory.asOf),
    );
    expectExtensionsAgree(recovered);
    expect((await firstEvent()).stale).toBe(false);
  });

  it("takes chain TVL's value and asOf from one DefiLlama answer: the latest point of the chain's history", async () => {
    const res = await ask<{
      onChainMetrics: Array<Freshness & { value: number; history: Array<{ at: string; value: number }> }>;
    }>(
      t,
      `{ onChainMetrics(chain: "ethereum", kinds: [TVL]) { value asOf source stale history(from: "${new Date(Date.now() - 3 * DAY).toISOString()}") { at value } } }`,
    );
    const [tvl] = res.data.onChainMetrics;
    const base = sandbox.endpoints.defillama!.url;
    const history = (await (await fetch(`${base}/v2/historicalChainTvl/Ethereum`)).json()) as Array<{
      date: number;
      tvl: number;
    }>;
    const chains = (await (await fetch(`${base}/v2/chains`)).json()) as Array<{ name: string; tvl: number }>;
    const last = history.at(-1)!;
    expect(tvl).toMatchObject({
      source: 'DEFILLAMA',
      stale: false,
      value: last.tvl,
      asOf: new Date(last.date * 1000).toISOString(),
    });
    expect(tvl!.history.at(-1)).toEqual({ at: tvl!.asOf, value: tvl!.value });
    // The chain list's current figure is another answer's, at another time: not the one paired here.
    expect(chains.find((c) => c.name === 'Ethereum')!.tvl).not.toBe(last.tvl);
  });
});

describe('candles and signals', () => {
  const clock = shiftedClock();
  let t: TestGateway;
  const PROVIDERS: ProviderName[] = ['binance', 'coingecko'];
  beforeAll(async () => {
    t = await startTestGateway({
      sandboxInstance: sandbox,
      env: { ...onlyUpstreams('binance', 'coingecko'), ...ENV },
      now: clock.now,
    });
  });
  afterAll(async () => {
    await t.close();
  });

  const QUERY = `{
    asset(id: "bitcoin") {
      candles(interval: D1, from: "${new Date(Date.now() - 5 * DAY).toISOString()}") {
        edges { node { openTime closeTime close asOf source stale } }
      }
      signals(interval: D1, kinds: [RSI, SMA_CROSSOVER]) { kind direction generatedAt asOf source stale }
    }
  }`;
  interface Data {
    asset: {
      candles: {
        edges: Array<{ node: Freshness & { openTime: string; closeTime: string; close: number } }>;
      };
      signals: Array<Freshness & { kind: string; generatedAt: string }>;
    };
  }

  it('says each candle and signal is as of its data, stale: false while fresh and true when served after a failed refetch', async () => {
    const before = clock.now();
    const fresh = await ask<Data>(t, QUERY);
    const after = clock.now();
    const candles = fresh.data.asset.candles.edges.map((e) => e.node);
    expect(candles.length).toBeGreaterThanOrEqual(5);
    // Every candle is as of its window's fetch, on the gateway's clock (the open one changes after it).
    const fetchedAt = candles[0]!.asOf;
    for (const c of candles) expect(c).toMatchObject({ source: 'BINANCE', stale: false, asOf: fetchedAt });
    expect(Date.parse(fetchedAt)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(fetchedAt)).toBeLessThanOrEqual(after);
    const open = candles.at(-1)!;
    expect(Date.parse(open.closeTime)).toBeGreaterThan(Date.parse(fetchedAt));
    // Signals read the closed candles (generatedAt: the last one's close), as of their fetch: the
    // signals' window and the candles' overlap, so one fetch served both.
    const signals = fresh.data.asset.signals;
    expect(signals.map((s) => s.kind).sort()).toEqual(['RSI', 'SMA_CROSSOVER']);
    for (const s of signals) {
      expect(s).toMatchObject({
        source: 'COMPUTED',
        stale: false,
        asOf: fetchedAt,
        generatedAt: open.openTime,
      });
    }
    expectExtensionsAgree(fresh);

    clock.advance(PAST_TWO_TTLS);
    const stale = await failing(sandbox, PROVIDERS, async () => {
      sandbox.resetCounts();
      const answer = await ask<Data>(t, QUERY);
      expect(sandbox.count('binance')).toBeGreaterThan(0);
      return answer;
    });
    expect(stale.data).toEqual(withStale(fresh.data, true));
    expect(servedValues(stale.data).every((v) => v.stale)).toBe(true);
    expectExtensionsAgree(stale);

    clock.advance(PAST_TWO_TTLS);
    const recovered = await ask<Data>(t, QUERY);
    expect(servedValues(recovered.data).every((v) => !v.stale)).toBe(true);
    expectExtensionsAgree(recovered);
  });
});

describe('extensions.freshness after AUTO fails over', () => {
  const clock = shiftedClock();
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({
      sandboxInstance: sandbox,
      env: { ...onlyUpstreams('coingecko', 'binance'), ...ENV },
      now: clock.now,
    });
  });
  afterAll(async () => {
    await t.close();
  });

  it("is not stale when the stale quote it read was set aside for another provider's fresh one", async () => {
    const byProvider = `{ asset(id: "ethereum") {
      coingecko: price(source: COINGECKO) { value asOf source stale }
    } }`;
    const auto = '{ asset(id: "ethereum") { price { value asOf source stale } } }';
    await ask(t, byProvider);
    // Binance's quotes need the asset catalogue's pairs (loaded once, for the metadata TTL).
    await ask(t, '{ asset(id: "ethereum") { price(source: BINANCE) { value } } }');
    clock.advance(PAST_TWO_TTLS);
    const answers = await failing(sandbox, ['coingecko'], async () => ({
      auto: await ask<{ asset: { price: Freshness } }>(t, auto),
      named: await ask<{ asset: { coingecko: Freshness } }>(t, byProvider),
    }));
    // AUTO read CoinGecko's quote served stale on error, and answered with Binance's fresh one instead.
    expect(answers.auto.data.asset.price).toMatchObject({ source: 'BINANCE', stale: false });
    expectExtensionsAgree(answers.auto);
    expect(answers.auto.extensions.freshness.stale).toBe(false);
    // Asked for CoinGecko's quote by name, the stale value is the answer, and the extensions say so.
    expect(answers.named.data.asset.coingecko).toMatchObject({ source: 'COINGECKO', stale: true });
    expectExtensionsAgree(answers.named);
  });
});
