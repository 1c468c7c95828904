import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxRequest } from '../../src/sandbox/dialect.js';
import { createMempoolDialect } from '../../src/sandbox/providers/mempool/dialect.js';
import type { Sandbox } from '../../src/sandbox/server.js';
import { DAY, T } from '../helpers/clock.js';
import {
  fetchReplies,
  fetchReply,
  startProviderSandbox,
  withProviderSandbox,
} from '../helpers/sandbox-http.js';

// The mempool.space dialect over real loopback HTTP on a pinned clock: JSON numbers, the text/plain tip
// height, mixed time units (s vs ms), fees that are monotone integers, a difficulty epoch consistent
// with the tip, and the nginx HTML 429 without Retry-After.

const HALVING_S = 1_713_571_767;

let sandbox: Sandbox;
let base: string;
let clock = T;
let offline: ReturnType<typeof createMempoolDialect>;

const get = (path: string) => fetchReply(`${base}${path}`);

/** The dialect's handler for `endpoint` at another instant, called in-process. */
function handlerAt(endpoint: string, t: number) {
  clock = t;
  const route = offline.routes.find((r) => r.endpoint === endpoint)!;
  return (params: Record<string, string> = {}) => {
    const request: SandboxRequest = { method: 'GET', url: new URL('http://x/'), headers: {}, params };
    return route.handle(request);
  };
}

beforeAll(async () => {
  ({ sandbox, base } = await startProviderSandbox('mempool', { quotas: false, now: () => T }));
  offline = createMempoolDialect({ market: { ...sandbox.market, now: () => clock }, tickMs: 1000 });
});

afterAll(async () => {
  await sandbox?.close();
});

describe('mempool dialect: blocks and fees', () => {
  it('serves the base URL under /api', () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api$/);
  });

  it('answers the tip height as a text/plain integer that follows the clock', async () => {
    const { status, headers, text, body } = await get('/blocks/tip/height');
    expect(status).toBe(200);
    expect(headers.get('content-type')).toMatch(/^text\/plain/);
    expect(text).toMatch(/^\d+$/);
    expect(typeof body).toBe('number');
    const expected = 840_000 + (T / 1000 - HALVING_S) / 600;
    expect(Math.abs(Number(text) - expected) / (Number(text) - 840_000)).toBeLessThan(0.05);
    expect(handlerAt('blocks/tip/height', HALVING_S * 1000)().text).toBe('840000');
    expect(handlerAt('blocks/tip/height', HALVING_S * 1000 - 1)().text).toBe('839999');
    const later = Number(handlerAt('blocks/tip/height', T + DAY)().text);
    expect(later - Number(text)).toBeGreaterThan(100);
    expect(later - Number(text)).toBeLessThan(200);
  });

  it('recommends integer fees, fastest ≥ halfHour ≥ hour ≥ economy ≥ minimum ≥ 1, at any time', async () => {
    const { status, body } = await get('/v1/fees/recommended');
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual([
      'economyFee',
      'fastestFee',
      'halfHourFee',
      'hourFee',
      'minimumFee',
    ]);
    const seen = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const fees = handlerAt('fees/recommended', T + i * 47 * 60_000)().json as Record<string, number>;
      for (const value of Object.values(fees)) expect(Number.isInteger(value)).toBe(true);
      expect(fees.fastestFee).toBeGreaterThanOrEqual(fees.halfHourFee!);
      expect(fees.halfHourFee).toBeGreaterThanOrEqual(fees.hourFee!);
      expect(fees.hourFee).toBeGreaterThanOrEqual(fees.economyFee!);
      expect(fees.economyFee).toBeGreaterThanOrEqual(fees.minimumFee!);
      expect(fees.minimumFee).toBeGreaterThanOrEqual(1);
      seen.add(fees.fastestFee!);
    }
    expect(seen.size).toBeGreaterThan(5);
  });

  it('describes the mempool with a descending fee histogram that adds up', async () => {
    const { status, body } = await get('/mempool');
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual(['count', 'fee_histogram', 'total_fee', 'vsize']);
    for (const key of ['count', 'vsize', 'total_fee'])
      expect(Number.isInteger(body[key]) && body[key] > 0).toBe(true);
    const histogram = body.fee_histogram as Array<[number, number]>;
    expect(histogram.length).toBeGreaterThan(5);
    for (let i = 1; i < histogram.length; i++) expect(histogram[i]![0]).toBeLessThan(histogram[i - 1]![0]);
    expect(histogram.reduce((s, [, v]) => s + v, 0)).toBe(body.vsize);
    expect(body.total_fee).toBe(Math.round(histogram.reduce((s, [r, v]) => s + r * v, 0)));
    const fees = (await get('/v1/fees/recommended')).body;
    expect(histogram[0]![0]).toBeGreaterThanOrEqual(fees.fastestFee - 1);
  });
});

describe('mempool dialect: mining', () => {
  it('serves daily hashrates in seconds and the retargets of the period', async () => {
    const { status, body } = await get('/v1/mining/hashrate/3m');
    expect(status).toBe(200);
    expect(body.hashrates.length).toBeGreaterThanOrEqual(89);
    expect(body.hashrates.length).toBeLessThanOrEqual(91);
    for (const point of body.hashrates) {
      expect(Object.keys(point).sort()).toEqual(['avgHashrate', 'timestamp']);
      expect(point.timestamp % 86_400).toBe(0);
      expect(String(point.timestamp)).toHaveLength(10);
      expect(point.avgHashrate).toBeGreaterThan(3e20);
      expect(point.avgHashrate).toBeLessThan(3e21);
    }
    expect(body.difficulty.length).toBeGreaterThanOrEqual(5);
    expect(body.difficulty.length).toBeLessThanOrEqual(8);
    for (const entry of body.difficulty) {
      expect(Object.keys(entry).sort()).toEqual(['adjustment', 'difficulty', 'height', 'time']);
      expect(entry.height % 2016).toBe(0);
      expect(String(entry.time)).toHaveLength(10);
      expect(entry.adjustment).toBeGreaterThan(0.75);
      expect(entry.adjustment).toBeLessThan(1.33);
    }
    for (let i = 1; i < body.difficulty.length; i++) {
      const [prev, cur] = [body.difficulty[i - 1], body.difficulty[i]];
      expect(cur.height - prev.height).toBe(2016);
      expect(cur.difficulty / prev.difficulty).toBeCloseTo(cur.adjustment, 3);
    }
    expect(body.currentHashrate).toBeGreaterThan(3e20);
    // difficulty ≈ hashrate × 600 s / 2³²: blocks keep coming about every ten minutes.
    const implied = (body.currentDifficulty * 2 ** 32) / 600;
    expect(implied / body.currentHashrate).toBeGreaterThan(0.8);
    expect(implied / body.currentHashrate).toBeLessThan(1.25);
  });

  it('reaches back to 2009 for `all` and refuses unknown periods with 404 text', async () => {
    const all = await get('/v1/mining/hashrate/all');
    expect(all.body.hashrates[0].timestamp).toBeLessThan(Date.parse('2009-01-10') / 1000);
    expect(all.body.hashrates[0].avgHashrate).toBeLessThan(1e9);
    expect((await get('/v1/mining/hashrate/24h')).body.hashrates.length).toBe(1);
    const bad = await get('/v1/mining/hashrate/5y');
    expect(bad.status).toBe(404);
    expect(bad.headers.get('content-type')).toMatch(/^text\/plain/);
  });

  it('estimates the difficulty adjustment consistently with the tip and the epochs', async () => {
    const tip = Number((await get('/blocks/tip/height')).text);
    const { status, body } = await get('/v1/difficulty-adjustment');
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual(
      [
        'progressPercent',
        'difficultyChange',
        'estimatedRetargetDate',
        'remainingBlocks',
        'remainingTime',
        'previousRetarget',
        'previousTime',
        'nextRetargetHeight',
        'timeAvg',
        'adjustedTimeAvg',
        'timeOffset',
        'expectedBlocks',
      ].sort(),
    );
    expect(body.nextRetargetHeight % 2016).toBe(0);
    expect(body.nextRetargetHeight - body.remainingBlocks).toBe(tip);
    expect(body.progressPercent).toBeCloseTo(((2016 - body.remainingBlocks) / 2016) * 100, 9);
    // ms fields
    expect(body.estimatedRetargetDate).toBe(T + body.remainingTime);
    expect(body.remainingTime).toBe(body.remainingBlocks * body.timeAvg);
    expect(body.timeAvg).toBeGreaterThan(400_000);
    expect(body.timeAvg).toBeLessThan(800_000);
    expect(body.difficultyChange).toBeCloseTo((600_000 / body.timeAvg - 1) * 100, 9);
    // s fields
    expect(String(body.previousTime)).toHaveLength(10);
    expect(body.previousTime).toBeLessThanOrEqual(T / 1000);
    expect(body.expectedBlocks).toBeCloseTo((T / 1000 - body.previousTime) / 600, 6);
    const mining = (await get('/v1/mining/hashrate/1m')).body;
    const epoch = mining.difficulty.at(-1);
    expect(epoch.height).toBe(body.nextRetargetHeight - 2016);
    expect(epoch.time).toBe(body.previousTime);
    expect(body.previousRetarget).toBeCloseTo((epoch.adjustment - 1) * 100, 1);
    expect(mining.currentDifficulty).toBe(epoch.difficulty);
  });

  it('prices BTC in seven currencies from the market', async () => {
    const { status, body } = await get('/v1/prices');
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual(['AUD', 'CAD', 'CHF', 'EUR', 'GBP', 'JPY', 'USD', 'time']);
    expect(body.time).toBe(Math.floor(T / 1000));
    expect(body.USD).toBe(Math.round(sandbox.market.price('bitcoin', 'usd', T)!));
    expect(body.JPY).toBe(Math.round(sandbox.market.price('bitcoin', 'jpy', T)!));
  });
});

describe('mempool dialect: errors and quota', () => {
  it('answers unknown paths with 404 text/plain', async () => {
    const { status, headers, text } = await get('/v1/nothing-here');
    expect(status).toBe(404);
    expect(headers.get('content-type')).toMatch(/^text\/plain/);
    expect(text).toBe('Not Found');
  });

  it('declares an undisclosed-limit quota of 60 a minute', () => {
    expect(createMempoolDialect({ market: sandbox.market, tickMs: 1000 }).quota).toEqual({
      limit: 60,
      windowMs: 60_000,
    });
  });

  it('throttles with an nginx HTML 429 page and no Retry-After', async () => {
    const quotas = { mempool: { limit: 2, windowMs: 60_000 } };
    const replies = await withProviderSandbox('mempool', { quotas, now: () => T }, ({ base: url }) =>
      fetchReplies(`${url}/v1/fees/recommended`, 3),
    );
    expect(replies.map((r) => r.status)).toEqual([200, 200, 429]);
    const limited = replies[2]!;
    expect(limited.headers.get('content-type')).toMatch(/^text\/html/);
    expect(limited.headers.get('retry-after')).toBeNull();
    expect(limited.text).toContain('<title>429 Too Many Requests</title>');
    expect(limited.text).toContain('<center>nginx</center>');
  });
});
