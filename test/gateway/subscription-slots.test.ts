import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { SUBSCRIPTION_LEASE_MS } from '../../src/auth/subscription-slots.js';
import type { GatewayDeps } from '../../src/server.js';
import { STREAM_TOKEN_HEADER } from '../../src/transport/use-graphql-sse.js';
import { waitFor } from '../helpers/clients.js';
import { useKeyedGateways } from '../helpers/keyed-gateways.js';
import { newKey, type TestKey } from '../helpers/keys.js';
import { shiftedClock } from '../helpers/manual-clock.js';
import { deleteKeys, redisTestUrl, testPrefix } from '../helpers/redis.js';
import { startPrivateRedis } from '../helpers/redis-server.js';

// A key's plan.maxSubscriptions across gateways sharing one Redis (src/auth/subscription-slots.ts),
// over real SSE streams: the cap holds for the two together, a stream that ends frees its slot for the
// other gateway, slots a crashed holder left behind free themselves after their lease, and with Redis
// gone each gateway admits against its own count without waiting for it.

// biome-ignore lint/suspicious/noExplicitAny: GraphQL answers are probed field by field
type Body = any;

const { sandbox, cleanups, start, firstSseEvent } = useKeyedGateways();

const PRICES = 'subscription { priceUpdated(assetIds: ["bitcoin"]) { assetId value } }';

function started(keys: TestKey[], env: Record<string, string>, deps: GatewayDeps = {}) {
  return start({ keys, env: { MARKETGRAPH_AUTH: 'required', ...env }, deps });
}

/** Opens an SSE price subscription and reads its first event; the stream stays open until close(). */
async function subscribe(url: string, key: TestKey) {
  const first = await firstSseEvent(url, PRICES, { 'x-api-key': key.key });
  expect(first.status).toBe(200);
  return first;
}

function expectStreaming(sub: { body: Body }) {
  expect(sub.body.errors).toBeUndefined();
  expect(sub.body.data.priceUpdated.assetId).toBe('bitcoin');
}

function expectRefused(sub: { body: Body }, maxSubscriptions: number) {
  expect(sub.body.errors[0].extensions).toEqual({ code: 'SUBSCRIPTION_LIMIT_EXCEEDED', maxSubscriptions });
}

async function sharedRedis() {
  const prefix = testPrefix('subscription-slots');
  const redis = new Redis(redisTestUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  cleanups.push(async () => {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });
  const env = {
    REDIS_URL: redisTestUrl(),
    MARKETGRAPH_REDIS_PREFIX: prefix,
    MARKETGRAPH_RESPONSE_CACHE: 'false',
  };
  return { prefix, redis, env };
}

describe('subscription slots across gateways sharing Redis', () => {
  it('caps a key across two gateways; a stream ending on one frees its slot for the other', async () => {
    const { prefix, redis, env } = await sharedRedis();
    const key = newKey('pair', { scopes: ['subscribe'], maxSubscriptions: 2 });
    const a = await started([key], env);
    const b = await started([key], env);
    await waitFor(
      () => a.gateway.redisState() === 'up' && b.gateway.redisState() === 'up',
      10_000,
      'redis up',
    );
    const first = await subscribe(a.url, key);
    const second = await subscribe(a.url, key);
    expectStreaming(first);
    expectStreaming(second);
    expectRefused(await subscribe(b.url, key), 2);
    const set = `${prefix}subs:pair`;
    expect(await redis.zcard(set)).toBe(2);

    first.close();
    const deadline = Date.now() + 10_000;
    while ((await redis.zcard(set)) > 1 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 25));
    expect(await redis.zcard(set)).toBe(1);
    const third = await subscribe(b.url, key);
    expectStreaming(third);
    expectRefused(await subscribe(a.url, key), 2);
    expect(await redis.zcard(set)).toBe(2);
  });

  it('slots a crashed holder left behind count until their lease is over, then free themselves', async () => {
    const { prefix, redis, env } = await sharedRedis();
    const key = newKey('orphaned', { scopes: ['subscribe'], maxSubscriptions: 2 });
    const clock = shiftedClock();
    const b = await started([key], env, { now: clock.now });
    await waitFor(() => b.gateway.redisState() === 'up', 10_000, 'redis up');
    // What a process killed while holding two streams leaves: two members it will never renew.
    const expiry = clock.now() + SUBSCRIPTION_LEASE_MS;
    await redis.zadd(`${prefix}subs:orphaned`, expiry, 'crashed:1', expiry, 'crashed:2');
    expectRefused(await subscribe(b.url, key), 2);

    clock.advance(SUBSCRIPTION_LEASE_MS + 1);
    const admitted = await subscribe(b.url, key);
    expectStreaming(admitted);
    expect(await redis.zrange(`${prefix}subs:orphaned`, 0, -1)).toHaveLength(1);
  });
});

describe('subscription slots while Redis is down', () => {
  it('each gateway admits against its own count, and no subscription waits on the dead Redis', async () => {
    const server = await startPrivateRedis();
    cleanups.push(() => server.close());
    const key = newKey('local', { scopes: ['subscribe'], maxSubscriptions: 2 });
    const env = {
      REDIS_URL: server.url,
      MARKETGRAPH_REDIS_PREFIX: testPrefix('subscription-slots-down'),
      MARKETGRAPH_REDIS_TIMEOUT_MS: '100',
      MARKETGRAPH_RESPONSE_CACHE: 'false',
    };
    const a = await started([key], env);
    const b = await started([key], env);
    await waitFor(
      () => a.gateway.redisState() === 'up' && b.gateway.redisState() === 'up',
      10_000,
      'redis up',
    );
    await server.kill();
    await waitFor(
      () => a.gateway.redisState() === 'down' && b.gateway.redisState() === 'down',
      10_000,
      'redis down',
    );
    // Two on each: the per-process count (the shared one cannot be asked) admits them.
    for (const g of [a, b]) {
      expectStreaming(await subscribe(g.url, key));
      expectStreaming(await subscribe(g.url, key));
      expectRefused(await subscribe(g.url, key), 2);
    }
  });

  it('a Redis that stops answering (paused) costs a subscription at most the Redis budget, then the local count decides', async () => {
    const server = await startPrivateRedis();
    cleanups.push(() => server.close());
    const key = newKey('hung', { scopes: ['subscribe'], maxSubscriptions: 2 });
    const a = await started([key], {
      REDIS_URL: server.url,
      MARKETGRAPH_REDIS_PREFIX: testPrefix('subscription-slots-hung'),
      MARKETGRAPH_REDIS_TIMEOUT_MS: '100',
      MARKETGRAPH_RESPONSE_CACHE: 'false',
    });
    await waitFor(() => a.gateway.redisState() === 'up', 10_000, 'redis up');
    server.pause();
    cleanups.push(async () => server.resume());
    expectStreaming(await subscribe(a.url, key));
    expectStreaming(await subscribe(a.url, key));
    expectRefused(await subscribe(a.url, key), 2);
  });
});

describe('a subscription whose client leaves while it is being set up', () => {
  /** Slows the catalogues a subscription's set-up waits on, so its client can leave first. */
  function slowSetUp(): () => void {
    sandbox().faults.set('coingecko', '*', { kind: 'latency', latencyMs: 600 });
    sandbox().faults.set('binance', '*', { kind: 'latency', latencyMs: 600 });
    const restore = () => {
      sandbox().faults.clear('coingecko');
      sandbox().faults.clear('binance');
    };
    cleanups.push(async () => restore());
    return restore;
  }

  /** Sends `request`, gives up on it (`leave`) 150 ms later, and waits for it to be over. */
  async function leftDuringSetUp(
    request: (signal: AbortSignal) => Promise<unknown>,
    leave?: AbortController,
  ) {
    const controller = leave ?? new AbortController();
    const sent = request(controller.signal).catch(() => undefined);
    setTimeout(() => controller.abort(), 150);
    await sent;
  }

  /** Once the left subscription's set-up is over its slot is free: the key's next one is admitted. */
  async function expectAdmittedAgain(url: string, key: TestKey) {
    const deadline = Date.now() + 10_000;
    let next = await subscribe(url, key);
    while (next.body.errors && Date.now() < deadline) {
      next.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
      next = await subscribe(url, key);
    }
    expectStreaming(next);
  }

  const ssePost = (url: string, headers: Record<string, string>) => (signal: AbortSignal) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
      body: JSON.stringify({ query: PRICES }),
      signal,
    });

  it('frees its slot: the next subscription of the key is admitted', async () => {
    const key = newKey('leaver', { scopes: ['subscribe'], maxSubscriptions: 1 });
    const { url } = await started([key], {});
    const restore = slowSetUp();
    await leftDuringSetUp(ssePost(url, { 'x-api-key': key.key }));
    restore();
    await expectAdmittedAgain(url, key);
  });

  it('is ended with auth off too: no subscription stays active', async () => {
    const { url } = await started([], { MARKETGRAPH_AUTH: 'off' });
    const restore = slowSetUp();
    await leftDuringSetUp(ssePost(url, {}));
    restore();
    const metrics = async () => (await fetch(url.replace(/\/graphql$/, '/metrics'))).text();
    const read = (text: string, pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);
    const startedStreams =
      /marketgraph_operation_duration_seconds_count\{[^}]*type="subscription"[^}]*\} (\d+)/;
    const active = /marketgraph_subscriptions_active\{transport="sse"\} (\d+)/;
    // Its set-up ends after the client left (the operation is then recorded); the stream it opened
    // must then end at once, not stay active feeding nobody.
    const deadline = Date.now() + 10_000;
    let text = await metrics();
    while ((read(text, startedStreams) < 1 || read(text, active) > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      text = await metrics();
    }
    expect(read(text, startedStreams)).toBe(1);
    expect(read(text, active)).toBe(0);
  });

  it('over graphql-sse single-connection: a stream ending while its posted subscription is set up frees the slot', async () => {
    const key = newKey('single', { scopes: ['subscribe'], maxSubscriptions: 1 });
    const { url } = await started([key], {});
    const auth = { 'x-api-key': key.key };
    const token = await (await fetch(url, { method: 'PUT', headers: { accept: '*/*', ...auth } })).text();
    const stream = new AbortController();
    const opened = await fetch(url, {
      headers: { accept: 'text/event-stream', [STREAM_TOKEN_HEADER]: token, ...auth },
      signal: stream.signal,
    });
    expect(opened.status).toBe(200);
    const restore = slowSetUp();
    await leftDuringSetUp(
      () =>
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [STREAM_TOKEN_HEADER]: token, ...auth },
          body: JSON.stringify({ query: PRICES, extensions: { operationId: 'p' } }),
        }),
      stream,
    );
    restore();
    await expectAdmittedAgain(url, key);
  });
});
