import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, sandboxProviderEnv, spawnGateway } from '../../scripts/lib/gateway-process.js';
import { UPSTREAMS } from '../../src/config.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';
import { type Received, subscribeSse } from '../helpers/clients.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { keysUnder, testPrefix } from '../helpers/redis.js';
import { type PrivateRedis, startPrivateRedis } from '../helpers/redis-server.js';

// Issue #15 part 3, #11 item 7: Redis can come and go. Two gateway processes share a redis-server this
// test owns (never the shared one); the test kills it (SIGKILL) under live subscriptions and queries,
// then starts it again, empty, on the same port. Nothing may exit or log an unhandled error; queries
// answer within their deadline (a burst of them too, its p99 held to it) from each process's
// in-process cache tier and the providers; each process keeps its subscribers fed by producing their
// topics itself; when Redis is back the processes
// share the cache, the quota buckets and one upstream stream per asset again. A gateway started while
// Redis is down answers its first query within the deadline; and a Redis that hangs (SIGSTOP: its
// connections stay open, nothing answers) costs the calls in flight one budget, not every call.

const DEADLINE_MS = 3_000;
const PRICES = 'subscription ($ids: [ID!]!) { priceUpdated(assetIds: $ids) { assetId value asOf source } }';
const PRICE = (id: string) => `{ asset(id: "${id}") { price { value source stale } } }`;
const CANDLES = (id: string) =>
  `{ asset(id: "${id}") { candles(interval: H4, first: 2) { edges { node { close } } } } }`;
/** What the last-resort handlers (src/process-policy.ts), Node and ioredis print for an error nobody handled. */
const FATAL =
  /marketgraph: unhandled rejection|marketgraph: uncaught exception|Unhandled error event|UnhandledPromiseRejection/;

function env(sandbox: Sandbox, url: string, prefix: string): Record<string, string> {
  return {
    ...sandboxProviderEnv(sandbox, UPSTREAMS),
    REDIS_URL: url,
    MARKETGRAPH_REDIS_PREFIX: prefix,
    MARKETGRAPH_REDIS_TIMEOUT_MS: '200',
    MARKETGRAPH_REDIS_CONNECT_TIMEOUT_MS: '500',
    MARKETGRAPH_UPSTREAM_DEADLINE_MS: String(DEADLINE_MS),
  };
}

async function health(gateway: GatewayProcess): Promise<{ status: string; redis: string }> {
  return (await fetch(`${gateway.origin}/health`)).json() as Promise<{ status: string; redis: string }>;
}

async function redisUpGauge(gateway: GatewayProcess): Promise<number | undefined> {
  const text = await (await fetch(`${gateway.origin}/metrics`)).text();
  const match = /^marketgraph_redis_up (\S+)$/m.exec(text);
  return match ? Number(match[1]) : undefined;
}

async function eventually(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Upstream candle calls. The live layer makes price calls of its own (first events, polls) at moments
 * the test does not control; it never asks for candles, so these count the queries' calls alone.
 */
const candleCalls = (sandbox: Sandbox) =>
  sandbox.count('binance', 'klines') +
  sandbox.count('coingecko', 'coins/ohlc') +
  sandbox.count('coingecko', 'coins/market_chart/range');

/** A query with its wall time, which the test holds against the configured deadline. */
async function timed(gateway: GatewayProcess, query: string) {
  const started = Date.now();
  const response = await gateway.query<Record<string, unknown>>(query);
  return { ...response, ms: Date.now() - started };
}

/** Binance ticks received at or after `from`. */
const ticksSince = (events: Received[], from: number) =>
  events.filter(
    (e) => e.at >= from && (e.data?.priceUpdated as { source?: string } | undefined)?.source === 'BINANCE',
  ).length;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('two gateway processes while their Redis is killed and restarted', () => {
  let sandbox: Sandbox;
  let redis: PrivateRedis;
  let a: GatewayProcess;
  let b: GatewayProcess;
  const prefix = testPrefix('outage');
  const stops: Array<() => void> = [];

  beforeAll(async () => {
    sandbox = await startSandbox({ quotas: false, tickMs: 200 });
    redis = await startPrivateRedis();
    const settings = env(sandbox, redis.url, prefix);
    [a, b] = await Promise.all([spawnGateway({ env: settings }), spawnGateway({ env: settings })]);
  }, 40_000);

  afterAll(async () => {
    for (const stop of stops) stop();
    await Promise.all([a?.stop(), b?.stop()]);
    await sandbox?.close();
    await redis?.close();
  });

  it('keeps answering and streaming without Redis, and shares again when it returns', async () => {
    const inspect = new Redis(redis.url, {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      lazyConnect: true,
    });
    inspect.on('error', () => {});
    try {
      await inspect.connect();
      // Shared before the outage: A subscribes first and produces; B's subscriber rides on A's stream.
      const subA = subscribeSse(a.url, PRICES, { ids: ['bitcoin'] });
      stops.push(subA.stop);
      await eventually(() => ticksSince(subA.events, 0) >= 2, 10_000, 'ticks in A');
      const subB = subscribeSse(b.url, PRICES, { ids: ['bitcoin'] });
      stops.push(subB.stop);
      await eventually(() => ticksSince(subB.events, 0) >= 2, 10_000, 'ticks in B');
      expect(sandbox.wsConnections('binance')).toBe(1);
      expect(await redisUpGauge(a)).toBe(1);

      const warm = await timed(a, CANDLES('bitcoin'));
      expect(warm.body.errors).toBeUndefined();
      sandbox.resetCounts();
      const shared = await timed(b, CANDLES('bitcoin'));
      expect(shared.body.data).toEqual(warm.body.data);
      expect(candleCalls(sandbox)).toBe(0);
      inspect.disconnect();

      // Redis dies.
      await redis.kill();
      await eventually(
        async () => (await health(a)).redis === 'down' && (await health(b)).redis === 'down',
        5_000,
        'both processes to see Redis down',
      );
      expect(await redisUpGauge(a)).toBe(0);
      expect((await health(b)).status).toBe('ok');

      // Queries: what a process holds is served from its in-process tier with no upstream call; what
      // it does not hold comes from the providers; both within the deadline, with no error.
      sandbox.resetCounts();
      for (const gateway of [a, b]) {
        const again = await timed(gateway, CANDLES('bitcoin'));
        expect(again.body.errors).toBeUndefined();
        expect(again.body.data).toEqual(warm.body.data);
        expect(again.ms).toBeLessThan(DEADLINE_MS);
      }
      expect(candleCalls(sandbox)).toBe(0);
      const fresh = await Promise.all([
        timed(a, CANDLES('ethereum')),
        timed(b, CANDLES('solana')),
        timed(a, PRICE('ripple')),
        timed(b, PRICE('cardano')),
      ]);
      for (const answer of fresh) {
        expect(answer.body.errors).toBeUndefined();
        expect(answer.ms).toBeLessThan(DEADLINE_MS);
      }
      expect(candleCalls(sandbox)).toBeGreaterThanOrEqual(2);

      // A burst while Redis is down: cold and warm reads of prices and candles, four at a time on each
      // process; the slowest of them (p99 of the sample) stays within the deadline, and none fails.
      const ids = sandbox.market.assets.slice(5, 15).map((asset) => asset.id);
      const burst = [...ids.map(PRICE), ...ids.map(CANDLES)];
      const samples: number[] = [];
      for (const round of [burst, burst]) {
        for (let i = 0; i < round.length; i += 4) {
          const answers = await Promise.all(
            round.slice(i, i + 4).map((query, j) => timed(j % 2 === 0 ? a : b, query)),
          );
          for (const answer of answers) {
            expect(answer.body.errors).toBeUndefined();
            samples.push(answer.ms);
          }
        }
      }
      samples.sort((x, y) => x - y);
      expect(samples).toHaveLength(40);
      expect(samples[Math.ceil(samples.length * 0.99) - 1]!).toBeLessThan(DEADLINE_MS);

      // Subscriptions: each process produces its own subscribers' topic (one stream per process now).
      const down = Date.now();
      await eventually(
        () => ticksSince(subA.events, down) >= 3 && ticksSince(subB.events, down) >= 3,
        8_000,
        'ticks in both processes without Redis',
      );
      await eventually(() => sandbox.wsConnections('binance') === 2, 5_000, 'a stream per process');
      expect(subA.events.every((e) => !e.errors) && subB.events.every((e) => !e.errors)).toBe(true);

      // Redis returns, empty.
      await redis.start();
      await eventually(
        async () => (await health(a)).redis === 'up' && (await health(b)).redis === 'up',
        8_000,
        'both processes to see Redis up',
      );
      expect(await redisUpGauge(b)).toBe(1);
      await inspect.connect();

      // One upstream stream per asset again, its lease in the new Redis, both subscribers fed.
      await eventually(() => sandbox.wsConnections('binance') === 1, 8_000, 'one shared stream again');
      const leases = await keysUnder(inspect, `${prefix}0:live:lease:`);
      expect(leases).toEqual([`${prefix}0:live:lease:price:bitcoin`]);
      const back = Date.now();
      await eventually(
        () => ticksSince(subA.events, back) >= 3 && ticksSince(subB.events, back) >= 3,
        8_000,
        'ticks in both processes after Redis returned',
      );

      // The cache is shared again: what A fetches now, B serves with no upstream call.
      const after = await timed(a, CANDLES('dogecoin'));
      expect(after.body.errors).toBeUndefined();
      sandbox.resetCounts();
      const fromRedis = await timed(b, CANDLES('dogecoin'));
      expect(fromRedis.body.data).toEqual(after.body.data);
      expect(candleCalls(sandbox)).toBe(0);
      expect((await keysUnder(inspect, `${prefix}cache:`)).length).toBeGreaterThan(0);
      expect(await keysUnder(inspect, `${prefix}quota:`)).toContain(`${prefix}quota:coingecko`);

      // Nothing died, nothing reached the last-resort handlers.
      expect(alive(a.pid) && alive(b.pid)).toBe(true);
      expect(a.output()).not.toMatch(FATAL);
      expect(b.output()).not.toMatch(FATAL);
    } finally {
      inspect.disconnect();
    }
  }, 60_000);
});

describe('a gateway started while its Redis is down', () => {
  let sandbox: Sandbox;
  let redis: PrivateRedis;
  let gateway: GatewayProcess;
  const prefix = testPrefix('down-at-start');

  beforeAll(async () => {
    sandbox = await startSandbox({ quotas: false });
    redis = await startPrivateRedis({ running: false });
    gateway = await spawnGateway({ env: env(sandbox, redis.url, prefix) });
  }, 30_000);

  afterAll(async () => {
    await gateway?.stop();
    await sandbox?.close();
    await redis?.close();
  });

  it('answers its first query within the deadline, and uses Redis once it starts', async () => {
    const first = await timed(gateway, PRICE('bitcoin'));
    expect(first.body.errors).toBeUndefined();
    expect(first.body.data).toMatchObject({ asset: { price: { stale: false } } });
    expect(first.ms).toBeLessThan(DEADLINE_MS);
    expect((await health(gateway)).redis).toBe('down');
    expect(await redisUpGauge(gateway)).toBe(0);

    await redis.start();
    await eventually(async () => (await health(gateway)).redis === 'up', 8_000, 'Redis up');
    const later = await timed(gateway, CANDLES('ethereum'));
    expect(later.body.errors).toBeUndefined();
    const inspect = new Redis(redis.url);
    try {
      expect((await keysUnder(inspect, `${prefix}cache:`)).length).toBeGreaterThan(0);
    } finally {
      inspect.disconnect();
    }
    expect(alive(gateway.pid)).toBe(true);
    expect(gateway.output()).not.toMatch(FATAL);
  }, 30_000);
});

describe('a gateway whose Redis hangs (connections open, no answers)', () => {
  const BUDGET_MS = 1_000;
  let redis: PrivateRedis;
  let t: TestGateway;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    t = await startTestGateway({
      env: {
        REDIS_URL: redis.url,
        MARKETGRAPH_REDIS_PREFIX: testPrefix('hang'),
        MARKETGRAPH_REDIS_TIMEOUT_MS: String(BUDGET_MS),
        MARKETGRAPH_UPSTREAM_DEADLINE_MS: String(DEADLINE_MS),
      },
    });
  }, 30_000);

  afterAll(async () => {
    redis?.resume();
    await t?.close();
    await redis?.close();
  });

  const health = async () => {
    const response = await t.gateway.yoga.fetch('http://gateway.test/health');
    return ((await response.json()) as { redis: string }).redis;
  };

  it('stops asking it after one missed budget, and asks again once it answers', async () => {
    expect((await t.query(PRICE('bitcoin'))).body.errors).toBeUndefined();
    expect(await health()).toBe('up');
    redis.pause();
    try {
      // The first uncached query waits one budget per Redis call in flight, and tells the connection.
      const first = await t.query(CANDLES('ethereum'));
      expect(first.body.errors).toBeUndefined();
      expect(await health()).toBe('down');
      // The rest skip Redis: five queries that each read and write the cache several times take less
      // than one budget each in total (waiting on Redis, each would take several).
      const started = Date.now();
      for (const id of ['solana', 'ripple', 'cardano', 'dogecoin', 'tron']) {
        const answer = await t.query(CANDLES(id));
        expect(answer.body.errors).toBeUndefined();
      }
      expect(Date.now() - started).toBeLessThan(5 * BUDGET_MS);
    } finally {
      redis.resume();
    }
    await eventually(async () => (await health()) === 'up', 5_000, 'Redis answering again');
  }, 30_000);
});
