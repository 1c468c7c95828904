import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_TOKENMETRICS_KEY } from '../../src/sandbox/providers/tokenmetrics/dialect.js';
import type { Sandbox } from '../../src/sandbox/server.js';
import { DAY, T } from '../helpers/clock.js';
import {
  fetchJson,
  fetchReplies,
  startProviderSandbox,
  withProviderSandbox,
} from '../helpers/sandbox-http.js';

// The Token Metrics dialect over real loopback HTTP on a pinned clock.

const TODAY = Date.parse('2025-06-01T00:00:00.000Z');

type Row = Record<string, unknown>;

let sandbox: Sandbox;
let base: string;

const KEY_HEADER: Record<string, string> = { api_key: SANDBOX_TOKENMETRICS_KEY };
const get = (path: string, headers = KEY_HEADER, root = base) => fetchJson(`${root}${path}`, headers);

function covered() {
  return sandbox.market.assets.filter((a) => a.tokenMetricsId !== null).sort((a, b) => a.rank - b.rank);
}

beforeAll(async () => {
  ({ sandbox, base } = await startProviderSandbox('tokenmetrics', { quotas: false, now: () => T }));
});

afterAll(async () => {
  await sandbox?.close();
});

describe('tokenmetrics dialect: auth', () => {
  it('serves under /v2 and refuses a missing or wrong key with 401 success:false', async () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v2$/);
    const missing = await get('/tokens', {});
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ success: false, message: 'API key is required' });
    const wrong = await get('/trading-signals', { api_key: 'nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ success: false, message: 'Invalid API key' });
    const alt = await get('/tokens?symbol=BTC', { 'x-api-key': SANDBOX_TOKENMETRICS_KEY });
    expect(alt.status).toBe(200);
    expect(alt.body.success).toBe(true);
  });

  it('answers unknown paths and injected rate limits in its envelope', async () => {
    const missing = await get('/no-such-endpoint');
    expect(missing.status).toBe(404);
    expect(missing.body.success).toBe(false);
    sandbox.faults.set('tokenmetrics', 'tokens', { kind: 'rate-limit', retryAfter: 7, times: 1 });
    const limited = await get('/tokens');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(limited.body).toEqual({ success: false, message: 'Rate limit exceeded' });
  });
});

describe('tokenmetrics dialect: /tokens', () => {
  it('lists covered tokens in the documented envelope, 50 per page by default, numbers as numbers', async () => {
    const { status, body } = await get('/tokens');
    expect(status).toBe(200);
    expect(body.success).toBe(true);
    expect(body.message).toBe('Data fetched successfully');
    const expected = covered().slice(0, 50);
    expect(body.length).toBe(expected.length);
    expect(body.data).toHaveLength(expected.length);
    expect(body.data.map((r: Row) => r.TOKEN_ID)).toEqual(expected.map((a) => a.tokenMetricsId));
    const btc = body.data.find((r: Row) => r.TOKEN_SYMBOL === 'BTC');
    expect(btc).toMatchObject({ TOKEN_ID: 3375, TOKEN_NAME: 'Bitcoin', CONTRACT_ADDRESS: {} });
    expect(Object.keys(btc)).toEqual([
      'TOKEN_ID',
      'TOKEN_NAME',
      'TOKEN_SYMBOL',
      'EXCHANGE_LIST',
      'CATEGORY_LIST',
      'CONTRACT_ADDRESS',
      'TM_LINK',
    ]);
    expect(btc.EXCHANGE_LIST).toContainEqual({ exchange_id: 'binance', exchange_name: 'Binance' });
    expect(btc.CATEGORY_LIST.map((c: Row) => c.category_slug)).toContain('layer-1');
    expect(btc.TM_LINK).toMatch(/^https:\/\/app\.tokenmetrics\.com\//);
  });

  it('filters by comma lists of ids and symbols, and carries contracts as chain → address', async () => {
    const byId = await get('/tokens?token_id=3375,3306');
    expect(byId.body.data.map((r: Row) => r.TOKEN_SYMBOL)).toEqual(['BTC', 'ETH']);
    const bySymbol = await get('/tokens?symbol=usdt,BTC');
    expect(bySymbol.body.data.map((r: Row) => r.TOKEN_SYMBOL)).toEqual(['BTC', 'USDT']);
    const usdt = bySymbol.body.data[1];
    expect(usdt.CONTRACT_ADDRESS.ethereum).toBe('0xdac17f958d2ee523a2206206994597c13d831ec7');
    expect(usdt.CATEGORY_LIST.map((c: Row) => c.category_slug)).toContain('stablecoins');
    const stable = await get('/tokens?category=stablecoins&limit=100');
    expect(stable.body.data.length).toBeGreaterThan(0);
    for (const row of stable.body.data)
      expect(row.CATEGORY_LIST.map((c: Row) => c.category_slug)).toContain('stablecoins');
  });

  it('pages from 0, caps limit at 100 silently and rejects a malformed limit', async () => {
    const all = covered();
    const page0 = await get('/tokens?limit=2&page=0');
    const page1 = await get('/tokens?limit=2&page=1');
    expect(page0.body.data.map((r: Row) => r.TOKEN_ID)).toEqual(all.slice(0, 2).map((a) => a.tokenMetricsId));
    expect(page1.body.data.map((r: Row) => r.TOKEN_ID)).toEqual(all.slice(2, 4).map((a) => a.tokenMetricsId));
    const big = await get('/tokens?limit=1000');
    expect(big.body.length).toBe(Math.min(100, all.length));
    const beyond = await get('/tokens?page=999');
    expect(beyond.body).toEqual({ success: true, message: 'Data fetched successfully', length: 0, data: [] });
    const bad = await get('/tokens?limit=ten');
    expect(bad.status).toBe(400);
    expect(bad.body.success).toBe(false);
    expect(bad.body.message).toContain('limit');
  });
});

describe('tokenmetrics dialect: signals and grades', () => {
  it('answers the latest day by default, with signals derived from 7- vs 30-day moving averages', async () => {
    const { body } = await get('/trading-signals?token_id=3375');
    expect(body.success).toBe(true);
    expect(body.data).toHaveLength(1);
    const row = body.data[0];
    expect(Object.keys(row)).toEqual([
      'TOKEN_ID',
      'TOKEN_NAME',
      'TOKEN_SYMBOL',
      'DATE',
      'TRADING_SIGNAL',
      'TOKEN_TREND',
      'TRADING_SIGNALS_RETURNS',
      'HOLDING_RETURNS',
      'TM_TRADER_GRADE',
      'TM_INVESTOR_GRADE',
      'TM_LINK',
    ]);
    expect(row.DATE).toBe(new Date(TODAY).toISOString());
    const closes = Array.from({ length: 30 }, (_, k) => sandbox.market.priceUsd('bitcoin', TODAY - k * DAY));
    const sma7 = closes.slice(0, 7).reduce((s, p) => s + p, 0) / 7;
    const sma30 = closes.reduce((s, p) => s + p, 0) / 30;
    expect(row.TOKEN_TREND).toBe(sma7 >= sma30 ? 1 : -1);
    const gap = sma7 / sma30 - 1;
    expect(row.TRADING_SIGNAL).toBe(gap > 0.0075 ? 1 : gap < -0.0075 ? -1 : 0);
    const holding =
      sandbox.market.priceUsd('bitcoin', TODAY) / sandbox.market.priceUsd('bitcoin', TODAY - 30 * DAY) - 1;
    expect(row.HOLDING_RETURNS).toBeCloseTo(holding, 5);
    expect(row.TM_TRADER_GRADE).toBeGreaterThanOrEqual(0);
    expect(row.TM_TRADER_GRADE).toBeLessThanOrEqual(100);
  });

  it('walks date ranges newest first, filters by signal and paginates', async () => {
    const { body } = await get(
      '/trading-signals?symbol=BTC,ETH&startDate=2025-05-20&endDate=2025-05-29&limit=100',
    );
    expect(body.data).toHaveLength(20);
    expect(body.data[0].DATE).toBe('2025-05-29T00:00:00.000Z');
    expect(body.data[0].TOKEN_SYMBOL).toBe('BTC');
    expect(body.data[1].TOKEN_SYMBOL).toBe('ETH');
    expect(body.data.at(-1).DATE).toBe('2025-05-20T00:00:00.000Z');
    for (const row of body.data) expect([1, -1, 0]).toContain(row.TRADING_SIGNAL);

    const page = await get(
      '/trading-signals?symbol=BTC,ETH&startDate=2025-05-20&endDate=2025-05-29&limit=3&page=2',
    );
    expect(page.body.data).toEqual(body.data.slice(6, 9));

    for (const signal of ['1', '-1', '0']) {
      const filtered = await get(
        `/trading-signals?symbol=BTC,ETH&startDate=2025-05-20&endDate=2025-05-29&limit=100&signal=${signal}`,
      );
      expect(filtered.body.data).toEqual(body.data.filter((r: Row) => r.TRADING_SIGNAL === Number(signal)));
    }
    const future = await get('/trading-signals?token_id=3375&startDate=2025-05-31&endDate=2030-01-01');
    expect(future.body.data.map((r: Row) => r.DATE)).toEqual([
      '2025-06-01T00:00:00.000Z',
      '2025-05-31T00:00:00.000Z',
    ]);
    const badDate = await get('/trading-signals?startDate=05/20/2025');
    expect(badDate.status).toBe(400);
    expect(badDate.body.success).toBe(false);
  });

  it('agrees across endpoints: trader and investor grades match the signal rows', async () => {
    const signals = await get('/trading-signals?token_id=3375,3306');
    const trader = await get('/trader-grades?token_id=3375,3306');
    const investor = await get('/investor-grades?token_id=3375,3306');
    expect(trader.body.data.map((r: Row) => r.TM_TRADER_GRADE)).toEqual(
      signals.body.data.map((r: Row) => r.TM_TRADER_GRADE),
    );
    expect(investor.body.data.map((r: Row) => r.TM_INVESTOR_GRADE)).toEqual(
      signals.body.data.map((r: Row) => r.TM_INVESTOR_GRADE),
    );
    const t = trader.body.data[0];
    expect(Object.keys(t)).toEqual([
      'TOKEN_ID',
      'TOKEN_NAME',
      'TOKEN_SYMBOL',
      'DATE',
      'TA_GRADE',
      'QUANT_GRADE',
      'TM_TRADER_GRADE',
      'TM_TRADER_GRADE_24H_PCT_CHANGE',
    ]);
    expect(t.TM_TRADER_GRADE).toBeCloseTo((t.TA_GRADE + t.QUANT_GRADE) / 2, 1);
    const yesterday = await get('/trader-grades?token_id=3375&startDate=2025-05-31&endDate=2025-05-31');
    const expectedChange = (t.TM_TRADER_GRADE / yesterday.body.data[0].TM_TRADER_GRADE - 1) * 100;
    expect(t.TM_TRADER_GRADE_24H_PCT_CHANGE).toBeCloseTo(expectedChange, 1);

    const i = investor.body.data[0];
    expect(Object.keys(i)).toEqual([
      'TOKEN_ID',
      'TOKEN_NAME',
      'TOKEN_SYMBOL',
      'DATE',
      'TM_INVESTOR_GRADE',
      'TM_INVESTOR_GRADE_7D_PCT_CHANGE',
      'FUNDAMENTAL_GRADE',
      'TECHNOLOGY_GRADE',
      'VALUATION_GRADE',
    ]);
    for (const grade of [i.TM_INVESTOR_GRADE, i.FUNDAMENTAL_GRADE, i.TECHNOLOGY_GRADE, i.VALUATION_GRADE]) {
      expect(grade).toBeGreaterThanOrEqual(0);
      expect(grade).toBeLessThanOrEqual(100);
    }
    expect(i.TM_INVESTOR_GRADE).toBeCloseTo(
      0.4 * i.FUNDAMENTAL_GRADE + 0.3 * i.TECHNOLOGY_GRADE + 0.3 * i.VALUATION_GRADE,
      1,
    );
  });

  it('is deterministic: a second sandbox with the same seed and clock answers the same bytes', async () => {
    const path = '/trading-signals?startDate=2025-05-25&endDate=2025-06-01&limit=100';
    const a = await get(path);
    const b = await withProviderSandbox('tokenmetrics', { quotas: false, now: () => T }, ({ base: other }) =>
      get(path, KEY_HEADER, other),
    );
    expect(b.body).toEqual(a.body);
  });

  it('enforces its 60/min quota when quotas are on', async () => {
    const replies = await withProviderSandbox('tokenmetrics', { now: () => T }, ({ base: url }) =>
      fetchReplies(`${url}/tokens?limit=1`, 61, KEY_HEADER),
    );
    const statuses = replies.map((r) => r.status);
    expect(statuses.slice(0, 60).every((s) => s === 200)).toBe(true);
    expect(statuses[60]).toBe(429);
  });
});
