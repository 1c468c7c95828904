import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_COINCAP_KEY } from '../../src/sandbox/providers/coincap/dialect.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';
import { DAY, T } from '../helpers/clock.js';
import { fetchReply, type Reply } from '../helpers/sandbox-http.js';

// The sandbox's hot REST endpoints (what the 50-asset query and the price queries call) answer once
// per URL per tick: within a tick every call gets the first call's bytes, counted as a request all the
// same; the next tick answers from the market at its own instant.

const TICK_MS = 1000;
const TICK_START = Math.floor(T / TICK_MS) * TICK_MS;
const AUTH = { authorization: `Bearer ${SANDBOX_COINCAP_KEY}` };

let clock = TICK_START;
let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({
    providers: ['coingecko', 'binance', 'coincap'],
    quotas: false,
    tickMs: TICK_MS,
    now: () => clock,
  });
});

afterAll(async () => {
  await sandbox?.close();
});

interface HotEndpoint {
  provider: 'coingecko' | 'binance' | 'coincap';
  endpoint: string;
  path: string;
  headers?: Record<string, string>;
  /** Bitcoin's price in the answer. */
  bitcoin(body: Reply['body']): number;
}

const HOT: HotEndpoint[] = [
  {
    provider: 'coingecko',
    endpoint: 'coins/markets',
    path: '/coins/markets?vs_currency=usd&order=market_cap_desc&per_page=50&page=1',
    bitcoin: (body) => body.find((r: { id: string }) => r.id === 'bitcoin').current_price,
  },
  {
    provider: 'coingecko',
    endpoint: 'simple/price',
    path: '/simple/price?ids=bitcoin%2Cethereum&vs_currencies=usd&include_24hr_change=true&include_last_updated_at=true',
    bitcoin: (body) => body.bitcoin.usd,
  },
  {
    provider: 'binance',
    endpoint: 'ticker/price',
    path: `/api/v3/ticker/price?symbols=${encodeURIComponent('["BTCUSDT","ETHUSDT"]')}`,
    bitcoin: (body) => Number(body.find((r: { symbol: string }) => r.symbol === 'BTCUSDT').price),
  },
  {
    provider: 'binance',
    endpoint: 'ticker/24hr',
    path: '/api/v3/ticker/24hr?symbol=BTCUSDT',
    bitcoin: (body) => Number(body.lastPrice),
  },
  {
    provider: 'coincap',
    endpoint: 'assets',
    path: '/assets?ids=bitcoin%2Cethereum&limit=2',
    headers: AUTH,
    bitcoin: (body) => Number(body.data.find((r: { id: string }) => r.id === 'bitcoin').priceUsd),
  },
];

describe('sandbox: one answer per URL per tick', () => {
  it.each(HOT)('$provider $endpoint: same bytes within a tick, new prices in the next', async (hot) => {
    const url = `${sandbox.endpoints[hot.provider]!.url}${hot.path}`;
    const truth = (t: number) => sandbox.market.priceUsd('bitcoin', t);
    const before = sandbox.count(hot.provider, hot.endpoint);

    clock = TICK_START + 10;
    const first = await fetchReply(url, hot.headers);
    expect(first.status).toBe(200);
    expect(hot.bitcoin(first.body)).toBeCloseTo(truth(TICK_START + 10), 6);

    clock = TICK_START + TICK_MS - 1;
    const second = await fetchReply(url, hot.headers);
    expect(second.text).toBe(first.text);
    expect(second.headers.get('content-type')).toBe(first.headers.get('content-type'));
    // The market did move within the tick: only the reuse keeps the answers equal.
    expect(truth(TICK_START + TICK_MS - 1)).not.toBe(truth(TICK_START + 10));

    clock = TICK_START + TICK_MS + 10;
    const next = await fetchReply(url, hot.headers);
    expect(next.status).toBe(200);
    expect(hot.bitcoin(next.body)).not.toBe(hot.bitcoin(first.body));
    expect(hot.bitcoin(next.body)).toBeCloseTo(truth(TICK_START + TICK_MS + 10), 6);

    // A reused answer is still a request to the provider: counted like any other.
    expect(sandbox.count(hot.provider, hot.endpoint) - before).toBe(3);
  });

  it('answers a reused URL with the bytes a fresh sandbox computes at that instant', async () => {
    const hot = HOT[0]!;
    clock = TICK_START + 200;
    const url = `${sandbox.endpoints.coingecko!.url}${hot.path}`;
    const computed = await fetchReply(url);
    clock = TICK_START + 700;
    const reused = await fetchReply(url);
    const fresh = await startSandbox({
      providers: ['coingecko'],
      quotas: false,
      now: () => TICK_START + 200,
    });
    try {
      const other = await fetchReply(`${fresh.endpoints.coingecko!.url}${hot.path}`);
      expect(reused.text).toBe(other.text);
      expect(computed.text).toBe(other.text);
    } finally {
      await fresh.close();
    }
  });
});

describe('sandbox: CoinGecko all-time high and low', () => {
  /** The definition: the highest and lowest of the last 365 daily 00:00 UTC prices before t and now. */
  function expected(id: string, currency: string, t: number) {
    const price = (at: number) => sandbox.market.price(id, currency, at)!;
    let high = { value: price(t), at: t };
    let low = { value: price(t), at: t };
    for (let at = Math.floor(t / DAY) * DAY - 365 * DAY; at < t; at += DAY) {
      if (price(at) > high.value) high = { value: price(at), at };
      if (price(at) < low.value) low = { value: price(at), at };
    }
    return { high, low };
  }

  // Each instant is later than the one before (and in another tick), so extremes kept from an
  // earlier day, or from the midnight that an exact-midnight window leaves out, would show.
  const midnight = Math.floor(T / DAY) * DAY + DAY;
  it.each([
    ['mid-day', T],
    ['exactly midnight', midnight],
    ['just after midnight', midnight + TICK_MS + 1],
    ['a week later', midnight + 7 * DAY + 5_000],
  ])('match the definition at %s', async (_label, t) => {
    clock = t;
    for (const currency of ['usd', 'eur']) {
      const { body } = await fetchReply(
        `${sandbox.endpoints.coingecko!.url}/coins/markets?vs_currency=${currency}&per_page=20`,
      );
      for (const row of body as Array<Record<string, unknown>>) {
        const { high, low } = expected(row.id as string, currency, t);
        expect(row.ath, `${row.id} ${currency} ath`).toBe(high.value);
        expect(row.ath_date).toBe(new Date(high.at).toISOString());
        expect(row.atl, `${row.id} ${currency} atl`).toBe(low.value);
        expect(row.atl_date).toBe(new Date(low.at).toISOString());
      }
    }
  });
});
