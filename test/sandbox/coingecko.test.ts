import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATEGORIES } from '../../src/sandbox/market/categories.js';
import { createCoinGeckoDialect } from '../../src/sandbox/providers/coingecko/dialect.js';
import type { Sandbox } from '../../src/sandbox/server.js';
import { DAY, HOUR, MINUTE, T } from '../helpers/clock.js';
import {
  fetchReplies,
  fetchReply,
  startProviderSandbox,
  withProviderSandbox,
} from '../helpers/sandbox-http.js';

// The CoinGecko dialect over real loopback HTTP, on a pinned clock so every number can be checked
// against the market model exactly.

const MARKET_KEYS = [
  'id',
  'symbol',
  'name',
  'image',
  'current_price',
  'market_cap',
  'market_cap_rank',
  'fully_diluted_valuation',
  'total_volume',
  'high_24h',
  'low_24h',
  'price_change_24h',
  'price_change_percentage_24h',
  'market_cap_change_24h',
  'market_cap_change_percentage_24h',
  'circulating_supply',
  'total_supply',
  'max_supply',
  'ath',
  'ath_change_percentage',
  'ath_date',
  'atl',
  'atl_change_percentage',
  'atl_date',
  'roi',
  'last_updated',
];

type Row = Record<string, unknown>;

let sandbox: Sandbox;
let base: string;

const get = (path: string) => fetchReply(`${base}${path}`);

beforeAll(async () => {
  ({ sandbox, base } = await startProviderSandbox('coingecko', { quotas: false, now: () => T }));
});

afterAll(async () => {
  await sandbox?.close();
});

describe('coingecko dialect: catalogue endpoints', () => {
  it('answers /ping like CoinGecko', async () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v3$/);
    const { status, body } = await get('/ping');
    expect(status).toBe(200);
    expect(body).toEqual({ gecko_says: '(V3) To the Moon!' });
  });

  it('lists every coin with lower-case symbols, platforms only when asked', async () => {
    const plain = await get('/coins/list');
    expect(plain.body).toHaveLength(sandbox.market.assets.length);
    for (const coin of plain.body as Row[]) {
      expect(Object.keys(coin)).toEqual(['id', 'symbol', 'name']);
      expect(coin.symbol).toBe((coin.symbol as string).toLowerCase());
    }
    const ids = (plain.body as Row[]).map((c) => c.id as string);
    expect(ids).toEqual([...ids].sort());

    const withPlatforms = await get('/coins/list?include_platform=true');
    const byId = new Map((withPlatforms.body as Row[]).map((c) => [c.id, c]));
    for (const asset of sandbox.market.assets) {
      const coin = byId.get(asset.id)!;
      expect(coin.symbol).toBe(asset.symbol.toLowerCase());
      expect(coin.platforms).toEqual(asset.contracts);
    }
    expect(byId.get('bitcoin')!.platforms).toEqual({});
    expect((byId.get('tether')!.platforms as Record<string, string>).ethereum).toBe(
      '0xdac17f958d2ee523a2206206994597c13d831ec7',
    );
  });

  it('serves one coin, and 404s an unknown one in CoinGecko words', async () => {
    const { status, body } = await get('/coins/bitcoin?localization=false&tickers=false');
    expect(status).toBe(200);
    expect(body).toMatchObject({ id: 'bitcoin', symbol: 'btc', name: 'Bitcoin', market_cap_rank: 1 });
    expect(body.localization).toBeUndefined();
    expect(body.tickers).toBeUndefined();
    expect(body.image.large).toMatch(/^https:\/\/coin-images\.coingecko\.com\/coins\/images\/.+\.png$/);
    expect(body.market_data.current_price.usd).toBe(sandbox.market.price('bitcoin', 'usd', T));
    expect(body.market_data.current_price.eur).toBe(sandbox.market.price('bitcoin', 'eur', T));
    expect(body.market_data.market_cap.usd).toBeCloseTo(
      sandbox.market.price('bitcoin', 'usd', T)! * sandbox.market.byId('bitcoin')!.circulatingSupply,
      0,
    );
    expect(body.market_data.max_supply).toBe(sandbox.market.byId('bitcoin')!.maxSupply);
    expect(body.last_updated).toBe(new Date(T).toISOString());

    const tether = await get('/coins/tether?market_data=false');
    expect(tether.body.market_data).toBeUndefined();
    expect(tether.body.detail_platforms.ethereum.contract_address).toBe(
      '0xdac17f958d2ee523a2206206994597c13d831ec7',
    );

    const missing = await get('/coins/no-such-coin');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: 'coin not found' });
  });

  it("answers unknown paths with CoinGecko's 404", async () => {
    const { status, body } = await get('/coins/bitcoin/nothing/here');
    expect(status).toBe(404);
    expect(body).toEqual({ error: 'Incorrect path. Please check https://www.coingecko.com/api/' });
  });
});

describe('coingecko dialect: /coins/markets', () => {
  it('returns rows of exactly CoinGecko shape and types, consistent with the market', async () => {
    const { status, body } = await get('/coins/markets?vs_currency=usd');
    expect(status).toBe(200);
    const rows = body as Row[];
    expect(rows).toHaveLength(Math.min(100, sandbox.market.assets.length));
    for (const row of rows) {
      expect(Object.keys(row)).toEqual(MARKET_KEYS);
      const asset = sandbox.market.byId(row.id as string)!;
      const price = sandbox.market.price(asset.id, 'usd', T)!;
      const day = sandbox.market.stats24h(asset.id, T, 'usd');
      expect(row.symbol).toBe(asset.symbol.toLowerCase());
      expect(row.name).toBe(asset.name);
      expect(row.image).toMatch(/^https:\/\/coin-images\.coingecko\.com\/coins\/images\//);
      expect(row.current_price).toBe(price);
      expect(row.market_cap).toBe(price * asset.circulatingSupply);
      expect(row.market_cap_rank).toBe(asset.rank);
      expect(row.total_volume).toBe(day.quoteVolume);
      expect(row.high_24h).toBe(day.high);
      expect(row.low_24h).toBe(day.low);
      expect(row.price_change_percentage_24h).toBe(day.changePercent);
      expect(row.circulating_supply).toBe(asset.circulatingSupply);
      expect(row.total_supply).toBe(asset.totalSupply);
      expect(row.max_supply).toBe(asset.maxSupply);
      expect(row.roi).toBeNull();
      expect(row.last_updated).toBe(new Date(T).toISOString());
      expect(row.ath as number).toBeGreaterThanOrEqual(price);
      expect(row.atl as number).toBeLessThanOrEqual(price);
      expect(row.ath_change_percentage as number).toBeLessThanOrEqual(0);
      for (const key of ['ath_date', 'atl_date']) {
        expect(new Date(row[key] as string).toISOString()).toBe(row[key]);
      }
      for (const key of MARKET_KEYS.filter((k) => !['id', 'symbol', 'name', 'image', 'roi'].includes(k))) {
        if (key.endsWith('_date') || key === 'last_updated') continue;
        if (row[key] !== null) expect(typeof row[key], key).toBe('number');
      }
    }
    const ranks = rows.map((r) => r.market_cap_rank as number);
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
  });

  it('batches ids into one request, omitting unknown ids', async () => {
    const ids = sandbox.market.assets.slice(0, 250).map((a) => a.id);
    const before = sandbox.count('coingecko', 'coins/markets');
    const { body } = await get(
      `/coins/markets?vs_currency=eur&per_page=250&ids=${[...ids, 'no-such-coin'].join(',')}`,
    );
    expect(sandbox.count('coingecko', 'coins/markets') - before).toBe(1);
    expect((body as Row[]).map((r) => r.id).sort()).toEqual([...ids].sort());
    for (const row of body as Row[]) {
      expect(row.current_price).toBe(sandbox.market.price(row.id as string, 'eur', T));
    }
  });

  it("lists categories and ranks only a category's coins, category before ids; unknown → []", async () => {
    const list = await get('/coins/categories/list');
    expect(list.status).toBe(200);
    expect(list.body).toEqual(CATEGORIES.map((c) => ({ category_id: c.id, name: c.name })));
    for (const category of CATEGORIES) {
      const rows = (await get(`/coins/markets?vs_currency=usd&per_page=250&category=${category.id}`))
        .body as Row[];
      expect(rows.map((r) => r.id).sort()).toEqual([...category.assets].sort());
      const ranks = rows.map((r) => r.market_cap_rank as number);
      expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
      for (const row of rows) expect(Object.keys(row)).toEqual(MARKET_KEYS);
    }
    const both = (await get('/coins/markets?vs_currency=usd&category=stablecoins&ids=bitcoin')).body as Row[];
    expect(both.map((r) => r.id)).not.toContain('bitcoin');
    expect((await get('/coins/markets?vs_currency=usd&category=no-such-category')).body).toEqual([]);
  });

  it('bounds per_page to 1..250 and paginates ids lookups too', async () => {
    const n = sandbox.market.assets.length;
    expect((await get('/coins/markets?vs_currency=usd&per_page=1')).body).toHaveLength(1);
    expect((await get('/coins/markets?vs_currency=usd&per_page=1000')).body).toHaveLength(Math.min(250, n));
    expect((await get('/coins/markets?vs_currency=usd&per_page=0')).body).toHaveLength(Math.min(100, n));
    const second = await get('/coins/markets?vs_currency=usd&per_page=1&page=2');
    expect((second.body as Row[])[0]!.market_cap_rank).toBe(2);
    const paged = await get('/coins/markets?vs_currency=usd&ids=bitcoin,ethereum&per_page=1');
    expect((paged.body as Row[]).map((r) => r.id)).toEqual(['bitcoin']);
    expect((await get('/coins/markets?vs_currency=usd&page=1000')).body).toEqual([]);
  });

  it('rejects a missing or unknown vs_currency with a CoinGecko error body', async () => {
    const missing = await get('/coins/markets?ids=bitcoin');
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ error: 'Missing parameter vs_currency' });
    const unknown = await get('/coins/markets?vs_currency=xyz&ids=bitcoin');
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({ error: 'invalid vs_currency' });
  });

  it('orders, looks up by symbol, adds change windows and rounds with precision', async () => {
    const byId = (await get('/coins/markets?vs_currency=usd&order=id_asc')).body as Row[];
    const ids = byId.map((r) => r.id as string);
    expect(ids).toEqual([...ids].sort());
    const byVolume = (await get('/coins/markets?vs_currency=usd&order=volume_desc')).body as Row[];
    const volumes = byVolume.map((r) => r.total_volume as number);
    expect(volumes).toEqual([...volumes].sort((a, b) => b - a));

    const bySymbol = (await get('/coins/markets?vs_currency=usd&symbols=btc')).body as Row[];
    expect(bySymbol.map((r) => r.id)).toEqual(['bitcoin']);

    const { body } = await get(
      '/coins/markets?vs_currency=usd&ids=bitcoin&price_change_percentage=1h,7d&precision=2',
    );
    const row = (body as Row[])[0]!;
    const price = sandbox.market.price('bitcoin', 'usd', T)!;
    expect(row.current_price).toBe(Number(price.toFixed(2)));
    const weekAgo = sandbox.market.price('bitcoin', 'usd', T - 7 * DAY)!;
    expect(row.price_change_percentage_7d_in_currency).toBeCloseTo((price / weekAgo - 1) * 100, 9);
    expect(typeof row.price_change_percentage_1h_in_currency).toBe('number');
    expect(row).not.toHaveProperty('price_change_percentage_24h_in_currency');
  });
});

describe('coingecko dialect: /simple/price', () => {
  it('answers ids × currencies with the requested extras, last_updated_at in seconds', async () => {
    const { status, body } = await get(
      '/simple/price?ids=bitcoin,ethereum,no-such-coin&vs_currencies=usd,eur,xyz' +
        '&include_market_cap=true&include_24hr_vol=true&include_24hr_change=true&include_last_updated_at=true',
    );
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual(['bitcoin', 'ethereum']);
    for (const id of ['bitcoin', 'ethereum']) {
      const entry = body[id];
      expect(Object.keys(entry).sort()).toEqual(
        [
          'usd',
          'usd_market_cap',
          'usd_24h_vol',
          'usd_24h_change',
          'eur',
          'eur_market_cap',
          'eur_24h_vol',
          'eur_24h_change',
          'last_updated_at',
        ].sort(),
      );
      const day = sandbox.market.stats24h(id, T, 'eur');
      expect(entry.eur).toBe(sandbox.market.price(id, 'eur', T));
      expect(entry.eur_24h_vol).toBe(day.quoteVolume);
      expect(entry.eur_24h_change).toBe(day.changePercent);
      expect(entry.usd_market_cap).toBe(entry.usd * sandbox.market.byId(id)!.circulatingSupply);
      expect(entry.last_updated_at).toBe(Math.floor(T / 1000));
    }
  });

  it('sends only the price without include flags, and requires vs_currencies', async () => {
    const { body } = await get('/simple/price?ids=bitcoin&vs_currencies=usd&precision=0');
    expect(body).toEqual({ bitcoin: { usd: Math.round(sandbox.market.price('bitcoin', 'usd', T)!) } });
    const missing = await get('/simple/price?ids=bitcoin');
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ error: 'Missing parameter vs_currencies' });
  });
});

describe('coingecko dialect: charts and candles', () => {
  function steps(points: Array<[number, number]>): Set<number> {
    return new Set(points.slice(1, -1).map(([t], i) => t - points[i]![0]));
  }

  it('uses 5-minute points for 1 day, hourly up to 90 days, daily at 00:00 UTC beyond; last point is now', async () => {
    const one = (await get('/coins/bitcoin/market_chart?vs_currency=usd&days=1')).body;
    expect(Object.keys(one)).toEqual(['prices', 'market_caps', 'total_volumes']);
    expect(steps(one.prices)).toEqual(new Set([5 * MINUTE]));
    expect(one.prices.at(-1)[0]).toBe(T);
    expect(one.prices[0][0]).toBeGreaterThanOrEqual(T - DAY);
    expect(one.prices).toHaveLength(288 + 1);
    for (const [i, [t, price]] of (one.prices as Array<[number, number]>).entries()) {
      expect(price).toBe(sandbox.market.price('bitcoin', 'usd', t));
      expect(one.market_caps[i]).toEqual([t, price * sandbox.market.byId('bitcoin')!.circulatingSupply]);
      expect(one.total_volumes[i][0]).toBe(t);
    }

    const ninety = (await get('/coins/ethereum/market_chart?vs_currency=eur&days=90')).body;
    expect(steps(ninety.prices)).toEqual(new Set([HOUR]));
    expect(ninety.prices.at(-1)[0]).toBe(T);

    const long = (await get('/coins/bitcoin/market_chart?vs_currency=usd&days=200')).body;
    expect(steps(long.prices)).toEqual(new Set([DAY]));
    for (const [t] of long.prices.slice(0, -1)) expect(t % DAY).toBe(0);
    expect(long.prices.at(-1)[0]).toBe(T);

    const daily = (await get('/coins/bitcoin/market_chart?vs_currency=usd&days=10&interval=daily')).body;
    expect(steps(daily.prices)).toEqual(new Set([DAY]));
  });

  it('refuses history beyond 365 days like the public API', async () => {
    for (const path of [
      '/coins/bitcoin/market_chart?vs_currency=usd&days=max',
      '/coins/bitcoin/market_chart?vs_currency=usd&days=366',
      `/coins/bitcoin/market_chart/range?vs_currency=usd&from=${(T - 400 * DAY) / 1000}&to=${T / 1000}`,
      '/coins/bitcoin/ohlc?vs_currency=usd&days=max',
    ]) {
      const { status, body } = await get(path);
      expect(status, path).toBe(401);
      expect(body.error.status.error_code).toBe(10012);
      expect(body.error.status.error_message).toMatch(/past 365 days/);
    }
    expect((await get('/coins/bitcoin/market_chart?vs_currency=usd&days=365')).status).toBe(200);
  });

  it('serves market_chart/range with granularity by range length', async () => {
    const from = Math.floor((T - 3 * DAY) / 1000);
    const to = Math.floor((T - DAY) / 1000);
    const past = (await get(`/coins/bitcoin/market_chart/range?vs_currency=usd&from=${from}&to=${to}`)).body;
    expect(steps(past.prices)).toEqual(new Set([HOUR]));
    expect(past.prices[0][0]).toBeGreaterThanOrEqual(from * 1000);
    expect(past.prices.at(-1)[0]).toBeLessThanOrEqual(to * 1000);

    const recent = (
      await get(
        `/coins/bitcoin/market_chart/range?vs_currency=usd&from=${(T - 12 * HOUR) / 1000}&to=${T / 1000 + 60}`,
      )
    ).body;
    expect(steps(recent.prices)).toEqual(new Set([5 * MINUTE]));
    expect(recent.prices.at(-1)[0]).toBe(T);

    const missing = await get('/coins/bitcoin/market_chart/range?vs_currency=usd&from=1');
    expect(missing.status).toBe(400);
    expect((await get('/coins/nope/market_chart/range?vs_currency=usd&from=1&to=2')).status).toBe(404);
  });

  it('builds OHLC rows [closeTime, o, h, l, c] from market candles with the documented bodies', async () => {
    for (const [days, length] of [
      [1, 30 * MINUTE],
      [7, 4 * HOUR],
      [30, 4 * HOUR],
      [90, 4 * DAY],
      [365, 4 * DAY],
    ] as const) {
      const { status, body } = await get(`/coins/bitcoin/ohlc?vs_currency=usd&days=${days}`);
      expect(status).toBe(200);
      const rows = body as Array<[number, number, number, number, number]>;
      for (const row of rows) expect(row).toHaveLength(5);
      expect(steps(rows.map(([t, o]) => [t, o]))).toEqual(new Set([length]));
      expect(rows[0]![0]).toBeGreaterThan(T - days * DAY);
      expect(rows[0]![0] - length).toBeLessThanOrEqual(T - days * DAY);
      // closed candles, then the one still open (its close time is the next boundary)
      expect(rows.at(-2)![0]).toBeLessThanOrEqual(T);
      expect(rows.at(-1)![0]).toBeGreaterThan(T);
      for (const [close, open, high, low, last] of rows) {
        const candle = sandbox.market.candle('bitcoin', length, close - length, 'usd');
        expect([open, high, low, last]).toEqual([candle.open, candle.high, candle.low, candle.close]);
        expect(high).toBeGreaterThanOrEqual(Math.max(open, last));
        expect(low).toBeLessThanOrEqual(Math.min(open, last));
      }
      expect(rows.at(-1)![4]).toBe(sandbox.market.price('bitcoin', 'usd', T));
    }
  });

  it('rejects OHLC days outside 1/7/14/30/90/180/365/max', async () => {
    for (const days of ['2', '10', 'abc']) {
      const { status, body } = await get(`/coins/bitcoin/ohlc?vs_currency=usd&days=${days}`);
      expect(status).toBe(400);
      expect(body).toHaveProperty('error');
    }
    expect((await get('/coins/bitcoin/ohlc?vs_currency=nope&days=1')).body).toEqual({
      error: 'invalid vs_currency',
    });
  });
});

describe('coingecko dialect: quota and faults', () => {
  it('has the keyless free-tier quota', () => {
    const dialect = createCoinGeckoDialect({ market: sandbox.market, tickMs: 1000 });
    expect(dialect.quota).toEqual({ limit: 30, windowMs: 60_000 });
  });

  it('answers 429 with retry-after and CoinGecko JSON once the quota is spent', async () => {
    const quotas = { coingecko: { limit: 3, windowMs: 60_000 } };
    await withProviderSandbox('coingecko', { quotas }, async ({ sandbox: limited, base: url }) => {
      for (let i = 0; i < 3; i++) expect((await fetch(`${url}/ping`)).status).toBe(200);
      const response = await fetch(`${url}/simple/price?ids=bitcoin&vs_currencies=usd`);
      expect(response.status).toBe(429);
      const retryAfter = Number(response.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(await response.json()).toEqual({
        status: {
          error_code: 429,
          error_message:
            "You've exceeded the Rate Limit. Please visit https://www.coingecko.com/en/api/pricing to subscribe to our API plans for higher rate limits.",
        },
      });
      expect(limited.count('coingecko')).toBe(4);
    });
  });

  it('enforces 30 calls per minute by default', async () => {
    const replies = await withProviderSandbox('coingecko', {}, ({ base: url }) =>
      fetchReplies(`${url}/ping`, 31),
    );
    const statuses = replies.map((r) => r.status);
    expect(statuses.slice(0, 30).every((s) => s === 200)).toBe(true);
    expect(statuses[30]).toBe(429);
  });

  it('serves injected faults: HTML page, server error, rate limit', async () => {
    sandbox.faults.set('coingecko', 'simple/price', { kind: 'html', times: 1 });
    const html = await get('/simple/price?ids=bitcoin&vs_currencies=usd');
    expect(html.status).toBe(502);
    expect(html.headers.get('content-type')).toMatch(/text\/html/);
    expect(html.text).toMatch(/^<html>/);
    expect(html.body).toBeUndefined();

    sandbox.faults.set('coingecko', 'coins/markets', { kind: 'server-error', status: 503, times: 1 });
    const down = await get('/coins/markets?vs_currency=usd');
    expect(down.status).toBe(503);
    expect(down.body).toEqual({ status: { error_code: 503, error_message: 'Service Unavailable' } });

    sandbox.faults.set('coingecko', 'ping', { kind: 'rate-limit', retryAfter: 119, times: 1 });
    const limited = await get('/ping');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('119');
    expect(limited.body.status.error_code).toBe(429);

    expect((await get('/simple/price?ids=bitcoin&vs_currencies=usd')).status).toBe(200);
  });
});
