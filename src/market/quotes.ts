import type { Config } from '../config.js';
import type { Http } from '../http/client.js';
import type { Sources } from '../sources/index.js';
import type { Fx } from './fx.js';
import type { Price } from './model.js';
import { QUOTE_PROVIDERS, type QuoteProvider } from './providers.js';
import type { AssetRegistry } from './registry.js';

// Spot quotes from every provider that has them, behind one shape. CoinGecko quotes any currency
// itself; Binance (USDT pairs, taken as USD), CoinCap and DefiLlama quote USD and are converted with
// src/market/fx.ts. Each adapter answers one batch with at most one upstream call per chunk of its real
// limit (the source chunks) and leaves out the assets it does not list, so the caller can ask the next
// provider for those (and remember the absence). An asset whose provider id cannot be known (that
// provider's catalogue is out) gets the catalogue's coded error, never an absence.

export { QUOTE_PROVIDERS, type QuoteProvider } from './providers.js';

export interface QuoteAdapter {
  provider: QuoteProvider;
  /** Prices in `currency` for the assets this provider lists (Errors for those it could not map); others are absent. */
  fetch(assetIds: string[], currency: string): Promise<Map<string, Price | Error>>;
}

export function createQuoteAdapters(deps: {
  sources: Sources;
  registry: AssetRegistry;
  fx: Fx;
}): Record<QuoteProvider, QuoteAdapter> {
  const { sources, registry, fx } = deps;

  /** Wraps a USD-only fetch: converts to `currency` with one rate per batch. */
  function inCurrency(fetchUsd: (ids: string[]) => Promise<Map<string, Price | Error>>) {
    return async (ids: string[], currency: string) => {
      const [usd, rate] = await Promise.all([fetchUsd(ids), currency === 'usd' ? 1 : fx.perUsd(currency)]);
      const out = new Map<string, Price | Error>();
      for (const [id, p] of usd)
        out.set(id, p instanceof Error ? p : { ...p, currency, value: p.value * rate });
      return out;
    };
  }

  /** Provider id → asset id for the ids the provider lists, and the ids whose mapping failed. */
  async function mapIds(ids: string[], lookup: (id: string) => Promise<string | undefined>) {
    const mapped = new Map<string, string>();
    const failed = new Map<string, Error>();
    await Promise.all(
      ids.map(async (id) => {
        try {
          const vendorId = await lookup(id);
          if (vendorId !== undefined) mapped.set(vendorId, id);
        } catch (error) {
          failed.set(id, error instanceof Error ? error : new Error(String(error)));
        }
      }),
    );
    return { mapped, failed };
  }

  return {
    coingecko: {
      provider: 'coingecko',
      async fetch(ids, currency) {
        const prices = await sources.coingecko.simplePrices(ids, [currency]);
        return new Map<string, Price | Error>(prices.map((p) => [p.assetId, p]));
      },
    },
    binance: {
      provider: 'binance',
      fetch: inCurrency(async (ids) => {
        const { mapped: bySymbol, failed } = await mapIds(ids, (id) => registry.binanceSymbol(id));
        const out = new Map<string, Price | Error>(failed);
        if (bySymbol.size === 0) return out;
        const tickers = await sources.binance.tickerPrices([...bySymbol.keys()]);
        for (const [symbol, t] of tickers) {
          const assetId = bySymbol.get(symbol);
          if (assetId) {
            out.set(assetId, {
              assetId,
              currency: 'usd',
              value: t.price,
              change24h: null,
              asOf: t.asOf,
              source: 'binance',
              stale: false,
            });
          }
        }
        return out;
      }),
    },
    coincap: {
      provider: 'coincap',
      fetch: inCurrency(async (ids) => {
        const { mapped: byCoincap, failed } = await mapIds(ids, (id) => registry.coincapId(id));
        const out = new Map<string, Price | Error>(failed);
        if (byCoincap.size === 0) return out;
        const rows = await sources.coincap.assets([...byCoincap.keys()], byCoincap);
        for (const m of rows)
          out.set(m.assetId, {
            assetId: m.assetId,
            currency: 'usd',
            value: m.price,
            change24h: m.change24h,
            asOf: m.asOf,
            source: 'coincap',
            stale: false,
          });
        return out;
      }),
    },
    defillama: {
      provider: 'defillama',
      fetch: inCurrency(async (ids) => {
        const prices = await sources.defillama.assetPrices(ids);
        const out = new Map<string, Price | Error>();
        for (const id of ids) {
          const p = prices.get(id);
          if (p)
            out.set(id, {
              assetId: id,
              currency: 'usd',
              value: p.price,
              change24h: null,
              asOf: p.asOf,
              source: 'defillama',
              stale: false,
            });
        }
        return out;
      }),
    },
  };
}

/**
 * Provider order for AUTO: the configured preference, healthy providers first (breaker closed, no
 * Retry-After in force), and among those the ones with under 10 % of their quota left moved to the back.
 */
export function orderQuoteProviders(config: Config, http: Http, now = Date.now()): QuoteProvider[] {
  const enabled = QUOTE_PROVIDERS.filter((p) => config.providers[p].enabled && config.providers[p].url);
  const score = (p: QuoteProvider) => {
    const h = http.health(p);
    if (h.breaker === 'open' || h.blockedUntil > now) return 2;
    return h.quotaLeft < 0.1 * config.providers[p].rpm ? 1 : 0;
  };
  return enabled
    .map((p, i) => ({ p, i, s: score(p) }))
    .sort((a, b) => a.s - b.s || a.i - b.i)
    .map((x) => x.p);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
