import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { DialectFactory } from '../../src/sandbox/dialect.js';
import { createBinanceDialect } from '../../src/sandbox/providers/binance/dialect.js';
import type { Sandbox } from '../../src/sandbox/server.js';
import { DAY, HOUR, MINUTE, T } from '../helpers/clock.js';
import {
  fetchReply,
  type Reply,
  startProviderSandbox,
  withProviderSandbox,
} from '../helpers/sandbox-http.js';

// The Binance dialect over real loopback HTTP and WebSocket. REST runs on a pinned clock so every
// number can be checked against the market model; streams tick every 100 ms.

const DECIMAL_8 = /^-?\d+\.\d{8}$/;

/** The tail that FULL and MINI 24 h tickers share, in Binance's order. */
const WINDOW_KEYS = ['volume', 'quoteVolume', 'openTime', 'closeTime', 'firstId', 'lastId', 'count'];
const FULL_KEYS = [
  'symbol',
  'priceChange',
  'priceChangePercent',
  'weightedAvgPrice',
  'prevClosePrice',
  'lastPrice',
  'lastQty',
  'bidPrice',
  'bidQty',
  'askPrice',
  'askQty',
  'openPrice',
  'highPrice',
  'lowPrice',
  ...WINDOW_KEYS,
];
const MINI_KEYS = ['symbol', 'openPrice', 'highPrice', 'lowPrice', 'lastPrice', ...WINDOW_KEYS];
const WS_TICKER_KEYS = [
  'e',
  'E',
  's',
  'p',
  'P',
  'w',
  'x',
  'c',
  'Q',
  'b',
  'B',
  'a',
  'A',
  'o',
  'h',
  'l',
  'v',
  'q',
  'O',
  'C',
  'F',
  'L',
  'n',
];

/** Parsed JSON bodies: the tests assert their shape field by field. */
// biome-ignore lint/suspicious/noExplicitAny: test bodies are checked at runtime
type Json = any;

let sandbox: Sandbox;
let base: string;
let wsBase: string;
const sockets: WebSocket[] = [];

const get = (path: string, root = base) => fetchReply(`${root}${path}`);

const used = (reply: Reply) => Number(reply.headers.get('x-mbx-used-weight-1m'));
const list = (symbols: string[]) => encodeURIComponent(JSON.stringify(symbols));
const binanceSymbols = () =>
  sandbox.market.assets.filter((a) => a.binanceBase).map((a) => `${a.binanceBase}USDT`);

interface Client {
  ws: WebSocket;
  frames: Json[];
  /** Resolves with the first frame (already received or future) that satisfies `match`. */
  next(match: (frame: Json) => boolean, timeoutMs?: number): Promise<Json>;
  closed: Promise<number>;
}

async function connect(path: string, options: WebSocket.ClientOptions = {}): Promise<Client> {
  const ws = new WebSocket(`${wsBase}${path}`, options);
  sockets.push(ws);
  const frames: Json[] = [];
  const waiters: Array<{ match: (f: Json) => boolean; resolve: (f: Json) => void }> = [];
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    frames.push(frame);
    for (const w of [...waiters]) {
      if (w.match(frame)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(frame);
      }
    }
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    frames,
    closed,
    next(match, timeoutMs = 3000) {
      const seen = frames.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no matching frame in time')), timeoutMs);
        waiters.push({
          match,
          resolve: (f) => {
            clearTimeout(timer);
            resolve(f);
          },
        });
      });
    },
  };
}

async function until(check: () => boolean, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  ({ sandbox, base } = await startProviderSandbox('binance', { now: () => T, tickMs: 100 }));
  wsBase = sandbox.endpoints.binance!.wsUrl!;
});

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await sandbox?.close();
});

describe('binance dialect: REST shapes', () => {
  it('serves ping and time at the root base URL', async () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await get('/api/v3/ping')).body).toEqual({});
    expect((await get('/api/v3/time')).body).toEqual({ serverTime: T });
  });

  it('lists every <base>USDT pair in exchangeInfo, filterable by symbol and symbols', async () => {
    const all = await get('/api/v3/exchangeInfo');
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ timezone: 'UTC', serverTime: T, exchangeFilters: [] });
    expect(all.body.rateLimits).toContainEqual({
      rateLimitType: 'REQUEST_WEIGHT',
      interval: 'MINUTE',
      intervalNum: 1,
      limit: 6000,
    });
    expect(all.body.rateLimits.map((r: Json) => r.rateLimitType)).toContain('RAW_REQUESTS');
    expect(all.body.symbols.map((s: Json) => s.symbol)).toEqual(binanceSymbols());
    const btc = all.body.symbols.find((s: Json) => s.symbol === 'BTCUSDT');
    expect(btc).toMatchObject({
      status: 'TRADING',
      baseAsset: 'BTC',
      baseAssetPrecision: 8,
      quoteAsset: 'USDT',
      quotePrecision: 8,
      quoteAssetPrecision: 8,
      isSpotTradingAllowed: true,
    });
    expect(btc.orderTypes).toContain('LIMIT');
    const priceFilter = btc.filters.find((f: Json) => f.filterType === 'PRICE_FILTER');
    expect(priceFilter.tickSize).toBe('0.01000000');
    expect(btc.filters.find((f: Json) => f.filterType === 'LOT_SIZE').stepSize).toBe('0.00001000');
    expect(btc.permissionSets).toEqual([['SPOT']]);

    const one = await get('/api/v3/exchangeInfo?symbol=ETHUSDT');
    expect(one.body.symbols.map((s: Json) => s.symbol)).toEqual(['ETHUSDT']);
    const two = await get(`/api/v3/exchangeInfo?symbols=${list(['ETHUSDT', 'BTCUSDT'])}`);
    expect(two.body.symbols.map((s: Json) => s.symbol)).toEqual(['ETHUSDT', 'BTCUSDT']);
  });

  it('prices as 8-decimal strings: one object for symbol, an array for symbols or none', async () => {
    const one = await get('/api/v3/ticker/price?symbol=BTCUSDT');
    expect(one.body).toEqual({ symbol: 'BTCUSDT', price: sandbox.market.priceUsd('bitcoin', T).toFixed(8) });
    expect(one.body.price).toMatch(DECIMAL_8);

    const some = await get(`/api/v3/ticker/price?symbols=${list(['BTCUSDT', 'ETHUSDT'])}`);
    expect(some.body).toEqual([
      { symbol: 'BTCUSDT', price: sandbox.market.priceUsd('bitcoin', T).toFixed(8) },
      { symbol: 'ETHUSDT', price: sandbox.market.priceUsd('ethereum', T).toFixed(8) },
    ]);
    // An unencoded JSON array works too, as it does against Binance with curl.
    expect((await get('/api/v3/ticker/price?symbols=["ETHUSDT"]')).body).toHaveLength(1);

    const all = await get('/api/v3/ticker/price');
    expect(all.body.map((r: Json) => r.symbol)).toEqual(binanceSymbols());
  });

  it('reports the rolling 24 h ticker in FULL and MINI form from market.stats24h', async () => {
    const full = await get('/api/v3/ticker/24hr?symbol=BTCUSDT');
    expect(Object.keys(full.body)).toEqual(FULL_KEYS);
    const stats = sandbox.market.stats24h('bitcoin', T);
    for (const key of FULL_KEYS.slice(1, 16)) expect(typeof full.body[key]).toBe('string');
    for (const key of FULL_KEYS.slice(16)) expect(Number.isInteger(full.body[key])).toBe(true);
    expect(full.body).toMatchObject({
      lastPrice: stats.close.toFixed(8),
      openPrice: stats.open.toFixed(8),
      highPrice: stats.high.toFixed(8),
      lowPrice: stats.low.toFixed(8),
      volume: stats.volume.toFixed(8),
      quoteVolume: stats.quoteVolume.toFixed(8),
      priceChange: (stats.close - stats.open).toFixed(8),
      priceChangePercent: stats.changePercent.toFixed(3),
      openTime: T - DAY,
      closeTime: T,
    });
    expect(full.body.lastId - full.body.firstId + 1).toBe(full.body.count);
    expect(Number(full.body.bidPrice)).toBeLessThanOrEqual(stats.close);
    expect(Number(full.body.askPrice)).toBeGreaterThan(stats.close);
    expect(Number(full.body.weightedAvgPrice)).toBeGreaterThanOrEqual(stats.low);
    expect(Number(full.body.weightedAvgPrice)).toBeLessThanOrEqual(stats.high);

    const mini = await get(`/api/v3/ticker/24hr?symbols=${list(['ETHUSDT', 'BTCUSDT'])}&type=MINI`);
    expect(mini.body).toHaveLength(2);
    for (const row of mini.body) expect(Object.keys(row)).toEqual(MINI_KEYS);
    expect(mini.body[1].lastPrice).toBe(full.body.lastPrice);

    const all = await get('/api/v3/ticker/24hr');
    expect(all.body).toHaveLength(binanceSymbols().length);
  });
});

describe('binance dialect: errors in Binance form', () => {
  const cases: Array<[string, string, number, number, string | RegExp]> = [
    ['unknown symbol', '/api/v3/ticker/price?symbol=NOPEUSDT', 400, -1121, 'Invalid symbol.'],
    [
      'unknown symbol in a list',
      `/api/v3/ticker/24hr?symbols=${list(['BTCUSDT', 'NOPEUSDT'])}`,
      400,
      -1121,
      'Invalid symbol.',
    ],
    ['unknown symbol in klines', '/api/v3/klines?symbol=NOPEUSDT&interval=1m', 400, -1121, 'Invalid symbol.'],
    [
      'symbols that are not a JSON array',
      '/api/v3/ticker/price?symbols=BTCUSDT,ETHUSDT',
      400,
      -1100,
      `Illegal characters found in parameter 'symbols'; legal range is '^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$'.`,
    ],
    [
      'lower-case symbols',
      `/api/v3/ticker/price?symbols=${list(['btcusdt'])}`,
      400,
      -1100,
      /parameter 'symbols'/,
    ],
    [
      'lower-case symbol',
      '/api/v3/ticker/price?symbol=btcusdt',
      400,
      -1100,
      /parameter 'symbol'; legal range/,
    ],
    [
      'duplicate symbols',
      `/api/v3/ticker/price?symbols=${list(['BTCUSDT', 'BTCUSDT'])}`,
      400,
      -1151,
      'Symbol is present multiple times in the list.',
    ],
    [
      'klines without symbol',
      '/api/v3/klines?interval=1m',
      400,
      -1102,
      "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
    ],
    [
      'klines with a bad interval',
      '/api/v3/klines?symbol=BTCUSDT&interval=7m',
      400,
      -1120,
      'Invalid interval.',
    ],
    ['klines over 1000 rows', '/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1001', 400, -1130, /'limit'/],
    [
      'an unread parameter',
      '/api/v3/ticker/price?symbol=BTCUSDT&foo=1',
      400,
      -1104,
      /read '1' parameter\(s\) but was sent '2'/,
    ],
    ['a bad ticker type', '/api/v3/ticker/24hr?symbol=BTCUSDT&type=BIG', 400, -1139, 'Invalid ticker type.'],
  ];
  it.each(cases)('%s', async (_name, path, status, code, msg) => {
    const reply = await get(path);
    expect(reply.status).toBe(status);
    expect(Object.keys(reply.body)).toEqual(['code', 'msg']);
    expect(reply.body.code).toBe(code);
    if (typeof msg === 'string') expect(reply.body.msg).toBe(msg);
    else expect(reply.body.msg).toMatch(msg);
  });

  it('answers an unknown path with a bare 404 page, not JSON', async () => {
    const reply = await get('/api/v3/nope');
    expect(reply.status).toBe(404);
    expect(reply.body).toBeUndefined();
    expect(reply.headers.get('content-type')).toMatch(/text\/html/);
  });

  it('answers an injected 5xx with code -1001', async () => {
    sandbox.faults.set('binance', 'ticker/price', { kind: 'server-error', status: 503, times: 1 });
    const reply = await get('/api/v3/ticker/price?symbol=BTCUSDT');
    expect(reply.status).toBe(503);
    expect(reply.body).toEqual({
      code: -1001,
      msg: 'Internal error; unable to process your request. Please try again.',
    });
  });
});

describe('binance dialect: request weight', () => {
  it('charges each call its documented weight and reports the running total', async () => {
    const many = (n: number) => list(Array.from({ length: n }, (_, i) => `X${i}USDT`));
    const calls: Array<[string, number]> = [
      ['/api/v3/ping', 1],
      ['/api/v3/ticker/price?symbol=BTCUSDT', 2],
      [`/api/v3/ticker/price?symbols=${list(['BTCUSDT', 'ETHUSDT'])}`, 4],
      ['/api/v3/ticker/price', 4],
      ['/api/v3/ticker/24hr?symbol=BTCUSDT', 2],
      [`/api/v3/ticker/24hr?symbols=${list(['BTCUSDT', 'ETHUSDT'])}`, 2],
      [`/api/v3/ticker/24hr?symbols=${many(20)}`, 2],
      [`/api/v3/ticker/24hr?symbols=${many(21)}`, 40],
      [`/api/v3/ticker/24hr?symbols=${many(100)}`, 40],
      [`/api/v3/ticker/24hr?symbols=${many(101)}`, 80],
      ['/api/v3/ticker/24hr', 80],
      ['/api/v3/klines?symbol=BTCUSDT&interval=1h&limit=3', 2],
      ['/api/v3/exchangeInfo?symbol=BTCUSDT', 20],
      ['/api/v3/klines?symbol=NOPEUSDT&interval=1h', 2], // errors are charged too
    ];
    let previous = used(await get('/api/v3/ping'));
    for (const [path, weight] of calls) {
      const reply = await get(path);
      expect(reply.headers.get('x-mbx-used-weight-1m'), path).toMatch(/^\d+$/);
      expect(used(reply) - previous, path).toBe(weight);
      previous = used(reply);
    }
  });

  it('answers 429 with Retry-After, then 418 to a client that keeps calling', async () => {
    const quotas = { binance: { limit: 10, windowMs: 60_000 } };
    await withProviderSandbox('binance', { quotas }, async ({ base: url }) => {
      for (let i = 1; i <= 5; i++) {
        const ok = await get('/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1', url);
        expect(ok.status).toBe(200);
        expect(used(ok)).toBe(2 * i);
      }
      const limited = await get('/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1', url);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(limited.body).toEqual({
        code: -1003,
        msg: 'Too much request weight used; current limit is 6000 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.',
      });
      const banned = await get('/api/v3/ticker/price?symbol=BTCUSDT', url);
      expect(banned.status).toBe(418);
      expect(Number(banned.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(banned.body.code).toBe(-1003);
      const until = Number(/IP banned until (\d+)\./.exec(banned.body.msg)?.[1]);
      expect(until).toBeGreaterThan(Date.now());
      expect(banned.body.msg).toMatch(
        /^Way too much request weight used; IP banned until \d+\. Please use WebSocket Streams/,
      );
    });
  });
});

describe('binance dialect: klines', () => {
  type Row = [number, string, string, string, string, string, number, string, number, string, string, string];
  const klines = async (query: string): Promise<Row[]> => {
    const reply = await get(`/api/v3/klines?symbol=BTCUSDT&${query}`);
    expect(reply.status, reply.text).toBe(200);
    return reply.body;
  };

  it('returns the latest 500 one-minute candles by default, in Binance row form', async () => {
    const rows = await klines('interval=1m');
    expect(rows).toHaveLength(500);
    const latest = Math.floor(T / MINUTE) * MINUTE;
    expect(rows.at(-1)![0]).toBe(latest);
    rows.forEach((row, i) => {
      expect(row).toHaveLength(12);
      expect(row[0]).toBe(latest - (499 - i) * MINUTE);
      expect(row[6]).toBe(row[0] + MINUTE - 1);
      for (const j of [1, 2, 3, 4, 5, 7, 9, 10]) expect(row[j]).toMatch(DECIMAL_8);
      expect(Number.isInteger(row[8])).toBe(true);
      expect(row[11]).toBe('0');
      const [o, h, l, c] = [row[1], row[2], row[3], row[4]].map(Number) as [number, number, number, number];
      expect(h).toBeGreaterThanOrEqual(Math.max(o, c));
      expect(l).toBeLessThanOrEqual(Math.min(o, c));
      expect(Number(row[9])).toBeLessThan(Number(row[5]));
    });
  });

  it('ends the current candle at the ticker price, with its close time still ahead', async () => {
    const [current] = await klines('interval=1h&limit=1');
    const ticker = await get('/api/v3/ticker/price?symbol=BTCUSDT');
    expect(current![4]).toBe(ticker.body.price);
    expect(current![0]).toBe(Math.floor(T / HOUR) * HOUR);
    expect(current![6]).toBeGreaterThan(T);
    const full = await get('/api/v3/ticker/24hr?symbol=BTCUSDT');
    expect(current![4]).toBe(full.body.lastPrice);
  });

  it('aligns every interval to UTC boundaries: weeks on Monday, months on the 1st', async () => {
    for (const [interval, ms] of [
      ['3m', 3 * MINUTE],
      ['4h', 4 * HOUR],
      ['1d', DAY],
      ['3d', 3 * DAY],
    ] as const) {
      const rows = await klines(`interval=${interval}&limit=4`);
      for (const row of rows) {
        expect(row[0] % ms, interval).toBe(0);
        expect(row[6] - row[0] + 1).toBe(ms);
      }
    }
    const weeks = await klines('interval=1w&limit=5');
    for (const row of weeks) {
      const open = new Date(row[0]);
      expect(open.getUTCDay()).toBe(1);
      expect(row[0] % DAY).toBe(0);
      expect(row[6] - row[0] + 1).toBe(7 * DAY);
    }
    expect(weeks.at(-1)![0]).toBeLessThanOrEqual(T);
    expect(weeks.at(-1)![0] + 7 * DAY).toBeGreaterThan(T);

    const months = await klines('interval=1M&limit=14');
    expect(months.map((r) => new Date(r[0]).toISOString().slice(0, 10))).toEqual(
      Array.from({ length: 14 }, (_, i) => new Date(Date.UTC(2024, 4 + i, 1)).toISOString().slice(0, 10)),
    );
    for (const [i, row] of months.slice(0, -1).entries()) expect(row[6] + 1).toBe(months[i + 1]![0]);
  });

  it('pages forward with startTime = last closeTime + 1, tiling time exactly', async () => {
    const start = T - 10 * HOUR + 1_234; // not on a boundary: the first candle opens at the next minute
    const page1 = await klines(`interval=1m&startTime=${start}&limit=100`);
    expect(page1[0]![0]).toBe(Math.ceil(start / MINUTE) * MINUTE);
    const page2 = await klines(`interval=1m&startTime=${page1.at(-1)![6] + 1}&limit=100`);
    expect(page2[0]![0]).toBe(page1.at(-1)![6] + 1);
    const both = [...page1, ...page2];
    for (let i = 1; i < both.length; i++) expect(both[i]![0]).toBe(both[i - 1]![6] + 1);
    expect(both).toEqual(await klines(`interval=1m&startTime=${start}&limit=200`));
  });

  it('honours endTime alone, start+end windows, and never returns future candles', async () => {
    const end = T - 3 * HOUR - 17;
    const before = await klines(`interval=5m&endTime=${end}&limit=10`);
    expect(before).toHaveLength(10);
    expect(before.at(-1)![0]).toBe(Math.floor(end / (5 * MINUTE)) * 5 * MINUTE);

    const window = await klines(`interval=1h&startTime=${T - 5 * HOUR}&endTime=${T - 2 * HOUR}`);
    expect(window.map((r) => r[0])).toEqual(
      [4, 3, 2].map((k) => Math.ceil((T - 5 * HOUR) / HOUR) * HOUR + (4 - k) * HOUR),
    );

    const recent = await klines(`interval=1m&startTime=${T - 5 * MINUTE}&limit=1000`);
    expect(recent.map((r) => r[0])).toEqual(
      [4, 3, 2, 1, 0].map((k) => Math.floor(T / MINUTE) * MINUTE - k * MINUTE),
    );
    expect(await klines(`interval=1m&startTime=${T + HOUR}`)).toEqual([]);
  });
});

describe('binance dialect: combined streams', () => {
  it('subscribes from the URL and pushes ticker and miniTicker events every tick', async () => {
    const client = await connect('/stream?streams=btcusdt@ticker/ethusdt@miniTicker');
    await until(() => client.frames.filter((f) => f.stream === 'btcusdt@ticker').length >= 5, 3000);
    expect([...sandbox.streams('binance')].sort()).toEqual(['btcusdt@ticker', 'ethusdt@miniTicker']);

    const ticker = client.frames.find((f) => f.stream === 'btcusdt@ticker');
    expect(Object.keys(ticker)).toEqual(['stream', 'data']);
    expect(Object.keys(ticker.data)).toEqual(WS_TICKER_KEYS);
    const stats = sandbox.market.stats24h('bitcoin', T);
    expect(ticker.data).toMatchObject({
      e: '24hrTicker',
      E: T,
      s: 'BTCUSDT',
      c: stats.close.toFixed(8),
      o: stats.open.toFixed(8),
      P: stats.changePercent.toFixed(3),
      O: T - DAY,
      C: T,
    });
    for (const key of ['p', 'w', 'x', 'Q', 'b', 'B', 'a', 'A', 'h', 'l', 'v', 'q'])
      expect(ticker.data[key]).toMatch(DECIMAL_8);
    expect(ticker.data.L - ticker.data.F + 1).toBe(ticker.data.n);

    const mini = await client.next((f) => f.stream === 'ethusdt@miniTicker');
    expect(Object.keys(mini.data)).toEqual(['e', 'E', 's', 'c', 'o', 'h', 'l', 'v', 'q']);
    expect(mini.data).toMatchObject({
      e: '24hrMiniTicker',
      s: 'ETHUSDT',
      c: sandbox.market.priceUsd('ethereum', T).toFixed(8),
    });

    // One frame per stream per tick, and ticks no closer than tickMs (100 ms): ten more frames of one
    // stream, the other stream in step, and no more frames than ticks could fit in the time taken.
    const count = (stream: string) => client.frames.filter((f) => f.stream === stream).length;
    const [btc0, eth0] = [count('btcusdt@ticker'), count('ethusdt@miniTicker')];
    const started = Date.now();
    await until(() => count('btcusdt@ticker') - btc0 >= 10, 10_000);
    const elapsed = Date.now() - started;
    const btc = count('btcusdt@ticker') - btc0;
    expect(Math.abs(count('ethusdt@miniTicker') - eth0 - btc)).toBeLessThanOrEqual(1);
    // +2: a tick already on its way when counting started, and the one that ended the wait.
    expect(btc).toBeLessThanOrEqual(2 + Math.floor(elapsed / 100));
    client.ws.close();
    await client.closed;
    await until(() => sandbox.streams('binance').length === 0);
  });

  it('answers SUBSCRIBE, LIST_SUBSCRIPTIONS and UNSUBSCRIBE like Binance', async () => {
    const client = await connect('/stream');
    client.ws.send(
      JSON.stringify({ method: 'SUBSCRIBE', params: ['btcusdt@kline_1m', 'nopeusdt@ticker'], id: 1 }),
    );
    expect(await client.next((f) => f.id === 1)).toEqual({ result: null, id: 1 });
    const kline = await client.next((f) => f.stream === 'btcusdt@kline_1m');
    expect(kline.data).toMatchObject({
      e: 'kline',
      s: 'BTCUSDT',
      k: { i: '1m', t: Math.floor(T / MINUTE) * MINUTE, x: false },
    });
    expect(kline.data.k.c).toBe(sandbox.market.priceUsd('bitcoin', T).toFixed(8));
    expect([...sandbox.streams('binance')].sort()).toEqual(['btcusdt@kline_1m', 'nopeusdt@ticker']);

    client.ws.send(JSON.stringify({ method: 'LIST_SUBSCRIPTIONS', id: 'list1' }));
    expect((await client.next((f) => f.id === 'list1')).result.sort()).toEqual([
      'btcusdt@kline_1m',
      'nopeusdt@ticker',
    ]);

    client.ws.send(JSON.stringify({ method: 'GET_PROPERTY', params: ['combined'], id: 3 }));
    expect(await client.next((f) => f.id === 3)).toEqual({ result: true, id: 3 });

    client.ws.send(JSON.stringify({ method: 'UNSUBSCRIBE', params: ['btcusdt@kline_1m'], id: 4 }));
    expect(await client.next((f) => f.id === 4)).toEqual({ result: null, id: 4 });
    expect(sandbox.streams('binance')).toEqual(['nopeusdt@ticker']);
    // An unknown symbol is accepted and stays silent: three ticks of a known stream go by without it.
    client.ws.send(JSON.stringify({ method: 'SUBSCRIBE', params: ['btcusdt@ticker'], id: 5 }));
    expect(await client.next((f) => f.id === 5)).toEqual({ result: null, id: 5 });
    await until(() => client.frames.filter((f) => f.stream === 'btcusdt@ticker').length >= 3);
    expect(client.frames.some((f) => f.stream === 'nopeusdt@ticker')).toBe(false);
    client.ws.close();
    await client.closed;
  });

  it('rejects malformed requests with Binance error frames', async () => {
    const client = await connect('/stream');
    client.ws.send('{not json');
    const invalid = await client.next((f) => f.error?.code === 3);
    expect(invalid).toEqual({ error: { code: 3, msg: expect.stringMatching(/^Invalid JSON: /) }, id: null });

    client.ws.send(JSON.stringify({ method: 'SUBSCRIB', params: [], id: 7 }));
    const unknown = await client.next((f) => f.id === 7);
    expect(unknown.error.code).toBe(2);
    expect(unknown.error.msg).toMatch(
      /^Invalid request: unknown variant `SUBSCRIB`, expected one of `SUBSCRIBE`/,
    );

    client.ws.close();
    await client.closed;

    // A connection of its own, to stay under 5 messages per second without waiting a second.
    const other = await connect('/stream');
    const tooMany = Array.from({ length: 1025 }, (_, i) => `s${i}usdt@ticker`);
    other.ws.send(JSON.stringify({ method: 'SUBSCRIBE', params: tooMany, id: 8 }));
    const refused = await other.next((f) => f.id === 8);
    expect(refused.error.code).toBe(2);
    expect(refused.error.msg).toMatch(/1024/);
    other.ws.send(JSON.stringify({ method: 'LIST_SUBSCRIPTIONS', id: 9 }));
    expect((await other.next((f) => f.id === 9)).result).toEqual([]);
    other.ws.close();
    await other.closed;
  });

  it('disconnects a client that sends more than 5 messages per second', async () => {
    const client = await connect('/stream');
    for (let i = 0; i < 7; i++) client.ws.send(JSON.stringify({ method: 'LIST_SUBSCRIPTIONS', id: i }));
    expect(await client.closed).toBe(1008);
  });

  it('sends the same bytes to every subscriber, and dropAll() cuts every connection', async () => {
    const a = await connect('/stream?streams=btcusdt@ticker');
    const b = await connect('/stream?streams=btcusdt@ticker/ethusdt@ticker');
    await until(() => a.frames.length >= 3 && b.frames.length >= 3);
    expect(sandbox.wsConnections('binance')).toBe(2);
    expect([...sandbox.streams('binance')].sort()).toEqual(['btcusdt@ticker', 'ethusdt@ticker']);
    const fromA = a.frames.find((f) => f.stream === 'btcusdt@ticker');
    const fromB = b.frames.find((f) => f.stream === 'btcusdt@ticker');
    expect(fromA).toEqual(fromB);

    sandbox.dropWebSockets('binance');
    expect(await a.closed).toBe(1006);
    expect(await b.closed).toBe(1006);
    await until(() => sandbox.wsConnections('binance') === 0);
    expect(sandbox.streams('binance')).toEqual([]);
  });

  it('pings on its period and drops a connection that never pongs', async () => {
    const impatient: DialectFactory = (deps) =>
      createBinanceDialect(deps, { pingMs: 150, pongTimeoutMs: 400 });
    const options = { quotas: false, tickMs: 100, dialects: { binance: impatient } };
    await withProviderSandbox('binance', options, async ({ sandbox: quick }) => {
      const url = `${quick.endpoints.binance!.wsUrl}/stream`;
      const polite = new WebSocket(url);
      const silent = new WebSocket(url, { autoPong: false });
      sockets.push(polite, silent);
      let pings = 0;
      polite.on('ping', () => pings++);
      const closedAt = new Promise<number>((resolve) => silent.on('close', () => resolve(Date.now())));
      const opened = Date.now();
      expect((await closedAt) - opened).toBeLessThan(2_000);
      expect(pings).toBeGreaterThanOrEqual(2);
      expect(polite.readyState).toBe(WebSocket.OPEN);
      await until(() => quick.wsConnections('binance') === 1);
      polite.close();
    });
  });
});
