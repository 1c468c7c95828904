import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, sandboxProviderEnv, spawnGateway } from '../../scripts/lib/gateway-process.js';
import { loadConfig, UPSTREAMS } from '../../src/config.js';
import { createQuota } from '../../src/http/quota.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';
import { deleteKeys, keysUnder, redisTestUrl, testPrefix } from '../helpers/redis.js';

// Issue #3 acceptance: two gateway processes sharing the real Redis (REDIS_TEST_URL, default
// 127.0.0.1:6379) under a key prefix of this run, whose keys it deletes at the end. What one fetched,
// the other serves with 0 upstream calls; together they stay inside one provider quota. Both run the
// live profile with every provider URL pointed at the sandbox (nothing leaves loopback).

const REDIS_URL = redisTestUrl();
const RPM = 10;

interface PriceAnswer {
  asset: {
    price: { value: number; asOf: string; source: string } | null;
    market: { price: number; asOf: string } | null;
  } | null;
}

describe('two gateway processes sharing Redis', () => {
  const prefix = testPrefix('gateways');
  let sandbox: Sandbox;
  let redis: Redis;
  let a: GatewayProcess;
  let b: GatewayProcess;
  /** CoinGecko calls made before the last resetCounts(), so the quota check sees all of them. */
  let spent = 0;
  const reset = () => {
    spent += sandbox.count('coingecko');
    sandbox.resetCounts();
  };

  beforeAll(async () => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    // Only CoinGecko runs; the other providers are disabled so prices cannot fail over elsewhere.
    sandbox = await startSandbox({
      providers: ['coingecko'],
      quotas: { coingecko: { limit: RPM, windowMs: 60_000 } },
    });
    const env = {
      ...sandboxProviderEnv(sandbox, UPSTREAMS),
      REDIS_URL,
      MARKETGRAPH_REDIS_PREFIX: prefix,
      MARKETGRAPH_COINGECKO_RPM: String(RPM),
      MARKETGRAPH_UPSTREAM_DEADLINE_MS: '3000',
    };
    [a, b] = await Promise.all([spawnGateway({ env }), spawnGateway({ env })]);
  }, 40_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await sandbox?.close();
    if (redis) await deleteKeys(redis, prefix);
    redis?.disconnect();
  });

  it('serves from process B, with 0 upstream calls, what process A fetched', async () => {
    expect(a.url).not.toBe(b.url);
    const query = '{ asset(id: "bitcoin") { price { value asOf source } market { price asOf } } }';
    reset();
    const first = await a.query<PriceAnswer>(query);
    expect(first.body.errors).toBeUndefined();
    expect(first.body.data!.asset!.price!.value).toBeGreaterThan(0);
    expect(first.body.data!.asset!.price!.source).toBe('COINGECKO');
    expect(sandbox.count('coingecko')).toBeGreaterThan(0);
    expect((await keysUnder(redis, `${prefix}cache:`)).length).toBeGreaterThan(0);

    reset();
    const second = await b.query<PriceAnswer>(query);
    expect(second.body.errors).toBeUndefined();
    expect(second.body.data).toEqual(first.body.data);
    expect(sandbox.counts()).toEqual({});
  });

  it(`keeps both processes together within MARKETGRAPH_COINGECKO_RPM=${RPM}`, async () => {
    // Asset metadata first (one markets page, shared through Redis), so that every query below needs
    // exactly one CoinGecko call of its own: the OHLC of one asset in one currency.
    const page = await a.query('{ assets(first: 20) { edges { node { id } } } }');
    expect(page.body.errors).toBeUndefined();
    const ids = ['ethereum', 'tether', 'solana', 'ripple', 'cardano', 'dogecoin', 'tron', 'polkadot'];
    const queries = ids.flatMap((id) =>
      ['EUR', 'GBP'].map(
        (currency) =>
          `{ asset(id: "${id}") { candles(interval: H4, currency: ${currency}, first: 1) { edges { node { close } } } } }`,
      ),
    );
    const started = Date.now();
    const results = await Promise.all(queries.map((q, i) => (i % 2 === 0 ? a : b).query(q)));
    const elapsed = Date.now() - started;

    const all = sandbox.requests('coingecko');
    const why = async () =>
      JSON.stringify({
        spent,
        now: sandbox.counts(),
        redisPoints: await redis.get(`${prefix}quota:coingecko`),
        a: await upstreamCounts(a),
        b: await upstreamCounts(b),
      });
    // Everything either process sent to CoinGecko since the quota window opened (the prefix is new).
    expect(spent + all.length, await why()).toBeLessThanOrEqual(RPM);
    expect(all.every((r) => r.status !== 429)).toBe(true);
    const refused = results.flatMap((r) => r.body.errors ?? []);
    expect(refused.length).toBeGreaterThan(0);
    for (const error of refused) {
      expect(error.extensions?.code).toBe('UPSTREAM_RATE_LIMITED');
      expect(error.extensions?.provider).toBe('coingecko');
    }
    const served = results.filter((r) => r.body.errors === undefined);
    expect(served.length).toBeGreaterThan(0);
    expect(served.length + refused.length).toBe(queries.length);
    // Refusals are immediate (the next token is a minute away), never a wait past the deadline.
    expect(elapsed).toBeLessThan(3000 + 2000);
  });
});

/** The process's own count of CoinGecko calls by endpoint and outcome, from its /metrics. */
async function upstreamCounts(gateway: GatewayProcess): Promise<Record<string, number>> {
  const text = await (await fetch(`${gateway.origin}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const [, labels, value] of text.matchAll(/^marketgraph_upstream_requests_total\{([^}]*)\} (\S+)$/gm)) {
    if (labels!.includes('provider="coingecko"'))
      out[labels!.replace(/provider="coingecko",?/, '')] = Number(value);
  }
  return out;
}

// Two ways a process used to spend calls from its per-process fallback bucket while Redis was fine,
// letting N processes exceed the shared quota (both fixed in src/http/quota.ts).
describe('the shared quota bucket over the real Redis', () => {
  it('counts the first calls in Redis, not in a per-process bucket, while the client is still connecting', async () => {
    const keyPrefix = `${testPrefix('startup')}quota`;
    const fresh = new Redis(REDIS_URL, { maxRetriesPerRequest: 2, enableOfflineQueue: false });
    const check = new Redis(REDIS_URL);
    try {
      expect(fresh.status).toBe('connecting');
      const config = loadConfig({ env: { MARKETGRAPH_COINGECKO_RPM: '10' } });
      const quota = createQuota({ config, store: { redis: fresh, keyPrefix }, now: Date.now });
      expect(await quota.acquire('coingecko', 1, Date.now() + 2_000)).toEqual({ ok: true });
      expect(await check.get(`${keyPrefix}:coingecko`)).toBe('1');
    } finally {
      await deleteKeys(check, keyPrefix);
      fresh.disconnect();
      check.disconnect();
    }
  });

  it('still obeys Redis when the process was too busy to read its (prompt) answer in time', async () => {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const keyPrefix = `${testPrefix('stall')}quota`;
    try {
      await redis.ping();
      const config = loadConfig({ env: { MARKETGRAPH_COINGECKO_RPM: '1' } });
      const quota = createQuota({ config, store: { redis, keyPrefix }, now: Date.now });
      // Another process took the only token of the window.
      const other = createQuota({ config, store: { redis, keyPrefix }, now: Date.now });
      expect(await other.acquire('coingecko', 1, Date.now() + 5_000)).toEqual({ ok: true });

      const pending = quota.acquire('coingecko', 1, Date.now() + 5_000);
      // Redis answers within a millisecond, but this process is busy (a long GC, a big response to
      // serialize, a starved CPU) for longer than the store timeout before it can read the answer.
      // 1.5 s: three times the store budget, so a loaded machine still has Redis's answer waiting.
      const busyUntil = Date.now() + 1_500;
      while (Date.now() < busyUntil) {
        // stall the event loop
      }
      const grant = await pending;
      expect(grant.ok).toBe(false);
    } finally {
      await deleteKeys(redis, keyPrefix);
      redis.disconnect();
    }
  });
});
