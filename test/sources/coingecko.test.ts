import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/server.js';
import { createCoinGeckoSource } from '../../src/sources/coingecko.js';
import { DAY, HOUR, MINUTE, T } from '../helpers/clock.js';
import {
  createFetchHttp,
  createLiteralHttp,
  providerConfig,
  type RecordingFetchHttp,
} from '../helpers/fetch-http.js';
import { startProviderSandbox } from '../helpers/sandbox-http.js';

// The CoinGecko source against the sandbox dialect (over real loopback HTTP) and against literal
// bodies in CoinGecko's documented shapes, through the minimal Http doubles of test/helpers/fetch-http.ts;
// retries, quotas and error classification belong to src/http/client.ts and are tested there.

describe('coingecko source over the sandbox dialect', () => {
  let sandbox: Sandbox;
  let http: RecordingFetchHttp;
  let source: ReturnType<typeof createCoinGeckoSource>;

  beforeAll(async () => {
    let base: string;
    ({ sandbox, base } = await startProviderSandbox('coingecko', { quotas: false, now: () => T }));
    const config = providerConfig('coingecko', base);
    http = createFetchHttp(config);
    source = createCoinGeckoSource({ http, config, now: () => T });
  });

  afterAll(async () => {
    await sandbox?.close();
  });

  it('states its per-call id limit', () => {
    expect(source.maxIdsPerCall).toBe(250);
  });

  it('maps /coins/markets rows to asset + market pairs in one call', async () => {
    const ids = sandbox.market.assets.map((a) => a.id);
    sandbox.resetCounts();
    const pairs = await source.markets([...ids, 'no-such-coin'], 'EUR');
    expect(sandbox.count('coingecko', 'coins/markets')).toBe(1);
    expect(http.calls.at(-1)!.query).toMatchObject({ vs_currency: 'eur', per_page: '250' });
    expect(pairs.map((p) => p.asset.id).sort()).toEqual([...ids].sort());
    for (const { asset, market } of pairs) {
      const reference = sandbox.market.byId(asset.id)!;
      expect(asset).toMatchObject({
        symbol: reference.symbol.toUpperCase(),
        name: reference.name,
        rank: reference.rank,
        contracts: [],
      });
      expect(asset.logo).toMatch(/^https:\/\//);
      expect(market).toMatchObject({
        assetId: asset.id,
        currency: 'eur',
        price: sandbox.market.price(asset.id, 'eur', T),
        circulatingSupply: reference.circulatingSupply,
        totalSupply: reference.totalSupply,
        maxSupply: reference.maxSupply,
        source: 'coingecko',
      });
      expect(market.marketCap).toBeCloseTo(market.price * reference.circulatingSupply, 0);
      expect(market.change24h).toBe(sandbox.market.stats24h(asset.id, T, 'eur').changePercent);
      expect(market.asOf.getTime()).toBe(T);
    }
  });

  it('chunks more ids than one call takes, and makes no call for none', async () => {
    const ids = [...Array.from({ length: 260 }, (_, i) => `unknown-${i}`), 'bitcoin'];
    sandbox.resetCounts();
    const pairs = await source.markets(ids, 'usd');
    expect(sandbox.count('coingecko', 'coins/markets')).toBe(2);
    expect(pairs.map((p) => p.asset.id)).toEqual(['bitcoin']);
    expect(await source.markets([], 'usd')).toEqual([]);
    expect(await source.simplePrices([], ['usd'])).toEqual([]);
    expect(sandbox.count('coingecko')).toBe(2);
  });

  it('pages the top of the market by market cap', async () => {
    const first = await source.topMarkets('usd', 1, 2);
    expect(first.map((p) => p.asset.rank)).toEqual([1, 2]);
    const second = await source.topMarkets('usd', 2, 1);
    expect(second.map((p) => p.asset.id)).toEqual([first[1]!.asset.id]);
    expect(http.calls.at(-1)!.query).toMatchObject({ order: 'market_cap_desc', per_page: '1', page: '2' });
    expect(http.calls.at(-1)!.query).not.toHaveProperty('category');
    await expect(source.topMarkets('usd', 1, 251)).rejects.toThrow(
      /perPage must be a whole number from 1 to 250/,
    );
    await expect(source.topMarkets('usd', 0, 10)).rejects.toThrow(/page/);
  });

  it('lists the categories and ranks one category by its id', async () => {
    const categories = await source.categories();
    expect(http.calls.at(-1)!.endpoint).toBe('coins/categories/list');
    expect(categories).toContainEqual({ id: 'meme-token', name: 'Meme' });
    const memes = await source.topMarkets('usd', 1, 250, 'market_cap_desc', 'meme-token');
    expect(http.calls.at(-1)!.query).toMatchObject({ category: 'meme-token', per_page: '250' });
    expect(memes.map((p) => p.asset.id)).toContain('dogecoin');
    expect(memes.map((p) => p.asset.id)).not.toContain('bitcoin');
    const ranks = memes.map((p) => p.asset.rank!);
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
  });

  it('maps /simple/price to Prices for every known id × currency', async () => {
    sandbox.resetCounts();
    const prices = await source.simplePrices(['bitcoin', 'ethereum', 'no-such-coin'], ['usd', 'EUR', 'xyz']);
    expect(sandbox.count('coingecko', 'simple/price')).toBe(1);
    expect(prices).toHaveLength(4);
    for (const price of prices) {
      expect(price.value).toBe(sandbox.market.price(price.assetId, price.currency, T));
      expect(price.change24h).toBe(sandbox.market.stats24h(price.assetId, T, price.currency).changePercent);
      expect(price.asOf.getTime()).toBe(Math.floor(T / 1000) * 1000);
      expect(price).toMatchObject({ source: 'coingecko', stale: false });
    }
    expect(prices.map((p) => `${p.assetId}/${p.currency}`).sort()).toEqual([
      'bitcoin/eur',
      'bitcoin/usd',
      'ethereum/eur',
      'ethereum/usd',
    ]);
  });

  it('maps /coins/list with platforms to AssetInfo with contracts', async () => {
    const assets = await source.coinList();
    expect(assets).toHaveLength(sandbox.market.assets.length);
    const byId = new Map(assets.map((a) => [a.id, a]));
    expect(byId.get('bitcoin')).toEqual({
      id: 'bitcoin',
      symbol: 'BTC',
      name: 'Bitcoin',
      rank: null,
      logo: null,
      contracts: [],
    });
    expect(byId.get('tether')!.contracts).toContainEqual({
      chain: 'ethereum',
      address: '0xdac17f958d2ee523a2206206994597c13d831ec7',
    });
  });

  it('turns OHLC rows into candles whose open time follows the granularity rule', async () => {
    const day = await source.ohlc('bitcoin', 'usd', 1);
    expect(day.length).toBeGreaterThanOrEqual(48);
    for (const candle of day) {
      expect(candle.closeTime.getTime() - candle.openTime.getTime()).toBe(30 * MINUTE);
      expect(candle.volume).toBeNull();
      expect(candle.source).toBe('coingecko');
      const reference = sandbox.market.candle('bitcoin', 30 * MINUTE, candle.openTime.getTime(), 'usd');
      expect([candle.open, candle.high, candle.low, candle.close]).toEqual([
        reference.open,
        reference.high,
        reference.low,
        reference.close,
      ]);
    }

    const three = await source.ohlc('bitcoin', 'usd', 3);
    expect(http.calls.at(-1)!.query).toMatchObject({ days: '7' });
    expect(three[0]!.closeTime.getTime()).toBeGreaterThan(T - 3 * DAY);
    for (const candle of three) expect(candle.closeTime.getTime() - candle.openTime.getTime()).toBe(4 * HOUR);

    const year = await source.ohlc('bitcoin', 'usd', 500);
    expect(http.calls.at(-1)!.query).toMatchObject({ days: '365' });
    for (const candle of year) expect(candle.closeTime.getTime() - candle.openTime.getTime()).toBe(4 * DAY);
    await expect(source.ohlc('bitcoin', 'usd', 0)).rejects.toThrow(/days must be positive/);
  });

  it('maps market_chart/range to points with prices and 24 h volumes', async () => {
    const points = await source.marketChartRange('bitcoin', 'usd', new Date(T - 2 * DAY), new Date(T));
    expect(http.calls.at(-1)!.query).toMatchObject({
      from: String(Math.floor((T - 2 * DAY) / 1000)),
      to: String(Math.ceil(T / 1000)),
    });
    expect(points.length).toBeGreaterThanOrEqual(48);
    expect(points[1]!.at.getTime() - points[0]!.at.getTime()).toBe(HOUR);
    expect(points.at(-1)!.at.getTime()).toBe(T);
    for (const point of points) {
      expect(point.price).toBe(sandbox.market.price('bitcoin', 'usd', point.at.getTime()));
      expect(point.volume).toBeGreaterThan(0);
    }
  });

  it('pings, without a key header when no key is configured', async () => {
    await expect(source.ping()).resolves.toBeUndefined();
    expect(http.calls.at(-1)!.headers).toEqual({});
  });
});

describe('coingecko source: auth', () => {
  it('sends the Demo key header to the public host and the Pro header to the pro host', async () => {
    const demo = createLiteralHttp({ ping: { gecko_says: '(V3) To the Moon!' } });
    await createCoinGeckoSource({
      http: demo,
      config: providerConfig('coingecko', 'https://api.coingecko.com/api/v3', 'CG-demo'),
    }).ping();
    expect(demo.calls[0]!.headers).toEqual({ 'x-cg-demo-api-key': 'CG-demo' });

    const pro = createLiteralHttp({ ping: { gecko_says: '(V3) To the Moon!' } });
    await createCoinGeckoSource({
      http: pro,
      config: providerConfig('coingecko', 'https://pro-api.coingecko.com/api/v3', 'CG-pro'),
    }).ping();
    expect(pro.calls[0]!.headers).toEqual({ 'x-cg-pro-api-key': 'CG-pro' });
    expect(pro.calls[0]).toMatchObject({ provider: 'coingecko', endpoint: 'ping', path: '/ping' });
  });

  it('asks the pro host for days=max when more than a year of candles is wanted', async () => {
    const http = createLiteralHttp({ 'coins/ohlc': [] });
    const source = createCoinGeckoSource({
      http,
      config: providerConfig('coingecko', 'https://pro-api.coingecko.com/api/v3', 'CG-pro'),
    });
    expect(await source.ohlc('bitcoin', 'usd', 1000)).toEqual([]);
    expect(http.calls[0]!.query).toMatchObject({ days: 'max' });
    expect(http.calls[0]!.path).toBe('/coins/bitcoin/ohlc');
  });
});

describe('coingecko source: parsing documented bodies', () => {
  const config = providerConfig('coingecko', 'https://api.coingecko.com/api/v3');
  const NOW = Date.parse('2024-03-25T09:00:00.000Z');

  function marketRow(overrides: Record<string, unknown>): Record<string, unknown> {
    return {
      id: 'bitcoin',
      symbol: 'btc',
      name: 'Bitcoin',
      image: 'https://coin-images.coingecko.com/coins/images/1/large/bitcoin.png?1696501400',
      current_price: 70187,
      market_cap: 1381651251183,
      market_cap_rank: 1,
      fully_diluted_valuation: 1474623675796,
      total_volume: 20154184933,
      high_24h: 70215,
      low_24h: 68060,
      price_change_24h: 2126.88,
      price_change_percentage_24h: 3.12502,
      market_cap_change_24h: 44287678051,
      market_cap_change_percentage_24h: 3.31157,
      circulating_supply: 19675987,
      total_supply: 21000000,
      max_supply: 21000000,
      ath: 73738,
      ath_change_percentage: -4.77063,
      ath_date: '2024-03-14T07:10:36.635Z',
      atl: 67.81,
      atl_change_percentage: 103455.83335,
      atl_date: '2013-07-06T00:00:00.000Z',
      roi: null,
      last_updated: '2024-03-25T08:47:18.394Z',
      ...overrides,
    };
  }

  it('maps markets rows with nulls, zero market caps and extra keys; drops rows without a price', async () => {
    const http = createLiteralHttp({
      'coins/markets': [
        marketRow({ sparkline_in_7d: { price: [1, 2] }, price_change_percentage_1h_in_currency: 0.1 }),
        marketRow({
          id: 'thin-coin',
          symbol: 'thin',
          name: 'Thin Coin',
          image: null,
          market_cap: 0,
          market_cap_rank: null,
          fully_diluted_valuation: null,
          high_24h: null,
          low_24h: null,
          price_change_percentage_24h: null,
          total_supply: null,
          max_supply: null,
          roi: { times: 1.2, currency: 'usd', percentage: 120 },
          last_updated: null,
        }),
        marketRow({ id: 'dead-coin', current_price: null }),
      ],
    });
    const pairs = await createCoinGeckoSource({ http, config, now: () => NOW }).markets(
      ['bitcoin', 'thin-coin', 'dead-coin'],
      'usd',
    );
    expect(pairs.map((p) => p.asset.id)).toEqual(['bitcoin', 'thin-coin']);
    expect(pairs[0]!.market).toEqual({
      assetId: 'bitcoin',
      currency: 'usd',
      price: 70187,
      marketCap: 1381651251183,
      volume24h: 20154184933,
      change24h: 3.12502,
      high24h: 70215,
      low24h: 68060,
      circulatingSupply: 19675987,
      totalSupply: 21000000,
      maxSupply: 21000000,
      asOf: new Date('2024-03-25T08:47:18.394Z'),
      source: 'coingecko',
    });
    expect(pairs[1]!.asset).toEqual({
      id: 'thin-coin',
      symbol: 'THIN',
      name: 'Thin Coin',
      rank: null,
      logo: null,
      contracts: [],
    });
    expect(pairs[1]!.market).toMatchObject({
      marketCap: null,
      change24h: null,
      high24h: null,
      maxSupply: null,
      asOf: new Date(NOW),
    });
  });

  it('rejects markets rows missing a field we use or carrying numbers as strings', async () => {
    const { current_price: _dropped, ...withoutPrice } = marketRow({});
    for (const row of [withoutPrice, marketRow({ current_price: '70187' }), marketRow({ id: '' })]) {
      const http = createLiteralHttp({ 'coins/markets': [row] });
      await expect(createCoinGeckoSource({ http, config }).markets(['bitcoin'], 'usd')).rejects.toThrow();
    }
  });

  it('maps coins/categories/list in its documented shape and rejects any other', async () => {
    const body = [
      { category_id: 'layer-1', name: 'Layer 1 (L1)' },
      { category_id: 'meme-token', name: 'Meme' },
    ];
    const ok = createLiteralHttp({ 'coins/categories/list': body });
    expect(await createCoinGeckoSource({ http: ok, config }).categories()).toEqual([
      { id: 'layer-1', name: 'Layer 1 (L1)' },
      { id: 'meme-token', name: 'Meme' },
    ]);
    for (const bad of [[{ id: 'layer-1', name: 'Layer 1' }], [{ category_id: '', name: 'x' }], {}]) {
      const http = createLiteralHttp({ 'coins/categories/list': bad });
      await expect(createCoinGeckoSource({ http, config }).categories()).rejects.toThrow();
    }
  });

  it('maps simple/price: seconds to Date, null or absent change to null, absent keys skipped', async () => {
    const http = createLiteralHttp({
      'simple/price': {
        bitcoin: {
          usd: 67187.3358936566,
          usd_market_cap: 1317802988326.25,
          usd_24h_vol: 31260929299.5248,
          usd_24h_change: 3.63727894677354,
          last_updated_at: 1711356300,
        },
        'stale-coin': { usd: 0.42, usd_24h_change: null, last_updated_at: 1711000000 },
        'bare-coin': { usd: 2 },
        'eur-only': { eur: 5, last_updated_at: 1711356300 },
      },
    });
    const prices = await createCoinGeckoSource({ http, config, now: () => NOW }).simplePrices(
      ['bitcoin', 'stale-coin', 'bare-coin', 'eur-only', 'missing-coin'],
      ['usd'],
    );
    expect(prices).toEqual([
      {
        assetId: 'bitcoin',
        currency: 'usd',
        value: 67187.3358936566,
        change24h: 3.63727894677354,
        asOf: new Date(1711356300 * 1000),
        source: 'coingecko',
        stale: false,
      },
      {
        assetId: 'stale-coin',
        currency: 'usd',
        value: 0.42,
        change24h: null,
        asOf: new Date(1711000000 * 1000),
        source: 'coingecko',
        stale: false,
      },
      {
        assetId: 'bare-coin',
        currency: 'usd',
        value: 2,
        change24h: null,
        asOf: new Date(NOW),
        source: 'coingecko',
        stale: false,
      },
    ]);
    expect(http.calls[0]!.query).toMatchObject({
      ids: 'bitcoin,stale-coin,bare-coin,eur-only,missing-coin',
      vs_currencies: 'usd',
      include_24hr_change: 'true',
      include_last_updated_at: 'true',
    });
  });

  it('maps coins/list platforms, dropping empty and null addresses', async () => {
    const http = createLiteralHttp({
      'coins/list': [
        { id: 'bitcoin', symbol: 'btc', name: 'Bitcoin', platforms: {} },
        {
          id: 'usd-coin',
          symbol: 'usdc',
          name: 'USDC',
          platforms: {
            ethereum: '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48',
            solana: 'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v',
            'near-protocol': '',
            sora: null,
          },
        },
        { id: 'no-platforms', symbol: 'np', name: 'No Platforms' },
        { id: 'native-quirk', symbol: 'nq', name: 'Native Quirk', platforms: { '': '' } },
      ],
    });
    const assets = await createCoinGeckoSource({ http, config }).coinList();
    expect(http.calls[0]!.query).toEqual({ include_platform: 'true' });
    expect(assets.map((a) => a.contracts)).toEqual([
      [],
      [
        { chain: 'ethereum', address: '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48' },
        { chain: 'solana', address: 'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v' },
      ],
      [],
      [],
    ]);
    expect(assets[1]).toMatchObject({ id: 'usd-coin', symbol: 'USDC', name: 'USDC', rank: null, logo: null });
  });

  it('derives candle open times from the close times CoinGecko sends', async () => {
    const close = Date.parse('2024-03-25T08:00:00.000Z');
    const rows = [
      [close - 4 * DAY, 64000, 66000, 63000, 65000],
      [close, 65000, 71000, 64500, 70000.5],
    ];
    for (const [days, length] of [
      [1, 30 * MINUTE],
      [14, 4 * HOUR],
      [180, 4 * DAY],
    ] as const) {
      const http = createLiteralHttp({ 'coins/ohlc': rows });
      const candles = await createCoinGeckoSource({ http, config, now: () => close }).ohlc(
        'bitcoin',
        'eur',
        days,
      );
      const last = candles.at(-1)!;
      expect(last).toEqual({
        openTime: new Date(close - length),
        closeTime: new Date(close),
        open: 65000,
        high: 71000,
        low: 64500,
        close: 70000.5,
        volume: null,
        source: 'coingecko',
      });
      expect(http.calls[0]!.query).toEqual({ vs_currency: 'eur', days: String(days) });
    }
  });

  it('maps market_chart ms timestamps, skipping null prices and pairing volumes by time', async () => {
    const http = createLiteralHttp({
      'coins/market_chart/range': {
        prices: [
          [1711324800000, 67000.1],
          [1711328400000, null],
          [1711332000000, 67500.2],
        ],
        market_caps: [[1711324800000, 1.3e12]],
        total_volumes: [[1711324800000, 2.5e10]],
      },
    });
    const points = await createCoinGeckoSource({ http, config }).marketChartRange(
      'bitcoin',
      'usd',
      new Date(1711324800000),
      new Date(1711332000000),
    );
    expect(points).toEqual([
      { at: new Date(1711324800000), price: 67000.1, volume: 2.5e10 },
      { at: new Date(1711332000000), price: 67500.2, volume: null },
    ]);
    expect(http.calls[0]!.path).toBe('/coins/bitcoin/market_chart/range');
    expect(http.calls[0]!.query).toMatchObject({ from: '1711324800', to: '1711332000' });
  });
});
