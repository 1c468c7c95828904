import { afterEach, describe, expect, it } from 'vitest';
import { createCache } from '../../src/cache.js';
import { loadConfig } from '../../src/config.js';
import { UpstreamError } from '../../src/errors.js';
import type { AssetInfo } from '../../src/market/model.js';
import { createAssetRegistry } from '../../src/market/registry.js';
import type { Sources } from '../../src/sources/index.js';
import { manualClock, settle } from '../helpers/manual-clock.js';

// The asset registry (src/registry.ts) over fake catalogues that count their calls, on the cache's
// injected clock: one catalogue fetch serves every lookup for the metadata TTL, a failed fetch is an
// error (never an empty universe, and not remembered), symbols resolve to the best-ranked asset, and a
// Binance pair belongs to the best-ranked asset of its ticker only.

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
  asset('bitcoin', 'btc'),
  asset('uniswap', 'uni', [{ chain: 'ethereum', address: '0x1F9840A85D5AF5BF1D1762F925BDADDC4201F984' }]),
  asset('unicorn-token', 'uni', [
    { chain: 'ethereum', address: '0x1f9840a85d5af5bf1d1762f925bdaddc4201f984' },
  ]),
  asset('long-tail', 'ltt'),
];
const RANKS: Record<string, number> = { bitcoin: 1, uniswap: 20, 'unicorn-token': 900 };

function fakeSources() {
  const calls = { coinList: 0, topMarkets: 0, exchangeInfo: 0 };
  let failing = false;
  const sources = {
    coingecko: {
      async coinList() {
        calls.coinList += 1;
        if (failing) throw new UpstreamError('UPSTREAM_UNAVAILABLE', 'coingecko', 'coins/list down');
        return CATALOGUE;
      },
      async topMarkets() {
        calls.topMarkets += 1;
        return Object.entries(RANKS).map(([id, rank]) => ({ asset: { ...asset(id, ''), rank } }));
      },
    },
    binance: {
      // The USD-quoted pairs of exchangeInfo (src/sources/binance.ts): BTCEUR is not among them.
      async usdPairs() {
        calls.exchangeInfo += 1;
        return ['BTCUSDT', 'UNIUSDT', 'LTTUSDT'];
      },
    },
  } as unknown as Sources;
  return { sources, calls, fail: (on: boolean) => (failing = on) };
}

function setup() {
  const clock = manualClock();
  const config = loadConfig({ env: {} });
  const cache = createCache({ config, now: clock.now });
  opened.push(cache);
  const fake = fakeSources();
  return { registry: createAssetRegistry({ config, cache, sources: fake.sources }), clock, ...fake };
}

describe('the asset registry', () => {
  it('fetches the catalogues once and serves every lookup from them for the metadata TTL', async () => {
    const { registry, calls, clock } = setup();
    await Promise.all([registry.resolveSymbol('BTC'), registry.binanceSymbol('bitcoin'), registry.list()]);
    clock.advance(TTL - 1);
    expect((await registry.list()).map((a) => a.id)).toEqual(CATALOGUE.map((a) => a.id));
    expect(await registry.contracts('uniswap')).toHaveLength(1);
    expect(calls).toEqual({ coinList: 1, topMarkets: 1, exchangeInfo: 1 });

    // Past the TTL the old catalogue is served while one refresh runs behind it.
    clock.advance(1);
    expect(await registry.binanceSymbol('bitcoin')).toBe('BTCUSDT');
    await settle();
    expect(calls).toEqual({ coinList: 2, topMarkets: 2, exchangeInfo: 2 });
  });

  it('fails a lookup when the catalogue cannot be fetched, and does not remember the failure', async () => {
    const { registry, calls, fail } = setup();
    fail(true);
    await expect(registry.resolveSymbol('btc')).rejects.toThrow('coins/list down');
    await expect(registry.list()).rejects.toThrow('coins/list down');
    expect(calls.coinList).toBe(2);
    fail(false);
    expect(await registry.resolveSymbol('btc')).toEqual({ id: 'bitcoin', alternatives: [] });
    expect(calls.coinList).toBe(3);
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
