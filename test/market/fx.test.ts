import { afterEach, describe, expect, it } from 'vitest';
import { createCache } from '../../src/cache.js';
import { loadConfig } from '../../src/config.js';
import { UpstreamError } from '../../src/errors.js';
import { createFx } from '../../src/market/fx.js';
import type { Price } from '../../src/market/model.js';
import type { Sources } from '../../src/sources/index.js';
import { manualClock } from '../helpers/manual-clock.js';

// Exchange rates (src/fx.ts) over fake sources that record their calls, on the cache's injected
// clock: a fiat rate is the ratio of Bitcoin's price in two currencies, BTC and ETH are the inverse of
// their USD price, the fallbacks answer when CoinGecko fails, and a failure is thrown, never cached.

const TTL = 15_000;
const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((thing) => thing.close()));
});

const price = (assetId: string, currency: string, value: number): Price => ({
  assetId,
  currency,
  value,
  change24h: null,
  asOf: new Date(0),
  source: 'coingecko',
  stale: false,
});

/** Bitcoin at 50 000 USD / 45 000 EUR, Ether at 2 500 USD; `down` makes a source reject. */
function fakeSources(down: { coingecko?: boolean; binance?: boolean; mempool?: boolean } = {}) {
  const calls: string[] = [];
  const usd: Record<string, number> = { bitcoin: 50_000, ethereum: 2_500 };
  const sources = {
    coingecko: {
      async simplePrices(ids: readonly string[], currencies: readonly string[]) {
        calls.push(`coingecko ${ids.join(',')} in ${currencies.join(',')}`);
        if (down.coingecko) throw new UpstreamError('UPSTREAM_UNAVAILABLE', 'coingecko', 'coingecko down');
        // Like CoinGecko, an unknown currency is left out of the answer.
        const known = currencies.filter((c) => c === 'usd' || c === 'eur');
        return ids.flatMap((id) => known.map((c) => price(id, c, c === 'usd' ? usd[id]! : usd[id]! * 0.9)));
      },
    },
    binance: {
      async tickerPrices(symbols: string[]) {
        calls.push(`binance ${symbols.join(',')}`);
        if (down.binance) throw new UpstreamError('UPSTREAM_UNAVAILABLE', 'binance', 'binance down');
        const bySymbol: Record<string, number> = { BTCUSDT: 40_000, ETHUSDT: 2_000 };
        return new Map(symbols.map((s) => [s, { price: bySymbol[s]!, asOf: new Date(0) }]));
      },
    },
    mempool: {
      async btcPrices() {
        calls.push('mempool prices');
        if (down.mempool) throw new UpstreamError('UPSTREAM_UNAVAILABLE', 'mempool', 'mempool down');
        return [price('bitcoin', 'usd', 60_000), price('bitcoin', 'gbp', 48_000)];
      },
    },
  } as unknown as Sources;
  return { sources, calls };
}

function setup(down?: Parameters<typeof fakeSources>[0]) {
  const clock = manualClock();
  const config = loadConfig({ env: { MARKETGRAPH_TTL_PRICE_MS: String(TTL) } });
  const cache = createCache({ config, now: clock.now });
  opened.push(cache);
  const fake = fakeSources(down);
  return { fx: createFx({ config, cache, sources: fake.sources }), clock, ...fake };
}

describe('fx rates', () => {
  it('is 1 for USD, without a call', async () => {
    const { fx, calls } = setup();
    expect(await fx.perUsd('USD')).toBe(1);
    expect(calls).toEqual([]);
  });

  it("takes a fiat rate from the ratio of Bitcoin's price in that currency and in USD", async () => {
    const { fx, calls } = setup();
    expect(await fx.perUsd('EUR')).toBeCloseTo(0.9, 12);
    expect(calls).toEqual(['coingecko bitcoin in usd,eur']);
  });

  it('takes BTC and ETH as the inverse of their USD price', async () => {
    const { fx, calls } = setup();
    expect(await fx.perUsd('btc')).toBeCloseTo(1 / 50_000, 15);
    expect(await fx.perUsd('ETH')).toBeCloseTo(1 / 2_500, 15);
    expect(calls).toEqual(['coingecko bitcoin in usd', 'coingecko ethereum in usd']);
  });

  it('caches a rate for the price TTL, case-insensitively', async () => {
    const { fx, calls, clock } = setup();
    await fx.perUsd('eur');
    clock.advance(TTL - 1);
    expect(await fx.perUsd('EUR')).toBeCloseTo(0.9, 12);
    expect(calls).toHaveLength(1);
    clock.advance(2 * TTL);
    await fx.perUsd('eur');
    expect(calls).toHaveLength(2);
  });

  it("falls back to Binance's USDT pair for BTC and to mempool.space's table for fiat", async () => {
    const { fx, calls } = setup({ coingecko: true });
    expect(await fx.perUsd('btc')).toBeCloseTo(1 / 40_000, 15);
    expect(await fx.perUsd('gbp')).toBeCloseTo(0.8, 12);
    expect(calls).toEqual([
      'coingecko bitcoin in usd',
      'binance BTCUSDT',
      'coingecko bitcoin in usd,gbp',
      'mempool prices',
    ]);
  });

  it("throws CoinGecko's error when no source has the rate, and asks again next time", async () => {
    const { fx, calls } = setup({ coingecko: true });
    // mempool.space has no CHF row in this table, so nothing can answer.
    await expect(fx.perUsd('chf')).rejects.toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      message: 'coingecko down',
    });
    await expect(fx.perUsd('chf')).rejects.toThrow('coingecko down');
    expect(calls.filter((c) => c.startsWith('coingecko'))).toHaveLength(2);
  });

  it('answers UPSTREAM_UNAVAILABLE for a currency no provider prices', async () => {
    const { fx } = setup();
    // CoinGecko answers without the currency, and no fallback lists it.
    await expect(fx.perUsd('xyz')).rejects.toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      message: 'no exchange rate for XYZ',
    });
  });
});
