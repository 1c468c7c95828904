import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/server.js';
import { createBinanceSource, parseTickerEvent, tickerStreamName } from '../../src/sources/binance.js';
import { HOUR, T } from '../helpers/clock.js';
import {
  createFetchHttp,
  createLiteralHttp,
  providerConfig,
  type RecordingFetchHttp,
} from '../helpers/fetch-http.js';
import { startProviderSandbox } from '../helpers/sandbox-http.js';

// The Binance source against literal Binance bodies (parsing) and against the sandbox (contract), through
// the minimal Http doubles of test/helpers/fetch-http.ts: envelopeError on HTTP 200, then the schema,
// every call recorded (with the response headers, where the server reports the weight it charged).

describe('binance source: parsing literal Binance bodies', () => {
  const config = providerConfig('binance', 'http://unused');

  it('reads ticker/price strings as numbers, stamped with the arrival time', async () => {
    const http = createLiteralHttp(() => [
      { symbol: 'BTCUSDT', price: '67012.34000000' },
      { symbol: 'ETHUSDT', price: '3401.10000000' },
    ]);
    const source = createBinanceSource({ http, config, now: () => T });
    const prices = await source.tickerPrices(['BTCUSDT', 'ETHUSDT']);
    expect(prices).toEqual(
      new Map([
        ['BTCUSDT', { price: 67012.34, asOf: new Date(T) }],
        ['ETHUSDT', { price: 3401.1, asOf: new Date(T) }],
      ]),
    );
    expect(http.calls[0]).toMatchObject({
      provider: 'binance',
      endpoint: 'ticker/price',
      path: '/api/v3/ticker/price',
      query: { symbols: '["BTCUSDT","ETHUSDT"]' },
      cost: 4,
    });
  });

  it('reads a FULL ticker/24hr row', async () => {
    const row = {
      symbol: 'BNBBTC',
      priceChange: '-94.99999800',
      priceChangePercent: '-95.960',
      weightedAvgPrice: '0.29628482',
      prevClosePrice: '0.10002000',
      lastPrice: '4.00000200',
      lastQty: '200.00000000',
      bidPrice: '4.00000000',
      bidQty: '100.00000000',
      askPrice: '4.00000200',
      askQty: '100.00000000',
      openPrice: '99.00000000',
      highPrice: '100.00000000',
      lowPrice: '0.10000000',
      volume: '8913.30000000',
      quoteVolume: '15.30000000',
      openTime: 1499783499040,
      closeTime: 1499869899040,
      firstId: 28385,
      lastId: 28460,
      count: 76,
    };
    const source = createBinanceSource({ http: createLiteralHttp(() => [row]), config });
    expect((await source.tickers24h(['BNBBTC'])).get('BNBBTC')).toEqual({
      last: 4.000002,
      open: 99,
      high: 100,
      low: 0.1,
      volume: 8913.3,
      quoteVolume: 15.3,
      changePercent: -95.96,
      openTime: new Date(1499783499040),
      closeTime: new Date(1499869899040),
    });
  });

  it('reads kline rows into candles whose closeTime is Binance closeTime + 1 ms', async () => {
    const rows = [
      [
        1499040000000,
        '0.01634790',
        '0.80000000',
        '0.01575800',
        '0.01577100',
        '148976.11427815',
        1499644799999,
        '2434.19055334',
        308,
        '1756.87402397',
        '28.46694368',
        '0',
      ],
      [
        1499644800000,
        '0.01577100',
        '0.01600000',
        '0.01500000',
        '0.01590000',
        '1000.00000000',
        1500249599999,
        '15.90000000',
        12,
        '500.00000000',
        '7.95000000',
        '0',
      ],
    ];
    const http = createLiteralHttp(() => rows);
    const source = createBinanceSource({ http, config });
    const candles = await source.klines('BNBBTC', '1w', { startTime: 1499040000000, limit: 2 });
    expect(candles[0]).toEqual({
      openTime: new Date(1499040000000),
      closeTime: new Date(1499644800000),
      open: 0.0163479,
      high: 0.8,
      low: 0.015758,
      close: 0.015771,
      volume: 148976.11427815,
      source: 'binance',
    });
    expect(candles[0]!.closeTime).toEqual(candles[1]!.openTime);
    expect(http.calls[0]).toMatchObject({
      endpoint: 'klines',
      path: '/api/v3/klines',
      query: { symbol: 'BNBBTC', interval: '1w', startTime: 1499040000000, limit: 2 },
      cost: 2,
    });
  });

  it('reads exchangeInfo pairs', async () => {
    const body = {
      timezone: 'UTC',
      serverTime: 1565246363776,
      rateLimits: [],
      exchangeFilters: [],
      symbols: [
        { symbol: 'ETHBTC', status: 'TRADING', baseAsset: 'ETH', quoteAsset: 'BTC', filters: [] },
        { symbol: 'LUNAUSDT', status: 'BREAK', baseAsset: 'LUNA', quoteAsset: 'USDT', filters: [] },
      ],
    };
    const source = createBinanceSource({ http: createLiteralHttp(() => body), config });
    expect(await source.exchangeInfo()).toEqual([
      { symbol: 'ETHBTC', base: 'ETH', quote: 'BTC', trading: true },
      { symbol: 'LUNAUSDT', base: 'LUNA', quote: 'USDT', trading: false },
    ]);
  });

  it('treats a {code, msg} body with HTTP 200 as an error, classified by code', async () => {
    const answer = (body: unknown) => createBinanceSource({ http: createLiteralHttp(() => body), config });
    const invalid = answer({ code: -1121, msg: 'Invalid symbol.' }).tickerPrices(['BTCUSDT']);
    await expect(invalid).rejects.toMatchObject({
      code: 'UPSTREAM_BAD_RESPONSE',
      message: expect.stringContaining('Invalid symbol.'),
    });
    const limited = answer({ code: -1003, msg: 'Too much request weight used' }).klines('BTCUSDT', '1m');
    await expect(limited).rejects.toMatchObject({ code: 'UPSTREAM_RATE_LIMITED' });
    const down = answer({ code: -1001, msg: 'Internal error' }).tickers24h(['BTCUSDT']);
    await expect(down).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
  });

  it('rejects bodies that break the contract', async () => {
    const bad = createBinanceSource({
      http: createLiteralHttp(() => [{ symbol: 'BTCUSDT', price: 'a lot' }]),
      config,
    });
    await expect(bad.tickerPrices(['BTCUSDT'])).rejects.toThrow(/decimal string/);
    const short = createBinanceSource({ http: createLiteralHttp(() => [[1, '1', '1']]), config });
    await expect(short.klines('BTCUSDT', '1m')).rejects.toThrow();
  });

  it('chunks symbol lists at the cheap sizes and drops names Binance cannot have', async () => {
    const http = createLiteralHttp((call) => {
      const names = JSON.parse(String(call.query!.symbols)) as string[];
      return call.endpoint === 'ticker/price'
        ? names.map((symbol) => ({ symbol, price: '1.00000000' }))
        : names.map((symbol) => ({
            symbol,
            priceChangePercent: '0.000',
            lastPrice: '1',
            openPrice: '1',
            highPrice: '1',
            lowPrice: '1',
            volume: '1',
            quoteVolume: '1',
            openTime: 0,
            closeTime: 1,
          }));
    });
    const { calls } = http;
    const source = createBinanceSource({ http, config });
    expect(source.maxSymbolsPerCall).toEqual({ tickerPrices: 100, tickers24h: 20 });
    const symbols = Array.from({ length: 150 }, (_, i) => `C${i}USDT`);
    const prices = await source.tickerPrices([...symbols, 'C0USDT', 'btc usdt', '']);
    expect(prices.size).toBe(150);
    expect(calls.map((c) => JSON.parse(String(c.query!.symbols)).length)).toEqual([100, 50]);
    expect(calls.every((c) => c.cost === 4)).toBe(true);

    calls.length = 0;
    const tickers = await source.tickers24h(symbols.slice(0, 45));
    expect(tickers.size).toBe(45);
    expect(calls.map((c) => JSON.parse(String(c.query!.symbols)).length)).toEqual([20, 20, 5]);
    expect(calls.map((c) => c.cost)).toEqual([2, 2, 2]);
    expect(calls[0]!.query!.type).toBe('FULL');

    calls.length = 0;
    expect((await source.tickerPrices([])).size).toBe(0);
    expect(calls).toHaveLength(0);
  });

  it('refuses bad kline arguments before calling, and calls nothing when disabled', async () => {
    const http = createLiteralHttp(() => []);
    const source = createBinanceSource({ http, config });
    await expect(source.klines('BTCUSDT', '7m')).rejects.toThrow(/interval must be one of 1s, 1m/);
    await expect(source.klines('BTCUSDT', '1m', { limit: 1001 })).rejects.toThrow(
      /limit must be a whole number from 1 to 1000, got 1001/,
    );
    const off = createBinanceSource({ http, config: { ...config, enabled: false } });
    await expect(off.exchangeInfo()).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect(http.calls).toHaveLength(0);
  });
});

describe('binance source: stream payloads', () => {
  it('parses a 24hrTicker event', () => {
    const event = {
      e: '24hrTicker',
      E: 1672515782136,
      s: 'BNBBTC',
      p: '0.0015',
      P: '250.00',
      w: '0.0018',
      x: '0.0009',
      c: '0.0025',
      Q: '10',
      b: '0.0024',
      B: '10',
      a: '0.0026',
      A: '100',
      o: '0.0010',
      h: '0.0025',
      l: '0.0010',
      v: '10000',
      q: '18',
      O: 0,
      C: 86400000,
      F: 0,
      L: 18150,
      n: 18151,
    };
    expect(parseTickerEvent(event)).toEqual({
      symbol: 'BNBBTC',
      price: 0.0025,
      change24h: 250,
      asOf: new Date(1672515782136),
    });
  });

  it('parses a 24hrMiniTicker event, computing the change from open and close', () => {
    const event = {
      e: '24hrMiniTicker',
      E: 1672515782136,
      s: 'BNBBTC',
      c: '0.0025',
      o: '0.0010',
      h: '0.0025',
      l: '0.0010',
      v: '10000',
      q: '18',
    };
    const parsed = parseTickerEvent(event)!;
    expect(parsed.symbol).toBe('BNBBTC');
    expect(parsed.price).toBe(0.0025);
    expect(parsed.change24h).toBeCloseTo(150, 10);
  });

  it('returns undefined for other payloads', () => {
    expect(parseTickerEvent({ e: 'kline', E: 1, s: 'BTCUSDT', k: {} })).toBeUndefined();
    expect(parseTickerEvent({ e: '24hrTicker', E: 1, s: 'BTCUSDT', c: 'NaN', P: '1' })).toBeUndefined();
    expect(parseTickerEvent(null)).toBeUndefined();
    expect(parseTickerEvent('{"e":"24hrTicker"}')).toBeUndefined();
  });

  it('names ticker streams in lower case', () => {
    expect(tickerStreamName('BTCUSDT')).toBe('btcusdt@ticker');
  });
});

describe('binance source: against the sandbox', () => {
  let sandbox: Sandbox;
  let http: RecordingFetchHttp;
  let source: ReturnType<typeof createBinanceSource>;

  beforeAll(async () => {
    let base: string;
    ({ sandbox, base } = await startProviderSandbox('binance', { now: () => T }));
    const config = providerConfig('binance', base);
    http = createFetchHttp(config);
    source = createBinanceSource({ http, config, now: () => T });
  });

  afterAll(async () => {
    await sandbox?.close();
  });

  it('lists the sandbox pairs', async () => {
    const pairs = await source.exchangeInfo();
    const expected = sandbox.market.assets.filter((a) => a.binanceBase).map((a) => `${a.binanceBase}USDT`);
    expect(pairs.map((p) => p.symbol)).toEqual(expected);
    expect(pairs.find((p) => p.symbol === 'BTCUSDT')).toEqual({
      symbol: 'BTCUSDT',
      base: 'BTC',
      quote: 'USDT',
      trading: true,
    });
  });

  it('reads prices and 24 h tickers that match the market', async () => {
    const prices = await source.tickerPrices(['BTCUSDT', 'ETHUSDT']);
    expect(prices.get('BTCUSDT')!.price).toBeCloseTo(sandbox.market.priceUsd('bitcoin', T), 6);
    expect(prices.get('ETHUSDT')!.price).toBeCloseTo(sandbox.market.priceUsd('ethereum', T), 6);
    expect(prices.get('BTCUSDT')!.asOf).toEqual(new Date(T));

    const stats = sandbox.market.stats24h('bitcoin', T);
    const ticker = (await source.tickers24h(['BTCUSDT'])).get('BTCUSDT')!;
    expect(ticker.last).toBeCloseTo(stats.close, 6);
    expect(ticker.open).toBeCloseTo(stats.open, 6);
    expect(ticker.high).toBeCloseTo(stats.high, 6);
    expect(ticker.low).toBeCloseTo(stats.low, 6);
    expect(ticker.volume).toBeCloseTo(stats.volume, 6);
    expect(ticker.changePercent).toBeCloseTo(stats.changePercent, 3);
    expect(ticker.openTime).toEqual(new Date(T - 24 * HOUR));
    expect(ticker.closeTime).toEqual(new Date(T));
  });

  it('pages klines forward from closeTime with no gap or overlap', async () => {
    const first = await source.klines('BTCUSDT', '1h', { startTime: T - 48 * HOUR, limit: 24 });
    expect(first).toHaveLength(24);
    const second = await source.klines('BTCUSDT', '1h', {
      startTime: first.at(-1)!.closeTime.getTime(),
      limit: 100,
    });
    const all = [...first, ...second];
    for (let i = 1; i < all.length; i++) expect(all[i]!.openTime).toEqual(all[i - 1]!.closeTime);
    const current = all.at(-1)!;
    expect(current.openTime.getTime()).toBe(Math.floor(T / HOUR) * HOUR);
    expect(current.close).toBeCloseTo(sandbox.market.priceUsd('bitcoin', T), 6);
    expect(all.every((c) => c.source === 'binance' && c.volume! > 0)).toBe(true);
  });

  it('declares the same weight the server charges', async () => {
    const from = http.calls.length;
    await source.exchangeInfo();
    await source.tickerPrices(['BTCUSDT']);
    await source.tickers24h(['BTCUSDT', 'ETHUSDT']);
    await source.klines('BTCUSDT', '1d', { limit: 3 });
    const calls = http.calls.slice(from);
    const used = http.responseHeaders.slice(from).map((h) => Number(h.get('x-mbx-used-weight-1m')));
    for (let i = 1; i < calls.length; i++) {
      expect(used[i]! - used[i - 1]!, calls[i]!.endpoint).toBe(calls[i]!.cost);
    }
    expect(calls.map((c) => c.cost)).toEqual([20, 4, 2, 2]);
  });

  it('fails the whole batch when one symbol is not listed (the documented contract)', async () => {
    await expect(source.tickerPrices(['BTCUSDT', 'NOPEUSDT'])).rejects.toThrow(/-1121/);
  });
});
