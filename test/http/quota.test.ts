import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../../src/config.js';
import type { UpstreamError } from '../../src/errors.js';
import type { HttpCall } from '../../src/http/client.js';
import { createQuota } from '../../src/http/quota.js';
import { createRedisConnection } from '../../src/redis.js';
import { waitFor } from '../helpers/clients.js';
import { deleteKeys, keysUnder, redisTestUrl, testPrefix } from '../helpers/redis.js';
import { startPrivateRedis } from '../helpers/redis-server.js';
import { buildConfig, makeHttp, type ScriptedServer, sendJson, startScriptedServer } from './helpers.js';

const call: HttpCall<unknown> = {
  provider: 'coingecko',
  endpoint: 'simple/price',
  path: '/simple/price',
  schema: z.unknown(),
};
const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((thing) => thing.close()));
});

async function countingServer(): Promise<ScriptedServer> {
  const server = await startScriptedServer((_req, res) => sendJson(res, 200, { bitcoin: { usd: 1 } }));
  open.push(server);
  return server;
}

describe('quota bucket (through createHttp)', () => {
  it('rpm 30 and a burst of 60: the server sees 30, the surplus fails fast with UPSTREAM_RATE_LIMITED', async () => {
    // The server holds its answers until the test lets go, so "fast" is counted, not timed: all 30
    // refusals arrive while every admitted call is still waiting for its answer.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const server = await startScriptedServer((_req, res) => {
      void held.then(() => sendJson(res, 200, { bitcoin: { usd: 1 } }));
    });
    open.push(server);
    // A deadline far beyond what a loaded machine needs, and far short of the 60 s window a refused
    // call would have to wait for.
    const config = buildConfig(
      { MARKETGRAPH_COINGECKO_RPM: '30', MARKETGRAPH_UPSTREAM_DEADLINE_MS: '20000' },
      { coingecko: server.url },
    );
    const { http, metrics } = makeHttp(config);
    open.push(http);
    let settled = 0;
    const calls = Promise.allSettled(
      Array.from({ length: 60 }, async () => {
        try {
          return await http.get(call);
        } finally {
          settled += 1;
        }
      }),
    );
    await waitFor(
      () => settled === 30 && server.requests.length === 30,
      15_000,
      '30 refusals, 30 calls held',
    );
    expect(settled).toBe(30);
    release();
    const results = await calls;
    expect(server.requests).toHaveLength(30);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused).toHaveLength(30);
    for (const { reason } of refused) {
      const error = reason as UpstreamError;
      expect(error.code).toBe('UPSTREAM_RATE_LIMITED');
      expect(error.details.retryAfter).toBeGreaterThan(55);
      expect(error.details.retryAfter).toBeLessThanOrEqual(60);
      expect(error.message).toMatch(/^coingecko simple\/price: local quota exhausted/);
    }
    expect(http.health('coingecko').quotaLeft).toBe(0);
    const counter = await metrics.registry.getSingleMetricAsString('marketgraph_upstream_requests_total');
    expect(counter).toContain('outcome="shed"} 30');
    expect(counter).toContain('outcome="ok"} 30');
  });

  it('counts call.cost tokens per attempt, retries included', async () => {
    const server = await startScriptedServer((_req, res, n) => sendJson(res, n === 1 ? 500 : 200, {}));
    open.push(server);
    const config = buildConfig(
      { MARKETGRAPH_BINANCE_RPM: '100', MARKETGRAPH_UPSTREAM_RETRIES: '2' },
      { binance: server.url },
    );
    const { http } = makeHttp(config);
    open.push(http);
    await http.get({
      ...call,
      provider: 'binance',
      endpoint: 'ticker/24hr',
      path: '/api/v3/ticker/24hr',
      cost: 40,
    });
    expect(server.requests).toHaveLength(2);
    expect(http.health('binance').quotaLeft).toBe(20);
    await expect(
      http.get({
        ...call,
        provider: 'binance',
        endpoint: 'ticker/24hr',
        path: '/api/v3/ticker/24hr',
        cost: 40,
      }),
    ).rejects.toMatchObject({ code: 'UPSTREAM_RATE_LIMITED' });
    expect(server.requests).toHaveLength(2);
  });
});

describe('createQuota', () => {
  const config = buildConfig({ MARKETGRAPH_COINGECKO_RPM: '3' }, {});

  // On fake time (Date and timers, which rate-limiter-flexible's memory bucket and the quota's own
  // wait both use): what is granted when is exact, however loaded the machine.
  afterEach(() => {
    vi.useRealTimers();
  });

  it('queues a caller until a token frees when that is within its deadline', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const quota = createQuota({ config, now: Date.now, windowSeconds: 1 });
    const granted: number[] = [];
    const grants = Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        const grant = await quota.acquire('coingecko', 1, Date.now() + 1500);
        granted.push(i);
        return grant;
      }),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(granted).toHaveLength(3);
    // The window frees its tokens after 1 s, not before.
    await vi.advanceTimersByTimeAsync(999);
    expect(granted).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(granted).toHaveLength(5);
    expect((await grants).every((g) => g.ok)).toBe(true);
  });

  it('with a floor: concurrent callers leave that many tokens, are refused at once, and give back what they took', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const big = buildConfig({ MARKETGRAPH_COINGECKO_RPM: '10' }, {});
    const quota = createQuota({ config: big, now: Date.now, windowSeconds: 1 });
    const grants = await Promise.all(
      Array.from({ length: 20 }, () => quota.acquire('coingecko', 1, Date.now() + 5_000, 4)),
    );
    expect(grants.filter((g) => g.ok)).toHaveLength(6);
    expect(grants.filter((g) => !g.ok).every((g) => !g.ok && g.reserved)).toBe(true);
    expect(quota.left('coingecko')).toBe(4);
    // A caller without a floor still gets those four, and only those.
    for (let i = 0; i < 4; i++) expect(await quota.acquire('coingecko', 1, Date.now())).toEqual({ ok: true });
    expect((await quota.acquire('coingecko', 1, Date.now())).ok).toBe(false);
  });

  it('sheds at once, with the wait, when the next token frees after the deadline', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const quota = createQuota({ config, now: Date.now, windowSeconds: 1 });
    for (let i = 0; i < 3; i++)
      expect(await quota.acquire('coingecko', 1, Date.now() + 300)).toEqual({ ok: true });
    // Fake time does not move here, so a caller that queued would never be answered: this one is
    // answered, refused, at once.
    const grant = await quota.acquire('coingecko', 1, Date.now() + 300);
    expect(grant.ok).toBe(false);
    if (!grant.ok) expect(grant.retryAfterMs).toBe(1000);
    expect(quota.left('coingecko')).toBe(0);
  });
});

describe('shared quota through Redis', () => {
  const redis = new Redis(redisTestUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
  const prefix = `${testPrefix('quota')}quota`;

  beforeAll(async () => {
    await redis.connect();
    await redis.ping();
  });
  afterAll(async () => {
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  it('two gateway processes sharing one bucket never exceed the rpm together', async () => {
    const server = await countingServer();
    const config = buildConfig(
      // A long deadline: the surplus is shed at once anyway (its tokens free in 60 s), and admitted
      // calls have room on a loaded machine.
      { MARKETGRAPH_COINGECKO_RPM: '10', MARKETGRAPH_UPSTREAM_DEADLINE_MS: '15000' },
      { coingecko: server.url },
    );
    const a = makeHttp(config, { quotaStore: { redis, keyPrefix: prefix } });
    const b = makeHttp(config, { quotaStore: { redis, keyPrefix: prefix } });
    open.push(a.http, b.http);
    const results = await Promise.allSettled(
      Array.from({ length: 15 }, (_, i) => [
        a.http.get(call),
        b.http.get({ ...call, endpoint: `simple/price#${i}` }),
      ]).flat(),
    );
    expect(server.requests).toHaveLength(10);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused.every((r) => (r.reason as UpstreamError).code === 'UPSTREAM_RATE_LIMITED')).toBe(true);
    expect(await redis.exists(`${prefix}:coingecko`)).toBe(1);
    expect(a.http.health('coingecko').quotaLeft + b.http.health('coingecko').quotaLeft).toBe(0);
  });
});

describe('quota store outage', () => {
  it('falls back to a per-process bucket when Redis is not ready, instead of blocking calls', async () => {
    const server = await countingServer();
    const offline = new Redis(redisTestUrl(), { lazyConnect: true });
    // A deadline near the test's timeout: calls blocked on the store would fail or time the test out;
    // five served and two shed can only come from a bucket that answered.
    const config = buildConfig(
      { MARKETGRAPH_COINGECKO_RPM: '5', MARKETGRAPH_UPSTREAM_DEADLINE_MS: '15000' },
      { coingecko: server.url },
    );
    const { http } = makeHttp(config, { redis: offline });
    open.push(http);
    const results = await Promise.allSettled(Array.from({ length: 7 }, () => http.get(call)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    expect(server.requests).toHaveLength(5);
    offline.disconnect();
  });
});

describe('quota while its Redis is killed and restarted', () => {
  it('serves from the per-process bucket within the store budget, and from Redis again once it is back', async () => {
    const server = await countingServer();
    const redisServer = await startPrivateRedis();
    const env = {
      REDIS_URL: redisServer.url,
      MARKETGRAPH_REDIS_TIMEOUT_MS: '100',
      MARKETGRAPH_COINGECKO_RPM: '4',
      // Near the test's timeout: a call hung on the dead store would fail the counts below or time out.
      MARKETGRAPH_UPSTREAM_DEADLINE_MS: '15000',
    };
    const connection = createRedisConnection({ config: loadConfig({ env }) });
    const inspect = new Redis(redisServer.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    inspect.on('error', () => {});
    try {
      const config = buildConfig(env, { coingecko: server.url });
      const keyPrefix = 'q';
      const { http } = makeHttp(config, { quotaStore: { redis: connection.commands, keyPrefix } });
      open.push(http);
      await inspect.connect();
      expect((await Promise.allSettled([http.get(call), http.get(call)])).map((r) => r.status)).toEqual([
        'fulfilled',
        'fulfilled',
      ]);
      expect(await inspect.get('q:coingecko')).toBe('2');
      inspect.disconnect();

      await redisServer.kill();
      await waitUntil(() => !connection.up());
      // The per-process bucket (a fresh one: 4 tokens) takes over; the surplus is shed, not hung.
      const during = await Promise.allSettled(Array.from({ length: 6 }, () => http.get(call)));
      expect(during.filter((r) => r.status === 'fulfilled')).toHaveLength(4);
      expect(server.requests).toHaveLength(6);

      await redisServer.start();
      await waitUntil(() => connection.up());
      await inspect.connect();
      await http.get({ ...call, endpoint: 'simple/price#after' });
      expect(await keysUnder(inspect, 'q:')).toEqual(['q:coingecko']);
      expect(await inspect.get('q:coingecko')).toBe('1');
    } finally {
      inspect.disconnect();
      await connection.close();
      await redisServer.close();
    }
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
