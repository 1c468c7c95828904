import { type Cache, getOne } from '../cache.js';
import type { Config } from '../config.js';
import { UpstreamError } from '../errors.js';
import { binanceUsdPair } from '../sources/binance.js';
import type { Sources } from '../sources/index.js';

// Exchange rates for providers that quote only in USD (Binance's USDT pairs, CoinCap, DefiLlama).
// A rate is units of the target currency per 1 USD. Fiat rates come from the ratio of Bitcoin's price
// in that currency and in USD as CoinGecko quotes it, falling back to mempool.space's BTC price table;
// BTC and ETH "rates" are 1 / their USD price. Cached like prices.

export interface Fx {
  perUsd(currency: string): Promise<number>;
}

/** Currencies mempool.space prices Bitcoin in (its /v1/prices table). */
const MEMPOOL_FIAT = new Set(['usd', 'eur', 'gbp', 'cad', 'chf', 'aud', 'jpy']);

export function createFx(deps: { config: Config; cache: Cache; sources: Sources }): Fx {
  const { sources, config } = deps;
  const store = deps.cache.namespace<number>('fx', config.cache.ttl.price);

  async function fetchRate(currency: string): Promise<number> {
    const coin = currency === 'btc' ? 'bitcoin' : currency === 'eth' ? 'ethereum' : undefined;
    const errors: unknown[] = [];
    try {
      if (coin) {
        const [usd] = await sources.coingecko.simplePrices([coin], ['usd']);
        if (usd && usd.value > 0) return 1 / usd.value;
      } else {
        const quotes = await sources.coingecko.simplePrices(['bitcoin'], ['usd', currency]);
        const usd = quotes.find((q) => q.currency === 'usd');
        const other = quotes.find((q) => q.currency === currency);
        if (usd && other && usd.value > 0) return other.value / usd.value;
      }
    } catch (error) {
      errors.push(error);
    }
    if (coin && config.providers.binance.enabled) {
      const symbol = binanceUsdPair(currency);
      const prices = await sources.binance.tickerPrices([symbol]);
      const usd = prices.get(symbol);
      if (usd && usd.price > 0) return 1 / usd.price;
    }
    if (!coin && MEMPOOL_FIAT.has(currency) && config.providers.mempool.enabled) {
      const table = await sources.mempool.btcPrices();
      const usd = table.find((p) => p.currency === 'usd');
      const other = table.find((p) => p.currency === currency);
      if (usd && other && usd.value > 0) return other.value / usd.value;
    }
    if (errors[0]) throw errors[0];
    throw new UpstreamError(
      'UPSTREAM_UNAVAILABLE',
      'coingecko',
      `no exchange rate for ${currency.toUpperCase()}`,
    );
  }

  return {
    async perUsd(currency) {
      const code = currency.toLowerCase();
      if (code === 'usd') return 1;
      const rate = await getOne(
        store,
        code,
        () => fetchRate(code),
        () => new Error(`no exchange rate for ${code}`),
      );
      return rate.value;
    },
  };
}
