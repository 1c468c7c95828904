import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { UpstreamName } from '../../src/config.js';
import { SANDBOX_KEYS } from '../../src/sandbox/dialects.js';
import { onlyUpstreams, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { shiftedClock } from '../helpers/manual-clock.js';

// Issue #3 acceptance, end to end: each fault is injected in the sandbox, the query goes through the
// whole gateway, and the test asserts what the client saw and what reached the provider. CoinGecko
// is the only price provider running here (the others are off), so a price fault cannot be hidden by
// failing over to another provider: what is tested is the discipline of the calls to one provider.
// Prices are Ether's, so a Bitcoin-only fallback (mempool.space runs here for on-chain data) cannot
// hide a fault either.

type GqlError = { message: string; path?: unknown[]; extensions?: Record<string, unknown> };

const OTHERS_OFF = onlyUpstreams('coingecko', 'mempool');

function startCoinGeckoGateway(env: Record<string, string> = {}, now?: () => number) {
  return startTestGateway({
    env: { ...OTHERS_OFF, ...env },
    sandbox: { providers: ['coingecko', 'mempool'] },
    now,
  });
}

function errorAt(errors: GqlError[] | undefined, path: unknown[]): GqlError | undefined {
  return errors?.find((e) => JSON.stringify(e.path) === JSON.stringify(path));
}

// Prices in EUR where a fault on simple/price is the point: a markets call (the warm-up's) carries
// CoinGecko's USD price and primes that quote, so a USD price would need no simple/price call.
const PRICE = (currency = 'USD') =>
  `{ asset(id: "ethereum") { price(currency: ${currency}) { value asOf stale } } }`;

interface PriceData {
  asset: { price: { value: number; asOf: string; stale: boolean } | null } | null;
}

describe('Retry-After', () => {
  it('waits it out when the deadline allows: the value comes back, no call before it elapsed', async () => {
    const t = await startCoinGeckoGateway();
    try {
      await t.query('{ asset(id: "ethereum") { id } }');
      t.sandbox.resetCounts();
      t.sandbox.faults.set('coingecko', 'simple/price', { kind: 'rate-limit', retryAfter: 1, times: 1 });
      const started = Date.now();
      const res = await t.query<PriceData>(PRICE('EUR'));
      const elapsed = Date.now() - started;
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data!.asset!.price!.value).toBeGreaterThan(0);
      expect(elapsed).toBeGreaterThanOrEqual(1000);

      const calls = t.sandbox.requests('coingecko');
      expect(calls.map((c) => c.status)).toEqual([429, 200]);
      expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(1000);
    } finally {
      await t.close();
    }
  });

  it('answers UPSTREAM_RATE_LIMITED with retryAfter when the wait exceeds the deadline, and holds every call', async () => {
    // Retry-After 30 s beyond a 25 s deadline, on a gateway clock the test jumps: a call that waited
    // (for either) instead of failing at once would fail this test by its 20 s timeout.
    const clock = shiftedClock();
    const t = await startCoinGeckoGateway({ MARKETGRAPH_UPSTREAM_DEADLINE_MS: '25000' }, clock.now);
    try {
      await t.query('{ asset(id: "ethereum") { id } }');
      t.sandbox.resetCounts();
      t.sandbox.faults.set('coingecko', 'simple/price', { kind: 'rate-limit', retryAfter: 30, times: 1 });
      const res = await t.query<PriceData>(PRICE('EUR'));
      expect(res.body.data!.asset!.price).toBeNull();
      const error = errorAt(res.body.errors, ['asset', 'price']);
      expect(error?.extensions).toMatchObject({
        code: 'UPSTREAM_RATE_LIMITED',
        provider: 'coingecko',
        retryAfter: 30,
      });

      // Another endpoint of the same provider is held too, without a call leaving the gateway, until
      // the wait is over on the gateway's clock.
      const other = await t.query('{ asset(id: "ethereum") { market(currency: EUR) { price } } }');
      expect(errorAt(other.body.errors, ['asset', 'market'])?.extensions).toMatchObject({
        code: 'UPSTREAM_RATE_LIMITED',
        provider: 'coingecko',
      });
      // Later, while more than the deadline of the wait is left: still refused at once.
      clock.advance(4_000);
      const stillHeld = await t.query<PriceData>(PRICE('EUR'));
      expect(errorAt(stillHeld.body.errors, ['asset', 'price'])?.extensions?.code).toBe(
        'UPSTREAM_RATE_LIMITED',
      );
      expect(t.sandbox.count('coingecko')).toBe(1);

      clock.advance(26_000);
      const after = await t.query<PriceData>(PRICE('EUR'));
      expect(after.body.errors).toBeUndefined();
      expect(after.body.data!.asset!.price!.value).toBeGreaterThan(0);
      const calls = t.sandbox.requests('coingecko');
      expect(calls[0]!.status).toBe(429);
      expect(calls.length).toBeGreaterThan(1);
    } finally {
      await t.close();
    }
  });
});

describe('a hung provider', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startCoinGeckoGateway({ MARKETGRAPH_UPSTREAM_DEADLINE_MS: '1500' });
  });
  afterAll(async () => {
    await t.close();
  });

  it('yields UPSTREAM_TIMEOUT on the price within the deadline while the other fields resolve', async () => {
    // The asset catalogue first, so the query below waits on no call but its own.
    await t.query('{ asset(id: "ethereum") { id } }');
    t.sandbox.resetCounts();
    t.sandbox.faults.set('coingecko', 'simple/price', { kind: 'hang' });
    const started = Date.now();
    const res = await t.query<{
      asset: { id: string; price: unknown; market: { price: number } | null } | null;
      onChainMetrics: Array<{ kind: string; value: number; source: string } | null>;
    }>(`{
      asset(id: "ethereum") { id price(currency: EUR) { value } market { price } }
      onChainMetrics(chain: "bitcoin", kinds: [BLOCK_HEIGHT, FEE_FASTEST]) { kind value source }
    }`);
    // The provider never answers, so an answer at all means the gateway gave up on it, and not before
    // this deadline. It was this one, not the 8 s default: the only bound here on elapsed time is that,
    // 6.5 s wide, which a loaded machine does not cross and a wrong deadline does. (The deadline timer
    // and undici's header timeout, set to what is left of it, race: either may name the timeout.)
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1500);
    expect(elapsed).toBeLessThan(8000);

    expect(res.body.errors).toHaveLength(1);
    const timeout = errorAt(res.body.errors, ['asset', 'price']);
    expect(timeout?.extensions).toMatchObject({ code: 'UPSTREAM_TIMEOUT', provider: 'coingecko' });
    expect(timeout?.message).toMatch(/within the 1500 ms deadline|UND_ERR_HEADERS_TIMEOUT/);
    const data = res.body.data!;
    expect(data.asset!.id).toBe('ethereum');
    expect(data.asset!.price).toBeNull();
    expect(data.asset!.market!.price).toBeGreaterThan(0);
    expect(data.onChainMetrics.map((m) => m?.kind).sort()).toEqual(['BLOCK_HEIGHT', 'FEE_FASTEST']);
    expect(data.onChainMetrics.every((m) => m!.source === 'MEMPOOL' && m!.value > 0)).toBe(true);
    // A deadline is final: the hung call is not retried.
    expect(t.sandbox.count('coingecko', 'simple/price')).toBe(1);
  });
});

describe('HTML 429 pages', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startCoinGeckoGateway({ MARKETGRAPH_UPSTREAM_RETRIES: '1' });
  });
  afterAll(async () => {
    await t.close();
  });
  afterEach(() => {
    t.sandbox.faults.clear();
  });

  it("classifies mempool.space's own quota page (nginx HTML, no Retry-After) as UPSTREAM_RATE_LIMITED", async () => {
    t.sandbox.setQuota('mempool', { limit: 1, windowMs: 60_000 });
    try {
      const first = await t.query('{ onChainMetrics(chain: "bitcoin", kinds: [BLOCK_HEIGHT]) { value } }');
      expect(first.body.errors).toBeUndefined();
      t.sandbox.resetCounts();
      const res = await t.query<{ onChainMetrics: unknown[] }>(
        '{ onChainMetrics(chain: "bitcoin", kinds: [FEE_FASTEST]) { value } }',
      );
      expect(res.body.data!.onChainMetrics).toEqual([null]);
      expect(res.body.errors?.[0]?.extensions).toMatchObject({
        code: 'UPSTREAM_RATE_LIMITED',
        provider: 'mempool',
      });
      const calls = t.sandbox.requests('mempool');
      expect(calls.length).toBeGreaterThan(0);
      expect(calls.every((c) => c.status === 429)).toBe(true);
    } finally {
      t.sandbox.setQuota('mempool', null);
    }
  });

  it('classifies an HTML 429 page injected on CoinGecko as UPSTREAM_RATE_LIMITED', async () => {
    t.sandbox.faults.set('coingecko', 'simple/price', { kind: 'html', status: 429 });
    const res = await t.query<PriceData>(PRICE('CHF'));
    expect(res.body.data!.asset!.price).toBeNull();
    const error = errorAt(res.body.errors, ['asset', 'price'])!;
    expect(error.extensions).toMatchObject({ code: 'UPSTREAM_RATE_LIMITED', provider: 'coingecko' });
    expect(error.message).toMatch(/429/);
    expect(error.message).not.toMatch(/<html|<center|nginx/i);
  });
});

describe('circuit breaker', () => {
  // The half-open wait runs on the gateway's clock (wall time plus the test's jumps).
  const HALF_OPEN_MS = 60_000;
  const clock = shiftedClock();
  let t: TestGateway;
  beforeAll(async () => {
    t = await startCoinGeckoGateway(
      {
        MARKETGRAPH_BREAKER_THRESHOLD: '3',
        // Long, so the real time the test takes is nothing beside it; the test jumps the clock instead.
        MARKETGRAPH_BREAKER_HALF_OPEN_MS: String(HALF_OPEN_MS),
        MARKETGRAPH_UPSTREAM_RETRIES: '0',
      },
      clock.now,
    );
  });
  afterAll(async () => {
    await t.close();
  });

  const breakerOf = async (name: UpstreamName) => {
    const res = await t.query<{ sources: Array<{ name: string; breaker: string; healthy: boolean }> }>(
      '{ sources { name breaker healthy } }',
    );
    return res.body.data!.sources.find((s) => s.name === name)!;
  };
  const priceError = async (currency = 'EUR') =>
    errorAt((await t.query(PRICE(currency))).body.errors, ['asset', 'price']);

  it('opens after 3 consecutive failures, refuses without calling, probes once after the wait, then closes', async () => {
    await t.query('{ asset(id: "ethereum") { id } }');
    t.sandbox.resetCounts();
    t.sandbox.faults.set('coingecko', 'simple/price', { kind: 'server-error', status: 503 });
    expect((await breakerOf('coingecko')).breaker).toBe('CLOSED');

    for (let i = 0; i < 3; i++) {
      expect((await priceError())?.extensions).toMatchObject({
        code: 'UPSTREAM_UNAVAILABLE',
        provider: 'coingecko',
      });
    }
    expect(t.sandbox.count('coingecko')).toBe(3);
    expect(await breakerOf('coingecko')).toMatchObject({ breaker: 'OPEN', healthy: false });

    // Open: refused at once, nothing reaches the provider, any endpoint.
    for (const currency of ['EUR', 'GBP', 'CHF']) {
      const error = await priceError(currency);
      expect(error?.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', provider: 'coingecko' });
      expect(error?.message).toMatch(/circuit/);
    }
    const market = await t.query('{ asset(id: "ethereum") { market(currency: JPY) { price } } }');
    expect(errorAt(market.body.errors, ['asset', 'market'])?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(t.sandbox.count('coingecko')).toBe(3);

    // Still open well inside the wait (the test's own seconds included); half-open after it: of five
    // concurrent queries needing five different calls, one probe passes.
    clock.advance(HALF_OPEN_MS - 10_000);
    expect((await breakerOf('coingecko')).breaker).toBe('OPEN');
    clock.advance(10_000);
    expect((await breakerOf('coingecko')).breaker).toBe('HALF_OPEN');
    const probes = await Promise.all(['EUR', 'GBP', 'JPY', 'AUD', 'CAD'].map((c) => priceError(c)));
    expect(probes.every((e) => e?.extensions?.code === 'UPSTREAM_UNAVAILABLE')).toBe(true);
    expect(t.sandbox.count('coingecko')).toBe(4);
    expect((await breakerOf('coingecko')).breaker).toBe('OPEN');

    // The provider recovers; the next probe succeeds and closes the circuit.
    t.sandbox.faults.clear();
    clock.advance(HALF_OPEN_MS);
    const recovered = await t.query<PriceData>(PRICE('CAD'));
    expect(recovered.body.errors).toBeUndefined();
    expect(recovered.body.data!.asset!.price!.value).toBeGreaterThan(0);
    expect(t.sandbox.count('coingecko')).toBe(5);
    expect(await breakerOf('coingecko')).toMatchObject({ breaker: 'CLOSED', healthy: true });
    const flowing = await t.query<PriceData>(PRICE('EUR'));
    expect(flowing.body.errors).toBeUndefined();
    expect(t.sandbox.count('coingecko')).toBe(6);
  });
});

describe('stale on error', () => {
  const clock = shiftedClock();
  let t: TestGateway;
  beforeAll(async () => {
    t = await startCoinGeckoGateway(
      {
        MARKETGRAPH_TTL_PRICE_MS: '200',
        MARKETGRAPH_TTL_MARKET_MS: '200',
        MARKETGRAPH_CACHE_STALE_MS: '600000',
        MARKETGRAPH_UPSTREAM_DEADLINE_MS: '2000',
        // Each failing round costs several failures; keep the breaker out of this test.
        MARKETGRAPH_BREAKER_THRESHOLD: '1000',
      },
      clock.now,
    );
  });
  afterAll(async () => {
    await t.close();
  });

  it.each([{ kind: 'down' as const }, { kind: 'server-error' as const, status: 503 }])(
    'serves the cached price and market with stale: true and their true asOf when CoinGecko fails ($kind)',
    async (fault) => {
      const query = '{ asset(id: "ethereum") { price { value asOf stale } market { price asOf stale } } }';
      type Data = {
        asset: {
          price: { value: number; asOf: string; stale: boolean } | null;
          market: { price: number; asOf: string; stale: boolean } | null;
        };
      };
      const fresh = await t.query<Data>(query);
      expect(fresh.body.errors).toBeUndefined();
      const before = fresh.body.data!.asset;
      expect(before.price!.stale).toBe(false);
      expect(before.market!.stale).toBe(false);

      clock.advance(450); // past 2 × TTL on the gateway's clock: a refetch is needed before anything is served
      t.sandbox.faults.set('coingecko', '*', fault);
      try {
        const res = await t.query<Data>(query);
        expect(res.body.errors).toBeUndefined();
        const after = res.body.data!.asset;
        expect(after.price).toEqual({ value: before.price!.value, asOf: before.price!.asOf, stale: true });
        expect(after.market).toEqual({ price: before.market!.price, asOf: before.market!.asOf, stale: true });
        // The refetch was really attempted, and failed.
        const sources = await t.query<{ sources: Array<{ name: string; lastError: string | null }> }>(
          '{ sources { name lastError } }',
        );
        const coingecko = sources.body.data!.sources.find((s) => s.name === 'coingecko')!;
        expect(coingecko.lastError).toMatch(fault.kind === 'down' ? /network error/ : /HTTP 503/);
      } finally {
        t.sandbox.faults.clear();
      }
    },
  );
});

describe('malformed bodies and dropped connections', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startCoinGeckoGateway();
    await t.query('{ asset(id: "ethereum") { id } }');
  });
  afterAll(async () => {
    await t.close();
  });
  afterEach(() => {
    t.sandbox.faults.clear();
    t.sandbox.resetCounts();
  });

  it('answers malformed JSON with UPSTREAM_BAD_RESPONSE, without retrying', async () => {
    t.sandbox.faults.set('coingecko', 'simple/price', { kind: 'malformed-json' });
    const error = errorAt((await t.query(PRICE('EUR'))).body.errors, ['asset', 'price']);
    expect(error?.extensions).toMatchObject({ code: 'UPSTREAM_BAD_RESPONSE', provider: 'coingecko' });
    expect(error?.message).toMatch(/malformed JSON/);
    expect(t.sandbox.count('coingecko', 'simple/price')).toBe(1);
  });

  it('retries a single connection reset and returns the value', async () => {
    t.sandbox.faults.set('coingecko', 'simple/price', { kind: 'reset', times: 1 });
    const res = await t.query<PriceData>(PRICE('GBP'));
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.asset!.price!.value).toBeGreaterThan(0);
    expect(t.sandbox.requests('coingecko').map((r) => r.status)).toEqual([0, 200]);
  });

  it('reports UPSTREAM_UNAVAILABLE when every attempt is reset (1 + 2 retries)', async () => {
    t.sandbox.faults.set('coingecko', 'simple/price', { kind: 'reset' });
    const error = errorAt((await t.query(PRICE('JPY'))).body.errors, ['asset', 'price']);
    expect(error?.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', provider: 'coingecko' });
    expect(t.sandbox.count('coingecko', 'simple/price')).toBe(3);
  });
});

describe('what errors never carry', () => {
  const SECRET = 'do-not-leak-3f9c1e7a';
  let t: TestGateway;
  let wrongKey: TestGateway;
  beforeAll(async () => {
    // No retries and no breaker, so every fault kind really reaches every provider.
    t = await startTestGateway({
      env: {
        MARKETGRAPH_UPSTREAM_DEADLINE_MS: '1000',
        MARKETGRAPH_UPSTREAM_RETRIES: '0',
        MARKETGRAPH_BREAKER_THRESHOLD: '1000',
      },
    });
    await t.query('{ asset(id: "ethereum") { id } }');
    wrongKey = await startTestGateway({
      env: { MARKETGRAPH_ETHERSCAN_KEY: SECRET },
      sandboxInstance: t.sandbox,
    });
  });
  afterAll(async () => {
    await wrongKey.close();
    await t.close();
  });

  it('has no key, no URL carrying a key and no stack trace in any error, whatever the fault', async () => {
    const texts: string[] = [];
    const errors: GqlError[] = [];
    const run = async (gateway: TestGateway, query: string) => {
      const res = await gateway.query(query);
      texts.push(JSON.stringify(res.body));
      errors.push(...(res.body.errors ?? []));
    };
    const kinds = [
      { kind: 'server-error', status: 500 },
      { kind: 'html', status: 502 },
      { kind: 'malformed-json' },
      { kind: 'reset' },
      { kind: 'hang' },
      // Last: a Retry-After holds every later call to the provider.
      { kind: 'rate-limit', retryAfter: 30 },
    ] as const;
    const providers: UpstreamName[] = ['etherscan', 'coincap', 'tokenmetrics', 'coingecko', 'mempool'];
    for (const [i, fault] of kinds.entries()) {
      for (const provider of providers) t.sandbox.faults.set(provider, '*', { ...fault });
      // A different currency each round, so nothing is answered from the cache.
      const currency = ['EUR', 'GBP', 'JPY', 'AUD', 'CAD', 'CHF'][i];
      await run(
        t,
        `{
          onChainMetrics(chain: "ethereum") { kind value }
          btc: onChainMetrics(chain: "bitcoin", kinds: [FEE_FASTEST]) { value }
          asset(id: "ethereum") { price(currency: ${currency}) { value } market(currency: ${currency}) { price } }
        }`,
      );
      t.sandbox.faults.clear();
    }
    // A key the provider rejects: Etherscan answers with an error envelope naming the problem.
    await run(wrongKey, '{ onChainMetrics(chain: "ethereum", kinds: [GAS_PROPOSE]) { value } }');

    expect(errors.some((e) => e.extensions?.provider === 'etherscan')).toBe(true);
    expect(errors.some((e) => e.extensions?.provider === 'coingecko')).toBe(true);
    expect(errors.length).toBeGreaterThanOrEqual(kinds.length * 3);
    const all = texts.join('\n');
    for (const key of [...Object.values(SANDBOX_KEYS), SECRET]) expect(all).not.toContain(key);
    for (const needle of ['apikey=', 'api_key=', 'at /', '.ts:', 'http://', 'https://', 'stack']) {
      expect(all).not.toContain(needle);
    }
    for (const error of errors) expect(error.extensions?.code).toMatch(/^[A-Z_]+$/);
  });
});
