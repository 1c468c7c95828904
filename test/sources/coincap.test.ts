import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_COINCAP_KEY } from '../../src/sandbox/providers/coincap/dialect.js';
import type { Sandbox } from '../../src/sandbox/server.js';
import {
  type CoinCapSource,
  createCoinCapSource,
  readCoinCapEnvelopeError,
} from '../../src/sources/coincap.js';
import { DAY, HOUR, T } from '../helpers/clock.js';
import {
  createFetchHttp,
  createLiteralHttp,
  providerConfig,
  type RecordingFetchHttp,
} from '../helpers/fetch-http.js';
import { startProviderSandbox } from '../helpers/sandbox-http.js';

// The CoinCap source against the sandbox dialect (real loopback HTTP) and against literal v3 bodies:
// every number a string, nullable maxSupply/vwap24Hr/explorer, ordered price arrays with nulls.

describe('coincap source over the sandbox dialect', () => {
  let sandbox: Sandbox;
  let base: string;
  let http: RecordingFetchHttp;
  let source: CoinCapSource;

  function listed() {
    return sandbox.market.assets.filter((a) => a.coincapId !== null);
  }

  beforeAll(async () => {
    ({ sandbox, base } = await startProviderSandbox('coincap', { quotas: false, now: () => T }));
    const config = providerConfig('coincap', base, SANDBOX_COINCAP_KEY);
    http = createFetchHttp(config);
    source = createCoinCapSource({ http, config });
  });

  afterAll(async () => {
    await sandbox?.close();
  });

  it('states its per-call limits', () => {
    expect(source.maxIdsPerCall).toBe(2000);
    expect(source.maxSymbolsPerCall).toBe(100);
  });

  it('maps every listed asset to USD MarketData in one call, lifting the default limit of 100', async () => {
    const ids = listed().map((a) => a.coincapId!);
    sandbox.resetCounts();
    const rows = await source.assets([...ids, 'no-such-coin', ids[0]!]);
    expect(sandbox.count('coincap', 'assets')).toBe(1);
    expect(http.calls.at(-1)!.headers).toEqual({ authorization: `Bearer ${SANDBOX_COINCAP_KEY}` });
    expect(http.calls.at(-1)!.query).toMatchObject({ limit: ids.length + 1 });
    expect(rows.map((r) => r.assetId).sort()).toEqual([...ids].sort());
    for (const row of rows) {
      const asset = listed().find((a) => a.coincapId === row.assetId)!;
      expect(row).toMatchObject({
        currency: 'usd',
        source: 'coincap',
        price: sandbox.market.priceUsd(asset.id, T),
        circulatingSupply: asset.circulatingSupply,
        maxSupply: asset.maxSupply,
        high24h: null,
        low24h: null,
        totalSupply: null,
      });
      expect(row.change24h).toBeCloseTo(sandbox.market.stats24h(asset.id, T).changePercent, 9);
      expect(row.marketCap).toBeCloseTo(row.price * asset.circulatingSupply, -2);
      expect(row.asOf.getTime()).toBe(T);
    }
    expect(await source.assets([])).toEqual([]);
  });

  it('maps CoinCap ids to canonical ids through the optional map', async () => {
    const [row] = await source.assets(['bitcoin'], new Map([['bitcoin', 'btc-canonical']]));
    expect(row!.assetId).toBe('btc-canonical');
  });

  it('aligns the ordered price array with the requested symbols, leaving unknown symbols out', async () => {
    const prices = await source.pricesBySymbol(['ETH', 'NOPE', 'BTC', 'ETH']);
    expect(http.urls.at(-1)).toMatch(/\/price\/bysymbol\/ETH,NOPE,BTC$/);
    expect([...prices.keys()]).toEqual(['ETH', 'BTC']);
    expect(prices.get('ETH')).toBe(sandbox.market.priceUsd('ethereum', T));
    expect(prices.get('BTC')).toBe(sandbox.market.priceUsd('bitcoin', T));
  });

  it('reads history points oldest first, with and without a window', async () => {
    const start = new Date(T - 3 * DAY);
    const end = new Date(T);
    const points = await source.history('bitcoin', 'h6', start, end);
    expect(http.calls.at(-1)!.query).toMatchObject({
      interval: 'h6',
      start: start.getTime(),
      end: end.getTime(),
    });
    expect(points).toHaveLength(12);
    for (let i = 1; i < points.length; i++)
      expect(points[i]!.at.getTime() - points[i - 1]!.at.getTime()).toBe(6 * HOUR);
    for (const p of points) expect(p.price).toBeGreaterThan(0);
    const daily = await source.history('bitcoin', 'd1');
    expect(daily).toHaveLength(365);
  });

  it('refuses a half window or an unknown interval before calling', async () => {
    const calls = http.calls.length;
    await expect(source.history('bitcoin', 'h1', new Date(T - DAY))).rejects.toThrow(RangeError);
    await expect(source.history('bitcoin', 'h4' as 'h1')).rejects.toThrow(/interval must be one of/);
    expect(http.calls.length).toBe(calls);
  });

  it('fails without a key before calling, and surfaces the 401 of a wrong key', async () => {
    const keyless = providerConfig('coincap', base, undefined);
    await expect(
      createCoinCapSource({ http: createFetchHttp(keyless), config: keyless }).assets(['bitcoin']),
    ).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    const wrong = providerConfig('coincap', base, 'nope');
    await expect(
      createCoinCapSource({ http: createFetchHttp(wrong), config: wrong }).pricesBySymbol(['BTC']),
    ).rejects.toMatchObject({ details: { status: 401 } });
  });
});

describe('coincap source over literal bodies', () => {
  const config = providerConfig('coincap', 'http://unused', 'k');

  it('parses every-number-a-string rows with nulls where CoinCap leaves them', async () => {
    const http = createLiteralHttp({
      assets: {
        data: [
          {
            id: 'bitcoin',
            rank: '1',
            symbol: 'BTC',
            name: 'Bitcoin',
            supply: '19700000.0000000000000000',
            maxSupply: '21000000.0000000000000000',
            marketCapUsd: '1320000000000.1234567890123456',
            volumeUsd24Hr: '9876543210.5',
            priceUsd: '67012.3456789012345678',
            changePercent24Hr: '-1.2345678901234567',
            vwap24Hr: '66900.1',
            explorer: 'https://blockchain.info/',
            tokens: {},
          },
          {
            id: 'some-token',
            rank: '250',
            symbol: 'SOME',
            name: 'Some Token',
            supply: '1000',
            maxSupply: null,
            marketCapUsd: '12.5',
            volumeUsd24Hr: null,
            priceUsd: '0.0125',
            changePercent24Hr: null,
            vwap24Hr: null,
            explorer: null,
            tokens: { '1': ['0xabc'] },
          },
        ],
        timestamp: T,
      },
    });
    const rows = await createCoinCapSource({ http, config }).assets(['bitcoin', 'some-token']);
    expect(rows[0]).toMatchObject({
      assetId: 'bitcoin',
      price: Number('67012.3456789012345678'),
      change24h: -1.2345678901234567,
      maxSupply: 21_000_000,
      circulatingSupply: 19_700_000,
    });
    expect(rows[1]).toMatchObject({
      assetId: 'some-token',
      maxSupply: null,
      volume24h: null,
      change24h: null,
      price: 0.0125,
    });
    expect(rows[1]!.asOf.getTime()).toBe(T);
  });

  it('chunks ids at 2000 per call, each call asking for as many rows as it sends ids', async () => {
    const http = createLiteralHttp({ assets: { data: [], timestamp: T } });
    const ids = Array.from({ length: 2001 }, (_, i) => `coin-${i}`);
    await createCoinCapSource({ http, config }).assets(ids);
    expect(http.calls.map((c) => c.query?.limit)).toEqual([2000, 1]);
    expect((http.calls[0]!.query!.ids as string).split(',')).toHaveLength(2000);
  });

  it('fails the bysymbol call when the array cannot be aligned', async () => {
    const http = createLiteralHttp({ 'price/bysymbol': { data: ['67000.1'], timestamp: T } });
    await expect(createCoinCapSource({ http, config }).pricesBySymbol(['BTC', 'ETH'])).rejects.toMatchObject({
      code: 'UPSTREAM_BAD_RESPONSE',
    });
  });

  it('keeps nulls in the ordered array as missing keys', async () => {
    const http = createLiteralHttp({ 'price/bysymbol': { data: [null, '3400.5'], timestamp: T } });
    const prices = await createCoinCapSource({ http, config }).pricesBySymbol(['XYZ', 'ETH']);
    expect([...prices]).toEqual([['ETH', 3400.5]]);
  });

  it('rejects numbers that are not decimal strings, and error bodies that arrive with 200', async () => {
    const bad = createLiteralHttp({
      'assets/history': { data: [{ priceUsd: 'N/A', time: T }], timestamp: T },
    });
    await expect(createCoinCapSource({ http: bad, config }).history('bitcoin', 'd1')).rejects.toThrow();
    expect(readCoinCapEnvelopeError({ error: 'limit exceeds 2000' })).toMatchObject({
      code: 'UPSTREAM_BAD_RESPONSE',
    });
    expect(readCoinCapEnvelopeError({ data: [], timestamp: T })).toBeUndefined();
    const errorBody = createLiteralHttp({ assets: { error: 'missing interval' } });
    await expect(createCoinCapSource({ http: errorBody, config }).assets(['bitcoin'])).rejects.toMatchObject({
      code: 'UPSTREAM_BAD_RESPONSE',
    });
  });
});
