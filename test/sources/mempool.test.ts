import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamError } from '../../src/errors.js';
import type { Http } from '../../src/http/client.js';
import type { Sandbox } from '../../src/sandbox/server.js';
import { createMempoolSource, type HashratePeriod } from '../../src/sources/mempool.js';
import { T } from '../helpers/clock.js';
import {
  createFetchHttp,
  createLiteralHttp,
  providerConfig,
  type RecordingFetchHttp,
} from '../helpers/fetch-http.js';
import { startProviderSandbox } from '../helpers/sandbox-http.js';
import { buildConfig, makeHttp } from '../http/helpers.js';

// The mempool.space source against the sandbox dialect (over real loopback HTTP) and against literal
// bodies in mempool's documented shapes, quirks included: the text/plain tip height, seconds next to
// milliseconds in one object, older bodies without previousTime/expectedBlocks. The Http doubles
// (test/helpers/fetch-http.ts) are minimal: fetch, the call's schema (JSON or raw text), 4xx/5xx as
// UpstreamError; literal text bodies must be strings.

describe('mempool source over the sandbox dialect', () => {
  let sandbox: Sandbox;
  let http: RecordingFetchHttp;
  let source: ReturnType<typeof createMempoolSource>;
  let base: string;

  beforeAll(async () => {
    ({ sandbox, base } = await startProviderSandbox('mempool', { quotas: false, now: () => T }));
    const config = providerConfig('mempool', base);
    http = createFetchHttp(config);
    source = createMempoolSource({ http, config, now: () => T });
  });

  afterAll(async () => {
    await sandbox?.close();
  });

  it('turns recommended fees into five sat/vB metrics on bitcoin', async () => {
    const fees = await source.fees();
    expect(fees.map((f) => f.kind)).toEqual([
      'FEE_FASTEST',
      'FEE_HALF_HOUR',
      'FEE_HOUR',
      'FEE_ECONOMY',
      'FEE_MINIMUM',
    ]);
    for (const fee of fees) {
      expect(fee).toMatchObject({
        chain: 'bitcoin',
        unit: 'sat/vB',
        source: 'mempool',
        asOf: new Date(T),
        history: null,
      });
      expect(Number.isInteger(fee.value) && fee.value >= 1).toBe(true);
    }
    for (let i = 1; i < fees.length; i++) expect(fees[i - 1]!.value).toBeGreaterThanOrEqual(fees[i]!.value);
  });

  it('reads the tip height from its text/plain body', async () => {
    const tip = await source.tipHeight();
    expect(http.calls.at(-1)).toMatchObject({ path: '/blocks/tip/height', parse: 'text' });
    const raw = await (await fetch(`${base}/blocks/tip/height`)).text();
    expect(tip).toMatchObject({ kind: 'BLOCK_HEIGHT', value: Number(raw), unit: 'blocks', chain: 'bitcoin' });
  });

  it('reads hashrate and difficulty history with second timestamps as Dates', async () => {
    const { hashrate, difficulty, epochs } = await source.hashrate('1m');
    expect(http.calls.at(-1)!.path).toBe('/v1/mining/hashrate/1m');
    expect(hashrate).toMatchObject({ kind: 'HASHRATE', unit: 'H/s', chain: 'bitcoin' });
    expect(hashrate.value).toBeGreaterThan(3e20);
    expect(hashrate.history!.length).toBe(30);
    for (const point of hashrate.history!) {
      expect(point.at.getTime()).toBeGreaterThan(T - 31 * 86_400_000);
      expect(point.at.getTime()).toBeLessThanOrEqual(T);
    }
    expect(difficulty.kind).toBe('DIFFICULTY');
    expect(difficulty.value).toBe(epochs.at(-1)!.difficulty);
    expect(difficulty.history!.map((p) => p.value)).toEqual(epochs.map((e) => e.difficulty));
    for (const epoch of epochs) {
      expect(epoch.height % 2016).toBe(0);
      expect(Math.abs(epoch.changePercent)).toBeLessThan(33);
    }
  });

  it('refuses an unknown hashrate period without calling', async () => {
    const before = http.calls.length;
    await expect(source.hashrate('5y' as HashratePeriod)).rejects.toThrow(/period must be one of 24h\|3d/);
    expect(http.calls.length).toBe(before);
  });

  it('summarises the mempool into metrics plus its fee histogram', async () => {
    const snapshot = await source.mempool();
    expect(snapshot.metrics.map((m) => [m.kind, m.unit])).toEqual([
      ['MEMPOOL_SIZE', 'vB'],
      ['MEMPOOL_TX_COUNT', 'tx'],
      ['MEMPOOL_TOTAL_FEE', 'sat'],
    ]);
    expect(snapshot.metrics[0]!.value).toBe(snapshot.vsize);
    expect(snapshot.feeHistogram.reduce((s, b) => s + b.vsize, 0)).toBe(snapshot.vsize);
    expect(snapshot.feeHistogram[0]!.feeRate).toBeGreaterThan(snapshot.feeHistogram.at(-1)!.feeRate);
  });

  it('converts the difficulty adjustment’s mixed units and agrees with the tip', async () => {
    const [adjustment, tip, history] = await Promise.all([
      source.difficultyAdjustment(),
      source.tipHeight(),
      source.hashrate('1m'),
    ]);
    expect(adjustment.metric).toMatchObject({
      kind: 'NEXT_DIFFICULTY_ADJUSTMENT',
      unit: '%',
      asOf: new Date(T),
    });
    expect(adjustment.metric.value).toBe(adjustment.estimatedChangePercent);
    expect(adjustment.estimatedRetargetAt.getTime()).toBe(T + adjustment.remainingTimeMs);
    expect(adjustment.nextRetargetHeight - adjustment.remainingBlocks).toBe(tip.value);
    expect(adjustment.previousRetargetAt).toEqual(history.epochs.at(-1)!.at);
    expect(adjustment.averageBlockTimeMs).toBeGreaterThan(400_000);
    expect(adjustment.expectedBlocks).toBeGreaterThan(0);
  });

  it('reads BTC prices in seven currencies, dated in seconds', async () => {
    const prices = await source.btcPrices();
    expect(prices.map((p) => p.currency).sort()).toEqual(['aud', 'cad', 'chf', 'eur', 'gbp', 'jpy', 'usd']);
    const usd = prices.find((p) => p.currency === 'usd')!;
    expect(usd).toMatchObject({ assetId: 'bitcoin', source: 'mempool', stale: false, change24h: null });
    expect(usd.asOf.getTime()).toBe(Math.floor(T / 1000) * 1000);
    expect(usd.value).toBe(Math.round(sandbox.market.price('bitcoin', 'usd', T)!));
  });
});

describe('mempool source through the real http layer', () => {
  let sandbox: Sandbox;
  let http: Http;
  let source: ReturnType<typeof createMempoolSource>;

  beforeAll(async () => {
    let base: string;
    ({ sandbox, base } = await startProviderSandbox('mempool', { quotas: false, now: () => T }));
    const config = buildConfig({ MARKETGRAPH_UPSTREAM_RETRIES: '0' }, { mempool: base });
    http = makeHttp(config).http;
    source = createMempoolSource({ http, config: config.providers.mempool, now: () => T });
  });

  afterAll(async () => {
    await http?.close();
    await sandbox?.close();
  });

  it('reads the text/plain tip height', async () => {
    const tip = await source.tipHeight();
    expect(Number.isInteger(tip.value) && tip.value > 840_000).toBe(true);
  });

  it('surfaces the nginx HTML 429 as UPSTREAM_RATE_LIMITED without a Retry-After', async () => {
    sandbox.faults.set('mempool', 'fees/recommended', { kind: 'rate-limit', times: 1 });
    const error = await source.fees().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).code).toBe('UPSTREAM_RATE_LIMITED');
    expect((error as UpstreamError).message).toMatch(/HTML/);
    expect((error as UpstreamError).details.retryAfter).toBeUndefined();
  });
});

describe('mempool source over literal mempool.space bodies', () => {
  const config = providerConfig('mempool', 'http://unused');

  it('parses the tip height text, tolerating a trailing newline', async () => {
    const http = createLiteralHttp({ 'blocks/tip/height': '875602\n' });
    const tip = await createMempoolSource({ http, config, now: () => T }).tipHeight();
    expect(tip).toEqual({
      chain: 'bitcoin',
      kind: 'BLOCK_HEIGHT',
      value: 875_602,
      unit: 'blocks',
      asOf: new Date(T),
      source: 'mempool',
      stale: false,
      history: null,
    });
  });

  it('rejects a tip height that is not digits (an HTML page, JSON)', async () => {
    for (const body of ['<html><body>502 Bad Gateway</body></html>', '{"height":875602}', '']) {
      const http = createLiteralHttp({ 'blocks/tip/height': body });
      await expect(createMempoolSource({ http, config }).tipHeight()).rejects.toThrow();
    }
  });

  it('reads ms and s fields of the difficulty adjustment', async () => {
    const http = createLiteralHttp({
      'difficulty-adjustment': {
        progressPercent: 44.39,
        difficultyChange: 0.9787,
        estimatedRetargetDate: 1_717_733_436_000,
        remainingBlocks: 1121,
        remainingTime: 668_493_000,
        previousRetarget: -5.0112,
        previousTime: 1_716_473_016,
        nextRetargetHeight: 846_720,
        timeAvg: 596_333,
        adjustedTimeAvg: 596_333,
        timeOffset: 0,
        expectedBlocks: 899.5,
      },
    });
    const adjustment = await createMempoolSource({ http, config, now: () => T }).difficultyAdjustment();
    expect(adjustment).toMatchObject({
      progressPercent: 44.39,
      estimatedChangePercent: 0.9787,
      estimatedRetargetAt: new Date(1_717_733_436_000),
      remainingBlocks: 1121,
      remainingTimeMs: 668_493_000,
      previousChangePercent: -5.0112,
      previousRetargetAt: new Date(1_716_473_016_000),
      nextRetargetHeight: 846_720,
      averageBlockTimeMs: 596_333,
      expectedBlocks: 899.5,
    });
    expect(adjustment.estimatedRetargetAt.toISOString()).toBe('2024-06-07T04:10:36.000Z');
  });

  it('accepts the older difficulty-adjustment body and a previousTime in ms', async () => {
    const older = {
      progressPercent: 10,
      difficultyChange: -1.5,
      estimatedRetargetDate: 1_717_733_436_000,
      remainingBlocks: 1814,
      remainingTime: 1_088_400_000,
      previousRetarget: 2.5,
      nextRetargetHeight: 846_720,
      timeAvg: 600_000,
    };
    const withoutTime = await createMempoolSource({
      http: createLiteralHttp({ 'difficulty-adjustment': older }),
      config,
    }).difficultyAdjustment();
    expect(withoutTime).toMatchObject({ previousRetargetAt: null, expectedBlocks: null });
    const msTime = await createMempoolSource({
      http: createLiteralHttp({ 'difficulty-adjustment': { ...older, previousTime: 1_716_473_016_000 } }),
      config,
    }).difficultyAdjustment();
    expect(msTime.previousRetargetAt).toEqual(new Date(1_716_473_016_000));
  });

  it('maps hashrate bodies with adjustment ratios to percent changes', async () => {
    const http = createLiteralHttp({
      'mining/hashrate': {
        hashrates: [
          { timestamp: 1_716_508_800, avgHashrate: 6.123e20 },
          { timestamp: 1_716_595_200, avgHashrate: 6.201e20 },
        ],
        difficulty: [
          { time: 1_716_473_016, height: 844_704, difficulty: 83_675_262_295_169.9, adjustment: 0.94988 },
        ],
        currentHashrate: 6.3e20,
        currentDifficulty: 83_675_262_295_169.9,
      },
    });
    const { hashrate, difficulty, epochs } = await createMempoolSource({
      http,
      config,
      now: () => T,
    }).hashrate('3d');
    expect(hashrate.value).toBe(6.3e20);
    expect(hashrate.history).toEqual([
      { at: new Date('2024-05-24T00:00:00Z'), value: 6.123e20 },
      { at: new Date('2024-05-25T00:00:00Z'), value: 6.201e20 },
    ]);
    expect(difficulty.value).toBe(83_675_262_295_169.9);
    expect(epochs[0]!.at).toEqual(new Date(1_716_473_016_000));
    expect(epochs[0]!.changePercent).toBeCloseTo(-5.012, 3);
  });

  it('maps the mempool body and drops nothing from the histogram', async () => {
    const http = createLiteralHttp({
      mempool: {
        count: 13_941,
        vsize: 5_764_418,
        total_fee: 23_453_345,
        fee_histogram: [
          [53.01, 102_131],
          [38.56, 110_990],
          [1.0, 5_551_297],
        ],
      },
    });
    const snapshot = await createMempoolSource({ http, config, now: () => T }).mempool();
    expect(snapshot).toMatchObject({
      txCount: 13_941,
      vsize: 5_764_418,
      totalFeeSat: 23_453_345,
      asOf: new Date(T),
    });
    expect(snapshot.feeHistogram).toEqual([
      { feeRate: 53.01, vsize: 102_131 },
      { feeRate: 38.56, vsize: 110_990 },
      { feeRate: 1, vsize: 5_551_297 },
    ]);
  });

  it('maps /v1/prices and ignores fields that are not currencies', async () => {
    const http = createLiteralHttp({
      prices: {
        time: 1_717_243_203,
        USD: 67_512,
        EUR: 62_187,
        GBP: 52_981,
        CAD: 92_350,
        CHF: 61_020,
        AUD: 101_540,
        JPY: 10_600_000,
        note: 'x',
      },
    });
    const prices = await createMempoolSource({ http, config }).btcPrices();
    expect(prices).toHaveLength(7);
    expect(prices.find((p) => p.currency === 'eur')).toEqual({
      assetId: 'bitcoin',
      currency: 'eur',
      value: 62_187,
      change24h: null,
      asOf: new Date(1_717_243_203_000),
      source: 'mempool',
      stale: false,
    });
  });

  it('rejects fee bodies missing a level', async () => {
    const http = createLiteralHttp({ 'fees/recommended': { fastestFee: 12, halfHourFee: 10, hourFee: 8 } });
    await expect(createMempoolSource({ http, config }).fees()).rejects.toThrow();
  });
});
