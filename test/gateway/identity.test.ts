import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CATALOGUE_RETRY_MS } from '../../src/market/registry.js';
import { startSandbox } from '../../src/sandbox/server.js';
import { type Received, subscribeSse, waitFor } from '../helpers/clients.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { shiftedClock } from '../helpers/manual-clock.js';
import { type PrivateRedis, startPrivateRedis } from '../helpers/redis-server.js';

// Issue #11, items 1-3, end to end through the sandbox: identity survives CoinGecko (every catalogue
// is fetched, kept and failing on its own, and the kept copies outlive a restart), an upstream failure
// is never NOT_FOUND nor silence nor cached as empty, a failed catalogue is asked again past a short
// back-off (not an hour later), and an asset a provider does not list is asked about once per TTL.
// Each test asserts what the client saw and what reached the providers (the sandbox's request log).

type GqlError = { message: string; path?: unknown[]; extensions?: Record<string, unknown> };
type Quote = { source: string; value: number } | null;

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const thing of opened.splice(0).reverse()) await thing.close();
});

async function start(options: Parameters<typeof startTestGateway>[0] = {}): Promise<TestGateway> {
  const t = await startTestGateway(options);
  opened.push(t);
  return t;
}

const BITCOIN = `{ asset(id: "bitcoin") {
  id symbol
  binance: price(source: BINANCE) { value source }
  coincap: price(source: COINCAP) { value source }
  auto: price { value source }
  quotes { value source }
} }`;

interface BitcoinData {
  asset: {
    id: string;
    symbol: string;
    binance: Quote;
    coincap: Quote;
    auto: Quote;
    quotes: Quote[];
  } | null;
}

const codes = (errors: GqlError[] | undefined) => (errors ?? []).map((e) => e.extensions?.code);
const at = (errors: GqlError[] | undefined, path: unknown[]) =>
  errors?.find((e) => JSON.stringify(e.path) === JSON.stringify(path));

describe('CoinGecko down from the first second', () => {
  it('still answers asset, price per source, AUTO and quotes for known assets, with coded errors naming CoinGecko', async () => {
    const sandbox = await startSandbox({ quotas: false });
    opened.push(sandbox);
    // Down before the gateway exists: no catalogue was ever fetched from it.
    sandbox.faults.set('coingecko', '*', { kind: 'down' });
    const t = await start({ sandboxInstance: sandbox });

    const res = await t.query<BitcoinData>(BITCOIN);
    const asset = res.body.data!.asset!;
    expect(asset).toMatchObject({ id: 'bitcoin', symbol: 'BTC' });
    expect(asset.binance).toMatchObject({ source: 'BINANCE' });
    expect(asset.binance!.value).toBeGreaterThan(0);
    expect(asset.coincap).toMatchObject({ source: 'COINCAP' });
    expect(asset.auto!.source).not.toBe('COINGECKO');
    expect(asset.auto!.value).toBeGreaterThan(0);
    // Every other provider's quote, and CoinGecko's place a null entry with its coded error.
    expect(asset.quotes.map((q) => q?.source ?? null).sort()).toEqual(
      ['BINANCE', 'COINCAP', 'DEFILLAMA', null].sort(),
    );
    const nullAt = asset.quotes.indexOf(null);
    expect(at(res.body.errors, ['asset', 'quotes', nullAt])?.extensions).toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      provider: 'coingecko',
    });
    // Nothing NOT_FOUND; every error is an upstream code naming CoinGecko.
    for (const error of res.body.errors ?? []) {
      expect(error.extensions).toMatchObject({ provider: 'coingecko' });
      expect(String(error.extensions?.code)).toMatch(/^UPSTREAM_/);
    }

    // Each healthy catalogue was read once, and is not read again by the next query.
    const counts = sandbox.counts();
    expect(counts.binance?.exchangeInfo).toBe(1);
    const coincapAssets = counts.coincap?.assets ?? 0;
    expect(coincapAssets).toBe(2); // the catalogue, then the quote
    const again = await t.query<BitcoinData>(BITCOIN);
    expect(again.body.data!.asset!.binance!.source).toBe('BINANCE');
    expect(sandbox.counts().binance?.exchangeInfo).toBe(1);

    // An id nobody can vouch for while CoinGecko's list is out: CoinGecko's error, not NOT_FOUND.
    const unknown = await t.query('{ asset(id: "no-such-coin") { id } }');
    expect(codes(unknown.body.errors)).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(unknown.body.errors![0]!.extensions).toMatchObject({ provider: 'coingecko' });
  });

  it('delivers priceUpdated for a known asset from Binance, with no error', async () => {
    const sandbox = await startSandbox({ quotas: false, tickMs: 100 });
    opened.push(sandbox);
    sandbox.faults.set('coingecko', '*', { kind: 'down' });
    const t = await start({ sandboxInstance: sandbox });
    const { url } = await t.gateway.start();
    const sse = subscribeSse(
      url,
      'subscription ($ids: [ID!]!) { priceUpdated(assetIds: $ids) { assetId value source } }',
      { ids: ['bitcoin'] },
    );
    const priced = (e: Received) => (e.data?.priceUpdated as { source: string } | undefined)?.source;
    try {
      await waitFor(
        () =>
          sse.events.filter((e) => priced(e) === 'BINANCE').length >= 2 || sse.events.some((e) => e.errors),
        8_000,
        'Binance ticks',
      );
      expect(sse.events.filter((e) => e.errors)).toEqual([]);
      expect(
        sse.events.every(
          (e) => (e.data?.priceUpdated as { assetId?: string } | undefined)?.assetId === 'bitcoin',
        ),
      ).toBe(true);
    } finally {
      sse.stop();
    }
  }, 15_000);
});

describe('a restart during the outage', () => {
  let redis: PrivateRedis | undefined;
  afterEach(async () => {
    await redis?.close();
    redis = undefined;
  });

  it('resolves known assets from the last known good catalogues the first process kept in Redis', async () => {
    redis = await startPrivateRedis();
    const sandbox = await startSandbox({ quotas: false });
    opened.push(sandbox);
    const env = { REDIS_URL: redis.url };
    const first = await startTestGateway({ sandboxInstance: sandbox, env });
    const healthy = await first.query<BitcoinData>(BITCOIN);
    expect(healthy.body.errors).toBeUndefined();
    await first.close();

    // CoinGecko goes down and CoinCap's and Binance's catalogues fail too; a new process starts two
    // hours later, past the metadata TTL, so every kept copy is stale and asked for again.
    sandbox.faults.set('coingecko', '*', { kind: 'down' });
    sandbox.faults.set('coincap', 'assets', { kind: 'server-error', status: 500, times: 4 });
    sandbox.faults.set('binance', 'exchangeInfo', { kind: 'server-error', status: 451 });
    sandbox.resetCounts();
    const clock = shiftedClock();
    clock.advance(2 * 3_600_000);
    const restarted = await start({ sandboxInstance: sandbox, env, now: clock.now });
    const res = await restarted.query<BitcoinData>(BITCOIN);
    const asset = res.body.data!.asset!;
    expect(asset).toMatchObject({ id: 'bitcoin', symbol: 'BTC' });
    expect(asset.binance).toMatchObject({ source: 'BINANCE' });
    expect(asset.auto!.source).not.toBe('COINGECKO');
    expect(codes(res.body.errors)).not.toContain('NOT_FOUND');
    // The stale catalogue was asked for again (and failed): the kept copy answered meanwhile.
    expect(sandbox.count('binance', 'exchangeInfo')).toBe(1);
    expect(sandbox.count('binance', 'ticker/price')).toBeGreaterThanOrEqual(1);
  }, 30_000);
});

describe('a failed catalogue', () => {
  it('CoinCap assets 500: COINCAP prices carry its coded error, and it is asked again past the back-off', async () => {
    const clock = shiftedClock();
    const t = await start({ now: clock.now });
    t.sandbox.faults.set('coincap', 'assets', { kind: 'server-error', status: 500 });
    const query = '{ asset(id: "bitcoin") { price(source: COINCAP) { value } quotes { source } } }';
    const failed = await t.query<{ asset: { price: Quote; quotes: Quote[] } }>(query);
    expect(failed.body.data!.asset.price).toBeNull();
    expect(at(failed.body.errors, ['asset', 'price'])?.extensions).toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      provider: 'coincap',
      endpoint: 'assets',
    });
    // In quotes, CoinCap is a null entry with the same error, not left out.
    const quotes = failed.body.data!.asset.quotes;
    expect(quotes.filter((q) => q === null)).toHaveLength(1);
    expect(at(failed.body.errors, ['asset', 'quotes', quotes.indexOf(null)])?.extensions).toMatchObject({
      provider: 'coincap',
    });
    const calls = t.sandbox.count('coincap', 'assets');
    expect(calls).toBeGreaterThanOrEqual(1);

    // Within the back-off the failure is answered without a call, even once CoinCap is back.
    t.sandbox.faults.clear('coincap');
    const held = await t.query(query);
    expect(at(held.body.errors, ['asset', 'price'])?.extensions).toMatchObject({ provider: 'coincap' });
    expect(t.sandbox.count('coincap', 'assets')).toBe(calls);

    // Past the back-off (and the breaker's half-open wait), far short of the metadata TTL: asked again.
    clock.advance(Math.max(CATALOGUE_RETRY_MS, t.config.http.breakerHalfOpenAfterMs) + 1);
    const recovered = await t.query<{ asset: { price: Quote; quotes: Quote[] } }>(query);
    expect(recovered.body.errors).toBeUndefined();
    expect(recovered.body.data!.asset.price!.value).toBeGreaterThan(0);
    expect(recovered.body.data!.asset.quotes.map((q) => q!.source)).toContain('COINCAP');
    // One catalogue call and one quote call.
    expect(t.sandbox.count('coincap', 'assets')).toBe(calls + 2);
  });

  it("CoinGecko's ranking out and no CoinCap: Binance prices are never NOT_FOUND, nor remembered as absent", async () => {
    const clock = shiftedClock();
    const t = await start({ now: clock.now, env: { MARKETGRAPH_COINCAP_ENABLED: 'false' } });
    t.sandbox.faults.set('coingecko', 'coins/markets', { kind: 'server-error', status: 503 });
    const query = '{ asset(id: "bitcoin") { id } eth: asset(id: "ethereum") { id } }';
    const prices = `{
      btc: asset(by: { id: "bitcoin" }) { price(source: BINANCE) { value } }
      eth: asset(by: { id: "ethereum" }) { price(source: BINANCE) { value } }
    }`;
    await t.query(query);
    const during = await t.query<{ btc: { price: Quote } | null; eth: { price: Quote } | null }>(prices);
    expect(codes(during.body.errors)).not.toContain('NOT_FOUND');
    expect(codes(during.body.errors).every((c) => String(c).startsWith('UPSTREAM_'))).toBe(true);

    t.sandbox.faults.clear('coingecko');
    clock.advance(Math.max(CATALOGUE_RETRY_MS, t.config.http.breakerHalfOpenAfterMs) + 1);
    await t.query(query);
    const after = await t.query<{ btc: { price: Quote } | null; eth: { price: Quote } | null }>(prices);
    expect(after.body.errors).toBeUndefined();
    expect(after.body.data!.btc!.price!.value).toBeGreaterThan(0);
    expect(after.body.data!.eth!.price!.value).toBeGreaterThan(0);
  });

  it('Binance exchangeInfo 451: BINANCE prices carry its coded error (not NOT_FOUND), AUTO still answers', async () => {
    const clock = shiftedClock();
    const t = await start({ now: clock.now });
    t.sandbox.faults.set('binance', 'exchangeInfo', { kind: 'server-error', status: 451 });
    const query =
      '{ asset(id: "bitcoin") { binance: price(source: BINANCE) { value } auto: price { value } } }';
    const failed = await t.query<{ asset: { binance: Quote; auto: Quote } }>(query);
    expect(failed.body.data!.asset.binance).toBeNull();
    expect(failed.body.data!.asset.auto!.value).toBeGreaterThan(0);
    expect(failed.body.errors).toHaveLength(1);
    expect(failed.body.errors![0]!.extensions).toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      provider: 'binance',
      endpoint: 'exchangeInfo',
    });
    // 451 is not retried, and the failure is held for the back-off.
    await t.query(query);
    expect(t.sandbox.count('binance', 'exchangeInfo')).toBe(1);

    t.sandbox.faults.clear('binance');
    clock.advance(CATALOGUE_RETRY_MS + 1);
    const recovered = await t.query<{ asset: { binance: Quote } }>(query);
    expect(recovered.body.errors).toBeUndefined();
    expect(recovered.body.data!.asset.binance!.value).toBeGreaterThan(0);
    expect(t.sandbox.count('binance', 'exchangeInfo')).toBe(2);
  });

  it('Token Metrics error envelope on its token list: its signals are a coded error, and come back after', async () => {
    const clock = shiftedClock();
    const t = await start({ now: clock.now });
    // Token Metrics' own failure body, {"success": false, "message": ...}, with HTTP 200.
    t.sandbox.faults.set('tokenmetrics', 'tokens', { kind: 'server-error', status: 200 });
    const query = '{ asset(id: "bitcoin") { signals(kinds: [TM_TRADING_SIGNAL]) { kind source } } }';
    type Signals = { asset: { signals: Array<{ kind: string; source: string } | null> } };
    const failed = await t.query<Signals>(query);
    expect(failed.body.data!.asset.signals).toEqual([null]);
    expect(failed.body.errors![0]!.extensions).toMatchObject({
      code: 'UPSTREAM_BAD_RESPONSE',
      provider: 'tokenmetrics',
      endpoint: 'tokens',
    });
    const calls = t.sandbox.count('tokenmetrics', 'tokens');
    expect(calls).toBeGreaterThanOrEqual(1);

    t.sandbox.faults.clear('tokenmetrics');
    const recovered = await t.query<Signals>(query);
    expect(recovered.body.errors).toBeUndefined();
    expect(recovered.body.data!.asset.signals).toEqual([
      { kind: 'TM_TRADING_SIGNAL', source: 'TOKENMETRICS' },
    ]);
    // The failure was not remembered as "not covered": the token list was asked again at once.
    expect(t.sandbox.count('tokenmetrics', 'tokens')).toBe(calls + 1);
  });
});

describe('negative answers', () => {
  let llama: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => llama?.close(resolve));
    llama = undefined;
  });

  it('asks a provider about an asset it does not list once per TTL', async () => {
    // A DefiLlama that lists no coin: /prices/current answers {"coins": {}}, as the live API does for
    // coins it does not know (it omits them).
    let asked = 0;
    llama = createServer((req, res) => {
      if (req.url?.startsWith('/prices/current/')) asked += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ coins: {} }));
    });
    await new Promise<void>((resolve) => llama!.listen(0, '127.0.0.1', resolve));
    const { port } = llama.address() as AddressInfo;
    const clock = shiftedClock();
    const t = await start({ now: clock.now, env: { MARKETGRAPH_DEFILLAMA_URL: `http://127.0.0.1:${port}` } });
    const query = '{ asset(id: "bitcoin") { quotes { source } } }';
    for (let i = 0; i < 5; i++) {
      const res = await t.query<{ asset: { quotes: Quote[] } }>(query);
      expect(res.body.errors).toBeUndefined();
      // Left out, as a provider that does not list the asset is.
      expect(res.body.data!.asset.quotes.map((q) => q!.source)).not.toContain('DEFILLAMA');
      // Past twice the quotes' TTL, so every query asks the providers again first.
      clock.advance(t.config.cache.ttl.price * 2 + 1);
    }
    expect(asked).toBe(1);
    // The other providers were asked every time.
    expect(t.sandbox.count('binance', 'ticker/price')).toBe(5);

    clock.advance(t.config.cache.ttl.metadata);
    await t.query(query);
    expect(asked).toBe(2);
  });
});
