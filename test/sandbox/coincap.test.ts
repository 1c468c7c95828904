import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoinCapDialect, SANDBOX_COINCAP_KEY } from '../../src/sandbox/providers/coincap/dialect.js';
import type { Sandbox } from '../../src/sandbox/server.js';
import { DAY, HOUR, T } from '../helpers/clock.js';
import {
  fetchJson,
  fetchReplies,
  startProviderSandbox,
  withProviderSandbox,
} from '../helpers/sandbox-http.js';

// The CoinCap v3 dialect over real loopback HTTP on a pinned clock.

const DECIMAL = /^-?\d+(\.\d+)?$/;

type Row = Record<string, unknown>;

let sandbox: Sandbox;
let base: string;

const KEY_HEADER: Record<string, string> = { authorization: `Bearer ${SANDBOX_COINCAP_KEY}` };
const get = (path: string, headers = KEY_HEADER) => fetchJson(`${base}${path}`, headers);

function listed() {
  return sandbox.market.assets.filter((a) => a.coincapId !== null).sort((a, b) => a.rank - b.rank);
}

beforeAll(async () => {
  ({ sandbox, base } = await startProviderSandbox('coincap', { quotas: false, now: () => T }));
});

afterAll(async () => {
  await sandbox?.close();
});

describe('coincap dialect: auth', () => {
  it('serves under /v3 and refuses a missing or wrong key with 401', async () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v3$/);
    const missing = await get('/assets', {});
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ error: 'Unauthorized: missing API key' });
    const wrong = await get('/assets', { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ error: 'Unauthorized: invalid API key' });
    const wrongQuery = await get('/assets?apiKey=nope', {});
    expect(wrongQuery.status).toBe(401);
  });

  it('accepts the key as ?apiKey= too', async () => {
    const { status, body } = await get(`/assets?ids=bitcoin&apiKey=${SANDBOX_COINCAP_KEY}`, {});
    expect(status).toBe(200);
    expect(body.data[0].id).toBe('bitcoin');
  });

  it('answers injected 429s with its error body and Retry-After', async () => {
    sandbox.faults.set('coincap', 'assets', { kind: 'rate-limit', retryAfter: 9, times: 1 });
    const limited = await get('/assets');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('9');
    expect(limited.body).toEqual({ error: 'rate limit exceeded' });
  });
});

describe('coincap dialect: assets', () => {
  it('wraps data with a ms timestamp and sends every number as a string, rank included', async () => {
    const { status, body } = await get('/assets');
    expect(status).toBe(200);
    expect(body.timestamp).toBe(T);
    expect(body.data).toHaveLength(Math.min(100, listed().length));
    expect(body.data.map((r: Row) => r.id)).toEqual(
      listed()
        .slice(0, 100)
        .map((a) => a.coincapId),
    );
    const btc = body.data[0];
    expect(Object.keys(btc)).toEqual([
      'id',
      'rank',
      'symbol',
      'name',
      'supply',
      'maxSupply',
      'marketCapUsd',
      'volumeUsd24Hr',
      'priceUsd',
      'changePercent24Hr',
      'vwap24Hr',
      'explorer',
      'tokens',
    ]);
    expect(btc.rank).toBe('1');
    for (const key of [
      'supply',
      'maxSupply',
      'marketCapUsd',
      'volumeUsd24Hr',
      'priceUsd',
      'changePercent24Hr',
      'vwap24Hr',
    ]) {
      expect(typeof btc[key]).toBe('string');
      expect(btc[key]).toMatch(DECIMAL);
    }
    expect(Number(btc.priceUsd)).toBe(sandbox.market.priceUsd('bitcoin', T));
    expect(Number(btc.changePercent24Hr)).toBeCloseTo(sandbox.market.stats24h('bitcoin', T).changePercent, 9);
    expect(btc.tokens).toEqual({});
    for (const row of body.data as Row[]) {
      for (const key of [
        'rank',
        'supply',
        'marketCapUsd',
        'volumeUsd24Hr',
        'priceUsd',
        'changePercent24Hr',
      ]) {
        expect(row[key]).toMatch(DECIMAL);
      }
      expect(row.maxSupply === null || DECIMAL.test(String(row.maxSupply))).toBe(true);
      expect(row.vwap24Hr === null || DECIMAL.test(String(row.vwap24Hr))).toBe(true);
    }
    const eth = body.data.find((r: Row) => r.id === 'ethereum');
    expect(eth.maxSupply).toBeNull();
  });

  it('batches by ids (ordered by rank, unknown ids left out) without lifting the limit', async () => {
    const { body } = await get('/assets?ids=ethereum,bitcoin,no-such-coin');
    expect(body.data.map((r: Row) => r.id)).toEqual(['bitcoin', 'ethereum']);
    const all = listed().map((a) => a.coincapId!);
    const capped = await get(`/assets?ids=${all.join(',')}&limit=2`);
    expect(capped.body.data).toHaveLength(2);
    const paged = await get('/assets?limit=2&offset=1');
    expect(paged.body.data.map((r: Row) => r.id)).toEqual(all.slice(1, 3));
  });

  it('searches id, symbol or name and refuses limits above 2000', async () => {
    const bySymbol = await get('/assets?search=btc');
    expect(bySymbol.body.data.map((r: Row) => r.id)).toContain('bitcoin');
    const tooMany = await get('/assets?limit=2001');
    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toEqual({ error: 'limit exceeds 2000' });
    const ok = await get('/assets?limit=2000');
    expect(ok.status).toBe(200);
  });

  it('serves one asset and 404s an unknown one', async () => {
    const one = await get('/assets/ethereum');
    expect(one.body.data.id).toBe('ethereum');
    expect(one.body.data.rank).toBe('2');
    expect(one.body.timestamp).toBe(T);
    const missing = await get('/assets/no-such-coin');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('no-such-coin not found');
  });
});

describe('coincap dialect: history', () => {
  it('requires an interval', async () => {
    const missing = await get('/assets/bitcoin/history');
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ error: 'missing interval' });
    const wrong = await get('/assets/bitcoin/history?interval=1h');
    expect(wrong.status).toBe(400);
    expect(wrong.body).toEqual({ error: 'missing interval' });
  });

  it('answers the default window on interval boundaries, oldest first, with string prices', async () => {
    const { status, body } = await get('/assets/bitcoin/history?interval=h1');
    expect(status).toBe(200);
    const points = body.data as Array<{ priceUsd: string; time: number; date: string }>;
    expect(points).toHaveLength(30 * 24);
    expect(points[0]!.time).toBe(Math.ceil((T - 30 * DAY) / HOUR) * HOUR);
    for (let i = 1; i < points.length; i++) expect(points[i]!.time - points[i - 1]!.time).toBe(HOUR);
    expect(points.at(-1)!.time).toBeLessThanOrEqual(T);
    for (const p of points) {
      expect(p.priceUsd).toMatch(DECIMAL);
      expect(p.date).toBe(new Date(p.time).toISOString());
    }
    const p0 = points[0]!;
    const samples = [0, 1, 2, 3].map((i) => sandbox.market.priceUsd('bitcoin', p0.time + (HOUR * i) / 4));
    expect(Number(p0.priceUsd)).toBeCloseTo(samples.reduce((s, v) => s + v, 0) / 4, 6);
  });

  it('takes start and end in ms, both or neither', async () => {
    const start = Date.parse('2025-05-01T00:00:00Z');
    const end = Date.parse('2025-05-08T00:00:00Z');
    const { body } = await get(`/assets/bitcoin/history?interval=d1&start=${start}&end=${end}`);
    expect(body.data.map((p: Row) => p.time)).toEqual(Array.from({ length: 7 }, (_, i) => start + i * DAY));
    const half = await get(`/assets/bitcoin/history?interval=d1&start=${start}`);
    expect(half.status).toBe(400);
    expect(half.body.error).toBe('missing start or end');
    const unknown = await get('/assets/no-such-coin/history?interval=d1');
    expect(unknown.status).toBe(404);
  });
});

describe('coincap dialect: price/bysymbol and rates', () => {
  it('answers an array of price strings in the order the symbols were asked, null for unknown ones', async () => {
    const { status, body } = await get('/price/bysymbol/ETH,BTC,NOPE,usdt');
    expect(status).toBe(200);
    expect(body.timestamp).toBe(T);
    expect(body.data).toHaveLength(4);
    expect(Number(body.data[0])).toBe(sandbox.market.priceUsd('ethereum', T));
    expect(Number(body.data[1])).toBe(sandbox.market.priceUsd('bitcoin', T));
    expect(body.data[2]).toBeNull();
    expect(Number(body.data[3])).toBe(sandbox.market.priceUsd('tether', T));
    expect(body.data[0]).toMatch(DECIMAL);
  });

  it('lists fiat and crypto rates in USD, filterable by ids', async () => {
    const { body } = await get('/rates?ids=euro,bitcoin');
    expect(body.data).toHaveLength(2);
    const euro = body.data.find((r: Row) => r.id === 'euro');
    expect(euro).toMatchObject({ symbol: 'EUR', currencySymbol: '€', type: 'fiat' });
    expect(Number(euro.rateUsd)).toBeCloseTo(1 / sandbox.market.fxPerUsd('eur', T)!, 12);
    const btc = body.data.find((r: Row) => r.id === 'bitcoin');
    expect(btc).toMatchObject({ symbol: 'BTC', type: 'crypto' });
    expect(btc.rateUsd).toMatch(DECIMAL);
    const one = await get('/rates/united-states-dollar');
    expect(one.body.data.rateUsd).toBe('1');
  });

  it('declares 600/min and answers the quota overrun with its 429', async () => {
    expect(createCoinCapDialect({ market: sandbox.market, tickMs: 1000 }).quota).toEqual({
      limit: 600,
      windowMs: 60_000,
    });
    const quotas = { coincap: { limit: 5, windowMs: 60_000 } };
    const replies = await withProviderSandbox('coincap', { quotas, now: () => T }, ({ base: url }) =>
      fetchReplies(`${url}/price/bysymbol/BTC?apiKey=${SANDBOX_COINCAP_KEY}`, 6),
    );
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429]);
  });
});
