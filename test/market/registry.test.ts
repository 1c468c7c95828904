import { afterEach, describe, expect, it } from 'vitest';
import { type Cache, createCache } from '../../src/cache.js';
import { loadConfig } from '../../src/config.js';
import { UpstreamError } from '../../src/errors.js';
import type { AssetInfo } from '../../src/market/model.js';
import { CATALOGUE_RETRY_MS, createAssetRegistry } from '../../src/market/registry.js';
import type { Sources } from '../../src/sources/index.js';
import { type ManualClock, manualClock, settle } from '../helpers/manual-clock.js';

// The asset registry (src/market/registry.ts) over fake catalogues that count their calls, on an
// injected clock shared by the registry and its cache: one fetch of each catalogue serves every lookup
// for the metadata TTL; each catalogue fails on its own, with its own coded error, is retried past a
// short back-off (never an hour later) and is never remembered as empty; a kept copy (the last known
// good one) still resolves known assets when every provider is down, a restart included; symbols
// resolve to the best-ranked asset, and a Binance pair belongs to the best-ranked asset of its ticker.

const TTL = 3_600_000;
const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((thing) => thing.close()));
});

const asset = (id: string, symbol: string, contracts: AssetInfo['contracts'] = []): AssetInfo => ({
  id,
  symbol,
  name: id,
  rank: null,
  logo: null,
  contracts,
});

const CATALOGUE = [
  asset('bitcoin', 'BTC'),
  asset('binancecoin', 'BNB'),
  asset('uniswap', 'UNI', [{ chain: 'ethereum', address: '0x1F9840A85D5AF5BF1D1762F925BDADDC4201F984' }]),
  asset('unicorn-token', 'UNI', [
    { chain: 'ethereum', address: '0x1f9840a85d5af5bf1d1762f925bdaddc4201f984' },
  ]),
  asset('long-tail', 'LTT'),
];
const RANKS: Record<string, number> = { bitcoin: 1, binancecoin: 4, uniswap: 20, 'unicorn-token': 900 };
const COINCAP = [
  { coincapId: 'bitcoin', symbol: 'BTC', name: 'Bitcoin', rank: 1 },
  { coincapId: 'binance-coin', symbol: 'BNB', name: 'BNB', rank: 4 },
  { coincapId: 'uniswap', symbol: 'UNI', name: 'Uniswap', rank: 20 },
];
const TOKENS = [
  { tokenId: 3375, symbol: 'BTC', name: 'bitcoin', contracts: [] },
  { tokenId: 7, symbol: 'UNI', name: 'uniswap', contracts: [] },
];

type Catalogue = 'coinList' | 'topMarkets' | 'exchangeInfo' | 'coincap' | 'tokens';

function fakeSources() {
  const calls: Record<Catalogue, number> = {
    coinList: 0,
    topMarkets: 0,
    exchangeInfo: 0,
    coincap: 0,
    tokens: 0,
  };
  const down = new Set<Catalogue>();
  const provider: Record<Catalogue, 'coingecko' | 'binance' | 'coincap' | 'tokenmetrics'> = {
    coinList: 'coingecko',
    topMarkets: 'coingecko',
    exchangeInfo: 'binance',
    coincap: 'coincap',
    tokens: 'tokenmetrics',
  };
  const answer = <T>(name: Catalogue, value: T) => {
    calls[name] += 1;
    if (down.has(name)) {
      throw new UpstreamError('UPSTREAM_UNAVAILABLE', provider[name], `${provider[name]} ${name}: HTTP 503`, {
        endpoint: name,
      });
    }
    return value;
  };
  const sources = {
    coingecko: {
      coinList: async () => answer('coinList', CATALOGUE),
      topMarkets: async () =>
        answer(
          'topMarkets',
          Object.entries(RANKS).map(([id, rank]) => ({ asset: { ...asset(id, ''), rank } })),
        ),
    },
    // The USD-quoted pairs of exchangeInfo (src/sources/binance.ts): BTCEUR is not among them.
    binance: { usdPairs: async () => answer('exchangeInfo', ['BTCUSDT', 'UNIUSDT', 'LTTUSDT', 'BNBUSDT']) },
    coincap: { catalogue: async () => answer('coincap', COINCAP) },
    tokenmetrics: {
      tokens: async (filter: { symbols: string[] }) =>
        answer(
          'tokens',
          TOKENS.filter((t) => filter.symbols.includes(t.symbol)),
        ),
    },
  } as unknown as Sources;
  return {
    sources,
    calls,
    fail: (...names: Catalogue[]) => {
      for (const name of names) down.add(name);
    },
    recover: () => down.clear(),
  };
}

const config = loadConfig({
  env: { MARKETGRAPH_COINCAP_KEY: 'test', MARKETGRAPH_TOKENMETRICS_KEY: 'test' },
});

function setup(shared?: { clock: ManualClock; cache: Cache }) {
  const clock = shared?.clock ?? manualClock();
  const cache = shared?.cache ?? createCache({ config, now: clock.now });
  if (!shared) opened.push(cache);
  const fake = fakeSources();
  const registry = createAssetRegistry({ config, cache, sources: fake.sources, now: clock.now });
  return { registry, clock, cache, ...fake };
}

const codeOf = (error: unknown) => {
  const e = error as UpstreamError;
  return { code: e.code, provider: e.provider, endpoint: e.details.endpoint };
};

describe('the asset registry', () => {
  it('fetches each catalogue once and serves every lookup from them for the metadata TTL', async () => {
    const { registry, calls, clock } = setup();
    await Promise.all([registry.resolveSymbol('BTC'), registry.binanceSymbol('bitcoin'), registry.list()]);
    clock.advance(TTL - 1);
    expect((await registry.list()).map((a) => a.id)).toEqual(CATALOGUE.map((a) => a.id));
    expect(await registry.contracts('uniswap')).toHaveLength(1);
    expect(await registry.coincapId('binancecoin')).toBe('binance-coin');
    expect(calls).toMatchObject({ coinList: 1, topMarkets: 1, exchangeInfo: 1, coincap: 1 });

    // Past the TTL the old catalogues are served while one refresh of each runs behind them.
    clock.advance(1);
    expect(await registry.binanceSymbol('bitcoin')).toBe('BTCUSDT');
    await settle();
    expect(await registry.coincapId('bitcoin')).toBe('bitcoin');
    await settle();
    expect(calls).toMatchObject({ coinList: 2, topMarkets: 2, exchangeInfo: 2, coincap: 2 });
  });

  it('resolves a shared symbol or contract to the best-ranked asset and names the others', async () => {
    const { registry } = setup();
    expect(await registry.resolveSymbol('UNI')).toEqual({ id: 'uniswap', alternatives: ['unicorn-token'] });
    expect(await registry.sameSymbol('unicorn-token')).toEqual(['uniswap']);
    expect(await registry.resolveSymbol('nope')).toBeUndefined();
    // EVM addresses match whatever their case.
    expect(await registry.byContract('Ethereum', '0x1f9840a85d5af5bf1d1762f925bdaddc4201f984')).toBe(
      'uniswap',
    );
  });

  it('gives a USDT pair to the best-ranked asset of its ticker, and none to an unranked one', async () => {
    const { registry } = setup();
    expect(await registry.binanceSymbol('uniswap')).toBe('UNIUSDT');
    expect(await registry.binanceSymbol('unicorn-token')).toBeUndefined();
    expect(await registry.binanceSymbol('long-tail')).toBeUndefined();
  });
});

describe('each catalogue on its own', () => {
  it('with CoinGecko down from the start, resolves known assets from CoinCap and Binance', async () => {
    // CoinGecko's catalogue and its ranking both fail.
    const { registry: r, calls, fail } = setup();
    fail('coinList', 'topMarkets');
    const found = await r.lookup(['bitcoin', 'no-such-coin']);
    expect(found.get('bitcoin')).toMatchObject({ id: 'bitcoin', symbol: 'BTC', rank: 1 });
    // Without CoinGecko's list nobody can say an id does not exist: a coded error, not "not listed".
    expect(codeOf(found.get('no-such-coin'))).toEqual({
      code: 'UPSTREAM_UNAVAILABLE',
      provider: 'coingecko',
      endpoint: 'coinList',
    });
    // Ranked by CoinCap meanwhile, so the pair goes to the right asset.
    expect(await r.binanceSymbol('bitcoin')).toBe('BTCUSDT');
    expect(await r.coincapId('bitcoin')).toBe('bitcoin');
    expect(await r.resolveSymbol('btc')).toEqual({ id: 'bitcoin', alternatives: [] });
    // A search over a partial universe would look complete: it fails, coded.
    await expect(r.list()).rejects.toMatchObject({ provider: 'coingecko', code: 'UPSTREAM_UNAVAILABLE' });
    await expect(
      r.byContract('ethereum', '0x1f9840a85d5af5bf1d1762f925bdaddc4201f984'),
    ).rejects.toMatchObject({
      provider: 'coingecko',
    });
    // One call each, however many lookups: the failures are held for the back-off.
    expect(calls).toMatchObject({ coinList: 1, topMarkets: 1, exchangeInfo: 1, coincap: 1 });
  });

  it('fails only the lookups a failed catalogue serves, and retries it past the back-off, not the TTL', async () => {
    const { registry, calls, clock, fail, recover } = setup();
    fail('exchangeInfo');
    await expect(registry.binanceSymbol('bitcoin')).rejects.toSatisfy(
      (e) =>
        JSON.stringify(codeOf(e)) ===
        JSON.stringify({ code: 'UPSTREAM_UNAVAILABLE', provider: 'binance', endpoint: 'exchangeInfo' }),
    );
    // CoinCap's mapping and the universe do not depend on Binance.
    expect(await registry.coincapId('bitcoin')).toBe('bitcoin');
    expect((await registry.list()).length).toBe(CATALOGUE.length);
    clock.advance(CATALOGUE_RETRY_MS - 1);
    await expect(registry.binanceSymbol('bitcoin')).rejects.toBeInstanceOf(UpstreamError);
    expect(calls.exchangeInfo).toBe(1);

    recover();
    clock.advance(1);
    expect(await registry.binanceSymbol('bitcoin')).toBe('BTCUSDT');
    expect(calls.exchangeInfo).toBe(2);
    // The recovered catalogue is kept for the TTL like any other.
    clock.advance(TTL - 1);
    expect(await registry.binanceSymbol('uniswap')).toBe('UNIUSDT');
    expect(calls.exchangeInfo).toBe(2);
  });

  it('without any ranking, gives a pair only to a ticker no other asset carries; the rest wait for the ranking', async () => {
    const { registry, clock, fail, recover } = setup();
    // Ranks come from CoinGecko's markets page, else CoinCap's list: both out.
    fail('topMarkets', 'coincap');
    expect(await registry.binanceSymbol('bitcoin')).toBe('BTCUSDT');
    // UNI is carried by two assets: which one Binance quotes is the ranking's to say, and its outage
    // is the answer, never "no pair" (which a quote loader would remember as an absence).
    await expect(registry.binanceSymbol('uniswap')).rejects.toSatisfy(
      (e) =>
        JSON.stringify(codeOf(e)) ===
        JSON.stringify({ code: 'UPSTREAM_UNAVAILABLE', provider: 'coingecko', endpoint: 'topMarkets' }),
    );
    await expect(registry.binanceSymbol('unicorn-token')).rejects.toBeInstanceOf(UpstreamError);
    recover();
    clock.advance(CATALOGUE_RETRY_MS);
    await registry.binanceSymbol('uniswap');
    await settle();
    expect(await registry.binanceSymbol('uniswap')).toBe('UNIUSDT');
    expect(await registry.binanceSymbol('unicorn-token')).toBeUndefined();
  });

  it('fails a lookup when no catalogue can answer it, and does not remember the failure', async () => {
    const { registry, calls, fail, recover, clock } = setup();
    fail('coinList', 'coincap');
    await expect(registry.resolveSymbol('btc')).rejects.toThrow('coingecko coinList: HTTP 503');
    await expect(registry.list()).rejects.toThrow('coingecko coinList: HTTP 503');
    expect(calls.coinList).toBe(1);
    recover();
    clock.advance(CATALOGUE_RETRY_MS);
    expect(await registry.resolveSymbol('btc')).toEqual({ id: 'bitcoin', alternatives: [] });
    expect(calls.coinList).toBe(2);
  });
});

describe('the last known good identity', () => {
  it('serves kept catalogues, of any age up to their lifetime, while every provider is down', async () => {
    const { registry, calls, clock, fail } = setup();
    expect(await registry.binanceSymbol('bitcoin')).toBe('BTCUSDT');
    fail('coinList', 'topMarkets', 'exchangeInfo', 'coincap');
    clock.advance(3 * TTL);
    expect(await registry.binanceSymbol('bitcoin')).toBe('BTCUSDT');
    expect(await registry.coincapId('binancecoin')).toBe('binance-coin');
    expect((await registry.lookup(['binancecoin'])).get('binancecoin')).toMatchObject({ rank: 4 });
    await settle();
    // Each stale catalogue was asked again once, behind the kept copy.
    expect(calls).toMatchObject({ coinList: 2, exchangeInfo: 2, coincap: 2 });
  });

  it('resolves known assets after a restart over the same cache store, with every provider down', async () => {
    const first = setup();
    expect(await first.registry.coincapId('binancecoin')).toBe('binance-coin');
    expect(await first.registry.binanceSymbol('bitcoin')).toBe('BTCUSDT');
    first.clock.advance(2 * TTL);

    // A new registry (a new process) over the cache store the first one wrote to.
    const restarted = setup({ clock: first.clock, cache: first.cache });
    restarted.fail('coinList', 'topMarkets', 'exchangeInfo', 'coincap');
    expect(await restarted.registry.binanceSymbol('bitcoin')).toBe('BTCUSDT');
    expect(await restarted.registry.coincapId('binancecoin')).toBe('binance-coin');
    expect(await restarted.registry.resolveSymbol('uni')).toEqual({
      id: 'uniswap',
      alternatives: ['unicorn-token'],
    });
    expect((await restarted.registry.lookup(['no-such-coin'])).get('no-such-coin')).toBeUndefined();
  });
});

describe('Token Metrics ids', () => {
  it('asks once per TTL for an asset Token Metrics does not cover, and never remembers a failure', async () => {
    const { registry, calls, clock, fail, recover } = setup();
    expect([...(await registry.tokenMetricsIds(['bitcoin', 'long-tail']))]).toEqual([[3375, 'bitcoin']]);
    expect(calls.tokens).toBe(1);
    // "Not covered" is remembered: no call for either asset within the TTL.
    expect((await registry.tokenMetricsIds(['long-tail'])).size).toBe(0);
    expect(calls.tokens).toBe(1);

    fail('tokens');
    await expect(registry.tokenMetricsIds(['uniswap'])).rejects.toMatchObject({
      provider: 'tokenmetrics',
      code: 'UPSTREAM_UNAVAILABLE',
    });
    expect(calls.tokens).toBe(2);
    recover();
    expect([...(await registry.tokenMetricsIds(['uniswap']))]).toEqual([[7, 'uniswap']]);
    expect(calls.tokens).toBe(3);

    clock.advance(TTL);
    await registry.tokenMetricsIds(['long-tail']);
    await settle();
    expect(calls.tokens).toBe(4);
  });
});
