import { createClient } from 'graphql-ws';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { subscribeWs, waitFor } from '../helpers/clients.js';
import { useKeyedGateways } from '../helpers/keyed-gateways.js';
import { newKey, type TestKey } from '../helpers/keys.js';
import { deleteKeys, keysUnder, redisTestUrl, testPrefix } from '../helpers/redis.js';
import { freePort } from '../helpers/redis-server.js';

// Issue #12 parts 1-3 over real loopback sockets: the response cache's fast path (hits identify the
// caller and charge its request budget, and never cross scope sets), SSE and graphql-ws with and
// without a key, the per-key subscription cap, and budgets shared by two gateways through the real
// Redis (own key prefix), or kept per process when Redis cannot be reached.

// biome-ignore lint/suspicious/noExplicitAny: GraphQL answers are probed field by field
type Body = any;

const { cleanups, start, firstSseEvent } = useKeyedGateways();

const NAMES = '{ assets(first: 3) { edges { node { id symbol name } } } }';
const PRICES = 'subscription { priceUpdated(assetIds: ["bitcoin"]) { assetId value } }';

function started(keys: TestKey[], env: Record<string, string> = {}, anonymous = {}) {
  return start({ keys, env, anonymous });
}

async function get(url: string, query: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}?query=${encodeURIComponent(query)}`, {
    headers: { accept: 'application/graphql-response+json', ...headers },
  });
  return {
    status: response.status,
    headers: response.headers,
    cache: response.headers.get('x-response-cache'),
    body: (await response.json()) as Body,
  };
}

function ws(
  url: string,
  options: { payload?: Record<string, unknown>; headers?: Record<string, string> } = {},
) {
  const closes: Array<{ code: number; reason: string }> = [];
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: options.headers
      ? class extends WebSocket {
          constructor(address: string, protocols?: string | string[]) {
            super(address, protocols, { headers: options.headers });
          }
        }
      : WebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams: options.payload,
    on: { closed: (event) => closes.push(event as { code: number; reason: string }) },
  });
  cleanups.push(() => client.dispose() as Promise<void>);
  return { client, closes };
}

/** The first event of a price subscription over SSE; the stream is closed after it. */
async function sseFirstEvent(url: string, headers: Record<string, string> = {}) {
  const first = await firstSseEvent(url, PRICES, headers);
  first.close();
  return first;
}

describe('the response cache fast path', () => {
  it('identifies every hit (401 for a wrong key), charges it (429), and keeps scope sets apart', async () => {
    const plain = newKey('plain', { requestsPerMinute: 4 });
    const full = newKey('full', { scopes: ['sources:detail', 'signals:licensed'] });
    const { url } = await started([plain, full], { MARKETGRAPH_AUTH: 'optional' });
    const auth = { authorization: `Bearer ${plain.key}` };

    const miss = await get(url, NAMES, auth);
    expect(miss.status).toBe(200);
    expect(miss.cache).toBe('miss');
    expect(miss.headers.get('cache-control')).toMatch(/^private, max-age=/);
    const hit = await get(url, NAMES, auth);
    expect(hit.cache).toBe('hit');
    // extensions.cost differs per answer (quota and budget are read when it is served).
    expect(hit.body.data).toEqual(miss.body.data);

    const wrong = await get(url, NAMES, { authorization: `Bearer ${plain.key}-not` });
    expect(wrong.status).toBe(401);
    expect(wrong.cache).toBeNull();
    expect(wrong.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(wrong.body.data).toBeUndefined();

    // Another scope set never gets this entry; anonymous callers share a public one.
    expect((await get(url, NAMES, { 'x-api-key': full.key })).cache).toBe('miss');
    const anonymous = await get(url, NAMES);
    expect(anonymous.cache).toBe('miss');
    expect(anonymous.headers.get('cache-control')).toMatch(/^public, max-age=/);
    expect((await get(url, NAMES)).cache).toBe('hit');

    // Hits are charged: plain has spent 2 of its 4 requests.
    expect((await get(url, NAMES, auth)).cache).toBe('hit');
    expect((await get(url, NAMES, auth)).cache).toBe('hit');
    const over = await get(url, NAMES, auth);
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(over.body.errors[0].extensions).toMatchObject({
      code: 'RATE_LIMITED',
      limit: 'REQUESTS_PER_MINUTE',
    });
    expect((await get(url, NAMES, { 'x-api-key': full.key })).cache).toBe('hit');
  });

  it('a miss through the fast path is charged one request, not two', async () => {
    const once = newKey('once', { requestsPerMinute: 2 });
    const { url } = await started([once], { MARKETGRAPH_AUTH: 'required' });
    const auth = { 'x-api-key': once.key };
    expect((await get(url, NAMES, auth)).cache).toBe('miss');
    expect((await get(url, '{ assets(first: 2) { edges { node { id } } } }', auth)).cache).toBe('miss');
    expect((await get(url, NAMES, auth)).status).toBe(429);
  });
});

describe('SSE and graphql-ws', () => {
  it('graphql-ws takes the key from connection_init or the upgrade headers and refuses a wrong or missing one', async () => {
    const key = newKey('live', { scopes: ['subscribe'] });
    const { url } = await started([key], { MARKETGRAPH_AUTH: 'required' });

    const byPayload = ws(url, { payload: { authorization: `Bearer ${key.key}` } });
    const fromPayload = subscribeWs(byPayload.client, PRICES);
    await waitFor(() => fromPayload.events.length > 0, 10_000, 'an event with the key in connection_init');
    expect(fromPayload.events[0]!.data).toMatchObject({ priceUpdated: { assetId: 'bitcoin' } });

    const byHeader = ws(url, { headers: { 'x-api-key': key.key } });
    const fromHeader = subscribeWs(byHeader.client, PRICES);
    await waitFor(() => fromHeader.events.length > 0, 10_000, 'an event with the key in the upgrade headers');

    for (const bad of [ws(url, { payload: { 'x-api-key': 'mg_wrong' } }), ws(url)]) {
      const refused = subscribeWs(bad.client, PRICES);
      await waitFor(() => bad.closes.length > 0, 10_000, 'the socket to be closed');
      expect(bad.closes[0]!.code).toBe(4403);
      expect(bad.closes[0]!.reason).toMatch(/^UNAUTHENTICATED: /);
      expect(refused.events).toHaveLength(0);
    }
  });

  it('refuses a subscription to a key without the subscribe scope, with FORBIDDEN naming it', async () => {
    const reader = newKey('reader');
    const { url } = await started([reader], { MARKETGRAPH_AUTH: 'required' });
    const socket = ws(url, { payload: { 'x-api-key': reader.key } });
    const refused = subscribeWs(socket.client, PRICES);
    await waitFor(() => refused.failure() !== undefined || refused.events.length > 0, 10_000, 'an answer');
    const errors = (refused.failure() ?? refused.events[0]?.errors) as Array<Body>;
    expect(errors[0]).toMatchObject({ extensions: { code: 'FORBIDDEN', scope: 'subscribe' } });
    expect(errors[0].message).toMatch(/needs scope subscribe/);
  });

  it('SSE: a key in the headers streams; without one (required mode) the answer is 401', async () => {
    const key = newKey('live', { scopes: ['subscribe'] });
    const { url } = await started([key], { MARKETGRAPH_AUTH: 'required' });
    const streamed = await sseFirstEvent(url, { authorization: `Bearer ${key.key}` });
    expect(streamed.status).toBe(200);
    expect(streamed.body.data.priceUpdated.assetId).toBe('bitcoin');
    const refused = await sseFirstEvent(url);
    expect(refused.status).toBe(401);
    expect(refused.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('caps a key at its plan.maxSubscriptions across sockets and frees the slot when one ends', async () => {
    const key = newKey('one', { scopes: ['subscribe'], maxSubscriptions: 1 });
    const { url } = await started([key], { MARKETGRAPH_AUTH: 'required' });
    const first = ws(url, { payload: { 'x-api-key': key.key } });
    const held = subscribeWs(first.client, PRICES);
    await waitFor(() => held.events.length > 0, 10_000, 'the first subscription');

    const second = ws(url, { payload: { 'x-api-key': key.key } });
    const refused = subscribeWs(second.client, PRICES);
    await waitFor(() => refused.failure() !== undefined, 10_000, 'the second subscription to be refused');
    expect((refused.failure() as Array<Body>)[0].extensions).toMatchObject({
      code: 'SUBSCRIPTION_LIMIT_EXCEEDED',
      maxSubscriptions: 1,
    });

    // The first socket's `complete` and the second socket's subscribe race: retry until the slot is free.
    held.stop();
    const deadline = Date.now() + 10_000;
    let again = subscribeWs(second.client, PRICES);
    for (;;) {
      await waitFor(() => again.events.length > 0 || again.failure() !== undefined, 10_000, 'an answer');
      if (again.events.length > 0 || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
      again = subscribeWs(second.client, PRICES);
    }
    expect(again.failure()).toBeUndefined();
    expect(again.events[0]!.data).toMatchObject({ priceUpdated: { assetId: 'bitcoin' } });
  });
});

describe('subscription slots over SSE', () => {
  it('an SSE stream holds its slot while open and frees it when the client goes away', async () => {
    const key = newKey('one', { scopes: ['subscribe'], maxSubscriptions: 1 });
    const { url } = await started([key], { MARKETGRAPH_AUTH: 'required' });
    const controller = new AbortController();
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'x-api-key': key.key },
      body: JSON.stringify({ query: PRICES }),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    await reader.read();

    const refused = await sseFirstEvent(url, { 'x-api-key': key.key });
    expect(refused.body.errors[0].extensions).toMatchObject({ code: 'SUBSCRIPTION_LIMIT_EXCEEDED' });

    controller.abort();
    const deadline = Date.now() + 10_000;
    let again = await sseFirstEvent(url, { 'x-api-key': key.key });
    while (again.body.errors && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      again = await sseFirstEvent(url, { 'x-api-key': key.key });
    }
    expect(again.body.errors).toBeUndefined();
    expect(again.body.data.priceUpdated.assetId).toBe('bitcoin');
  });
});

describe('budgets across processes', () => {
  it('two gateways sharing Redis enforce one budget per key', async () => {
    const prefix = testPrefix('client-budget');
    const redis = new Redis(redisTestUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    cleanups.push(async () => {
      await deleteKeys(redis, prefix);
      redis.disconnect();
    });
    const tight = newKey('tight', { requestsPerMinute: 3 });
    const other = newKey('other', { requestsPerMinute: 3 });
    const env = {
      MARKETGRAPH_AUTH: 'required',
      REDIS_URL: redisTestUrl(),
      MARKETGRAPH_REDIS_PREFIX: prefix,
      MARKETGRAPH_RESPONSE_CACHE: 'false',
    };
    const a = await started([tight, other], env);
    const b = await started([tight, other], env);
    await waitFor(
      () => a.gateway.redisState() === 'up' && b.gateway.redisState() === 'up',
      10_000,
      'redis up',
    );
    const auth = { 'x-api-key': tight.key };
    expect((await get(a.url, NAMES, auth)).status).toBe(200);
    expect((await get(b.url, NAMES, auth)).status).toBe(200);
    expect((await get(a.url, NAMES, auth)).status).toBe(200);
    const over = await get(b.url, NAMES, auth);
    expect(over.status).toBe(429);
    expect(over.body.errors[0].extensions.code).toBe('RATE_LIMITED');
    expect((await get(b.url, NAMES, { 'x-api-key': other.key })).status).toBe(200);
    expect((await keysUnder(redis, `${prefix}budget:req`)).length).toBeGreaterThan(0);
  });

  it('without a reachable Redis, budgets are kept per process and requests never wait for it', async () => {
    const port = await freePort();
    const tight = newKey('tight', { requestsPerMinute: 2 });
    const { url } = await started([tight], {
      MARKETGRAPH_AUTH: 'required',
      REDIS_URL: `redis://127.0.0.1:${port}`,
      MARKETGRAPH_REDIS_PREFIX: testPrefix('client-budget-down'),
    });
    const auth = { 'x-api-key': tight.key };
    expect((await get(url, NAMES, auth)).status).toBe(200);
    expect((await get(url, NAMES, auth)).status).toBe(200);
    expect((await get(url, NAMES, auth)).status).toBe(429);
  });
});
