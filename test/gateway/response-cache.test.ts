import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { sandboxEndpoints } from '../../src/sandbox/dialects.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';
import { createGateway, type Gateway } from '../../src/server.js';
import { onlyUpstreams } from '../helpers/gateway.js';

// Issue #9, the response cache end to end: real HTTP on a started gateway (port 0), because the cache
// sits in the node:http listener in front of Yoga; `gateway.yoga.fetch` bypasses it, which is what
// makes it the "fresh execution at the same instant" to compare a hit with. One clock drives the
// sandbox market, the per-process cache and the response cache, so the tests move time instead of
// sleeping. CoinGecko is the only provider, so AUTO prices are CoinGecko's and a price fault shows.

const ASSETS =
  '{ assets(first: 50) { edges { node { id symbol price { value change24h asOf source stale } } } } }';
/** Its quotes need simple/price (the markets page primes USD quotes only). */
const EUR_ASSETS =
  '{ assets(first: 50) { edges { node { id symbol price(currency: EUR) { value change24h asOf source stale } } } } }';
/** Reads only the markets page (market TTL, 60 s). */
const NAMES = '{ assets(first: 5) { edges { node { id symbol name } } } }';
const TOP = 'query Top($n: Int) { assets(first: $n) { edges { node { id } } } }';

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: GraphQL answers are probed field by field
  body: any;
  /** x-response-cache: hit, miss (executed and stored) or skip (<reason>). */
  cache: string | null;
}

interface Harness {
  sandbox: Sandbox;
  gateway: Gateway;
  url: string;
  clock: { now(): number; advance(ms: number): void };
  get(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<Reply>;
  post(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<Reply>;
  /** The same query executed now without the response cache (yoga.fetch). */
  fresh(query: string, variables?: Record<string, unknown>): Promise<unknown>;
  metric(name: string, labels: string): Promise<number>;
}

let open: Harness | undefined;

async function start(
  env: Record<string, string> = {},
  providers: Array<'coingecko' | 'binance'> = ['coingecko'],
): Promise<Harness> {
  let now = Date.parse('2026-06-01T12:00:00.250Z');
  const clock = {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
  const sandbox = await startSandbox({ quotas: false, now: clock.now, providers });
  const fullEnv = {
    MARKETGRAPH_PORT: '0',
    MARKETGRAPH_LOG_LEVEL: 'silent',
    MARKETGRAPH_UPSTREAM_RETRIES: '0',
    ...onlyUpstreams(...providers),
    ...env,
  };
  const config = loadConfig({ env: fullEnv, endpoints: sandboxEndpoints(sandbox) });
  const gateway = createGateway(config, { logger: pino({ level: 'silent' }), now: clock.now });
  const { url } = await gateway.start();
  const read = async (response: Response): Promise<Reply> => {
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return {
      status: response.status,
      headers: response.headers,
      text,
      body,
      cache: response.headers.get('x-response-cache'),
    };
  };
  const harness: Harness = {
    sandbox,
    gateway,
    url,
    clock,
    async get(query, variables, headers = {}) {
      const params = new URLSearchParams({ query });
      if (variables) params.set('variables', JSON.stringify(variables));
      return read(await fetch(`${url}?${params}`, { headers: { accept: 'application/json', ...headers } }));
    },
    async post(query, variables, headers = {}) {
      return read(
        await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
          body: JSON.stringify({ query, variables }),
        }),
      );
    },
    async fresh(query, variables) {
      const response = await gateway.yoga.fetch('http://gateway.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ query, variables }),
      });
      return response.json();
    },
    async metric(name, labels) {
      const text = await (await fetch(url.replace(/\/graphql$/, '/metrics'))).text();
      const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
    },
  };
  open = harness;
  return harness;
}

afterEach(async () => {
  await open?.gateway.close();
  await open?.sandbox.close();
  open = undefined;
});

/** An answer without extensions.cost, which is per response (quota left, calls made). */
// biome-ignore lint/suspicious/noExplicitAny: GraphQL answers are probed field by field
function withoutCost(body: any): unknown {
  const { cost: _cost, ...extensions } = body.extensions ?? {};
  return { ...body, extensions };
}

const maxAge = (reply: Reply) => Number(/max-age=(\d+)/.exec(reply.headers.get('cache-control') ?? '')?.[1]);

describe('response cache lifetime', () => {
  it('expires an answer no later than the first of its values to go stale', async () => {
    const h = await start();
    const first = await h.get(ASSETS);
    expect(first.cache).toBe('miss');
    expect(first.body.errors).toBeUndefined();
    // Quotes live 15 s, the markets page 60 s: the answer lives 15 s.
    expect(first.headers.get('cache-control')).toBe('public, max-age=15');

    h.clock.advance(10_000);
    const hit = await h.get(ASSETS);
    expect(hit.cache).toBe('hit');
    // The same answer; extensions.cost is the hit's own (no upstream call).
    expect(hit.body.data).toEqual(first.body.data);
    expect(hit.body.extensions.freshness).toEqual(first.body.extensions.freshness);
    expect(first.body.extensions.cost.upstreamCalls.total).toBeGreaterThan(0);
    expect(hit.body.extensions.cost.upstreamCalls).toEqual({ total: 0, byProvider: {} });
    expect(maxAge(hit)).toBe(5);

    h.clock.advance(4_999);
    expect((await h.get(ASSETS)).cache).toBe('hit');
    h.clock.advance(1);
    // The quotes are now at their TTL: the execution serves them stale, so nothing is stored.
    const expired = await h.get(ASSETS);
    expect(expired.cache).toBe('skip (stale)');
    expect(expired.headers.get('cache-control')).toBe('no-store');
    expect(expired.body.data.assets.edges[0].node.price.stale).toBe(true);
  });

  it('counts from when each value was fetched: an older page shortens an answer with new quotes', async () => {
    const h = await start();
    const names = await h.get(NAMES);
    expect(names.cache).toBe('miss');
    expect(maxAge(names)).toBe(60);

    h.clock.advance(50_000);
    expect((await h.get(NAMES)).cache).toBe('hit');
    const prices = await h.get(ASSETS);
    expect(prices.cache).toBe('miss');
    // Quotes fetched now would last 15 s; the page it also read was fetched 50 s ago and lasts 10 more.
    expect(maxAge(prices)).toBe(10);

    h.clock.advance(10_000);
    expect((await h.get(ASSETS)).cache).not.toBe('hit');
    expect((await h.get(NAMES)).cache).not.toBe('hit');
  });

  it('answers exactly what a fresh execution says at the same instant, asOf and stale included', async () => {
    const h = await start();
    await h.get(ASSETS);
    h.clock.advance(7_000);
    const hit = await h.get(ASSETS);
    expect(hit.cache).toBe('hit');
    expect(withoutCost(hit.body)).toEqual(withoutCost(await h.fresh(ASSETS)));

    // CoinGecko fails from now on: past the TTL the quotes are served stale (refreshes fail), and the
    // answer says so, as the fresh execution does; it is never stored.
    h.sandbox.faults.set('coingecko', 'simple/price', { kind: 'server-error', status: 503 });
    h.clock.advance(9_000);
    const stale = await h.get(ASSETS);
    const again = await h.get(ASSETS);
    expect(stale.cache).toBe('skip (stale)');
    expect(again.cache).toBe('skip (stale)');
    expect(
      stale.body.data.assets.edges.every((e: { node: { price: { stale: boolean } } }) => e.node.price.stale),
    ).toBe(true);
    // Each execution spends its own refresh attempt, so their quota left differs by one.
    expect(withoutCost(again.body)).toEqual(withoutCost(await h.fresh(ASSETS)));
    expect(again.body.extensions.freshness.stale).toBe(true);
    expect(hit.body.extensions.freshness.stale).toBe(false);
    expect(stale.body.data.assets.edges[0].node.price.asOf).toBe(
      hit.body.data.assets.edges[0].node.price.asOf,
    );
  });

  it('drops an answer as soon as a value it read is rewritten, then answers like a fresh execution', async () => {
    const h = await start();
    const BTC = '{ asset(id: "bitcoin") { name rank market { price asOf stale } } }';
    // Its first execution primes the values it read (a markets call stores what it carried), which
    // supersedes that answer; the next one reads them from the cache and is stored.
    let reply = await h.get(BTC);
    for (let i = 0; i < 3 && reply.cache !== 'hit'; i++) reply = await h.get(BTC);
    expect(reply.cache).toBe('hit');

    h.clock.advance(2_000);
    const invalidatedBefore = await h.metric(
      'marketgraph_response_cache_events_total',
      'event="invalidate",reason=""',
    );
    // The top-markets page carries Bitcoin's asset and market data too, and stores them anew.
    expect((await h.get(NAMES)).cache).toBe('miss');
    for (let i = 0; i < 50; i++) {
      if (
        (await h.metric('marketgraph_response_cache_events_total', 'event="invalidate",reason=""')) >
        invalidatedBefore
      )
        break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const after = await h.get(BTC);
    expect(after.cache).not.toBe('hit');
    expect(withoutCost(after.body)).toEqual(withoutCost(await h.fresh(BTC)));
  });
});

describe('process state', () => {
  it('serves a stored answer only while AUTO prices would ask the same provider first', async () => {
    const h = await start({}, ['coingecko', 'binance']);
    // Identity first (Binance pairs come from the registry), while CoinGecko is healthy.
    expect((await h.get('{ asset(symbol: "BTC") { id } }')).body.errors).toBeUndefined();
    const first = await h.get(ASSETS);
    expect(first.body.data.assets.edges[0].node.price.source).toBe('COINGECKO');
    expect((await h.get(ASSETS)).cache).toBe('hit');

    // CoinGecko asks us to wait a minute: AUTO now asks Binance first.
    h.sandbox.faults.set('coingecko', 'coins/markets', { kind: 'rate-limit', retryAfter: 60 });
    const limited = await h.get('{ asset(id: "bitcoin") { market(currency: EUR) { price } } }');
    expect(limited.body.errors[0].extensions.code).toBe('UPSTREAM_RATE_LIMITED');
    const after = await h.get(ASSETS);
    expect(after.cache).not.toBe('hit');
    expect(after.body.data.assets.edges[0].node.price.source).toBe('BINANCE');
    expect(withoutCost(after.body)).toEqual(withoutCost(await h.fresh(ASSETS)));
  });
});

describe('what is never stored', () => {
  it('never stores or serves a partial answer, and stores the whole one once the provider is back', async () => {
    const h = await start();
    h.sandbox.faults.set('coingecko', 'simple/price', { kind: 'server-error', status: 503 });
    const partial = await h.get(EUR_ASSETS);
    expect(partial.body.data.assets.edges[0].node.price).toBeNull();
    expect(partial.body.errors[0].extensions.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(partial.cache).toBe('skip (error-value)');
    h.sandbox.resetCounts();
    const again = await h.get(EUR_ASSETS);
    expect(again.cache).not.toBe('hit');
    // It was executed again: the failing call was made again.
    expect(h.sandbox.count('coingecko', 'simple/price')).toBeGreaterThan(0);

    h.sandbox.faults.clear();
    const whole = await h.get(EUR_ASSETS);
    expect(whole.body.errors).toBeUndefined();
    expect(whole.cache).toBe('miss');
    expect((await h.get(EUR_ASSETS)).cache).toBe('hit');
  });

  it.each([
    ['a validation error', '{ assets(first: 5) { nope } }', 'incomplete'],
    ['a resolver error', '{ assets(first: 100000) { edges { node { id } } } }', 'errors'],
    [
      'an answer from the asset registry (no freshness)',
      '{ asset(symbol: "BTC") { id } }',
      'service:registry',
    ],
    [
      'candles (their window follows the clock)',
      '{ asset(id: "bitcoin") { candles(first: 2) { edges { node { close } } } } }',
      'clock:candles',
    ],
    ['provider health', '{ sources { name healthy } }', 'service:http'],
    ['introspection (reads no value)', '{ __typename }', 'no-reads'],
  ])('does not store %s', async (_name, query, reason) => {
    const h = await start();
    const first = await h.get(query);
    const second = await h.get(query);
    expect(first.cache).toBe(`skip (${reason})`);
    expect(second.cache).toBe(`skip (${reason})`);
    expect(second.headers.get('cache-control')).toBe('no-store');
  });
});

describe('keys', () => {
  it('never lets two requests that differ only in variables share an answer', async () => {
    const h = await start();
    for (const send of [h.get, h.post]) {
      const two = await send(TOP, { n: 2 });
      const three = await send(TOP, { n: 3 });
      expect(two.cache).toBe('miss');
      expect(three.cache).toBe('miss');
      const twoAgain = await send(TOP, { n: 2 });
      const threeAgain = await send(TOP, { n: 3 });
      expect([twoAgain.cache, threeAgain.cache]).toEqual(['hit', 'hit']);
      expect(twoAgain.body.data.assets.edges).toHaveLength(2);
      expect(threeAgain.body.data.assets.edges).toHaveLength(3);
      expect(withoutCost(twoAgain.body)).toEqual(withoutCost(await h.fresh(TOP, { n: 2 })));
      expect(withoutCost(threeAgain.body)).toEqual(withoutCost(await h.fresh(TOP, { n: 3 })));
    }
  });

  it('keys on the media type asked for', async () => {
    const h = await start();
    const json = await h.get(NAMES);
    const graphql = await h.get(NAMES, undefined, { accept: 'application/graphql-response+json' });
    expect(graphql.cache).toBe('miss');
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    expect(graphql.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
    const graphqlHit = await h.get(NAMES, undefined, { accept: 'application/graphql-response+json' });
    expect(graphqlHit.cache).toBe('hit');
    expect(graphqlHit.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
  });
});

describe('HTTP caching', () => {
  it('gives GET answers an ETag and max-age, 304 for a matching If-None-Match, and POST answers no-store', async () => {
    const h = await start();
    const first = await h.get(ASSETS);
    // Weak: the bytes after the answer's data (extensions.cost) differ from one response to the next.
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^W\/"[\w-]+"$/);
    expect(first.headers.get('vary')).toBe('Accept, Origin, Accept-Encoding');

    h.clock.advance(3_000);
    for (const tag of [etag, etag.slice(2), `"other", ${etag}`]) {
      const notModified = await h.get(ASSETS, undefined, { 'if-none-match': tag });
      expect(notModified.status).toBe(304);
      expect(notModified.text).toBe('');
      expect(notModified.headers.get('etag')).toBe(etag);
      expect(notModified.headers.get('cache-control')).toBe('public, max-age=12');
    }
    const other = await h.get(ASSETS, undefined, { 'if-none-match': '"other"' });
    expect(other.status).toBe(200);
    expect(other.body.data).toEqual(first.body.data);

    const post = await h.post(ASSETS, undefined, { 'if-none-match': etag });
    expect(post.status).toBe(200);
    expect(post.headers.get('cache-control')).toBe('no-store');
    expect(post.headers.get('etag')).toBeNull();

    // New values, new validator: the old one no longer matches.
    h.clock.advance(30_000);
    await h.get(ASSETS);
    const renewed = await h.get(ASSETS, undefined, { 'if-none-match': etag });
    expect(renewed.cache).toBe('hit');
    expect(renewed.status).toBe(200);
    expect(renewed.headers.get('etag')).not.toBe(etag);
  });
});

describe('the fast path', () => {
  it('answers a hit without an upstream call and without executing (the process cache sees no read)', async () => {
    const h = await start();
    await h.get(ASSETS);
    await h.post(ASSETS);
    h.sandbox.resetCounts();
    const readsBefore = await h.metric('marketgraph_cache_events_total', 'namespace="quote",event="hit"');
    const hitsBefore = await h.metric('marketgraph_response_cache_events_total', 'event="hit",reason=""');
    for (let i = 0; i < 3; i++) {
      expect((await h.get(ASSETS)).cache).toBe('hit');
      expect((await h.post(ASSETS)).cache).toBe('hit');
    }
    expect(h.sandbox.counts()).toEqual({});
    expect(await h.metric('marketgraph_cache_events_total', 'namespace="quote",event="hit"')).toBe(
      readsBefore,
    );
    expect(await h.metric('marketgraph_response_cache_events_total', 'event="hit",reason=""')).toBe(
      hitsBefore + 6,
    );

    // The same query through yoga.fetch executes: 50 quote reads from the process cache.
    await h.fresh(ASSETS);
    expect(await h.metric('marketgraph_cache_events_total', 'namespace="quote",event="hit"')).toBe(
      readsBefore + 50,
    );
  });

  it('leaves SSE, GraphiQL and other paths to Yoga', async () => {
    const h = await start();
    const sse = await fetch(`${h.url}?query=${encodeURIComponent(NAMES)}`, {
      headers: { accept: 'text/event-stream' },
    });
    expect(sse.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(sse.headers.get('x-response-cache')).toBeNull();
    await sse.body?.cancel();
    const page = await fetch(h.url, { headers: { accept: 'text/html' } });
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('x-response-cache')).toBeNull();
    await page.body?.cancel();
    const health = await fetch(h.url.replace(/\/graphql$/, '/health'));
    expect(health.status).toBe(200);
    expect(health.headers.get('x-response-cache')).toBeNull();
    await health.body?.cancel();
  });

  it('is off with MARKETGRAPH_RESPONSE_CACHE=false: every request executes', async () => {
    const h = await start({ MARKETGRAPH_RESPONSE_CACHE: 'false' });
    await h.get(ASSETS);
    const second = await h.get(ASSETS);
    expect(second.cache).toBeNull();
    expect(second.headers.get('cache-control')).toBeNull();
    expect(second.body.errors).toBeUndefined();
  });
});
