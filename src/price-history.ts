import type { Cache, Cached } from './cache.js';
import type { Config } from './config.js';
import { notFound, UpstreamError } from './errors.js';
import type { ChartPoint } from './sources/coingecko.js';
import type { Sources } from './sources/index.js';

// Past prices from CoinGecko's market_chart/range, through the shared cache. A range is widened to
// whole hours before it is asked for (and cached), so nearby ranges share one upstream call; the
// caller trims the points back to what it asked. CoinGecko picks the spacing from the span: about
// 5 minutes up to a day, hourly up to 90 days, daily beyond.

export interface PriceHistory {
  /** Points in [from, to], oldest first (CoinGecko's own spacing). */
  range(assetId: string, currency: string, from: Date, to: Date): Promise<Cached<ChartPoint[]>>;
}

const HOUR = 3_600_000;

export function createPriceHistory(deps: { config: Config; cache: Cache; sources: Sources }): PriceHistory {
  const store = deps.cache.namespace<ChartPoint[]>('price-history', deps.config.cache.ttl.candles);
  return {
    async range(assetId, currency, from, to) {
      if (!deps.config.providers.coingecko.enabled)
        throw new UpstreamError(
          'UPSTREAM_UNAVAILABLE',
          'coingecko',
          'coingecko is turned off: no price history',
          {
            endpoint: 'coins/market_chart/range',
          },
        );
      const start = Math.floor(from.getTime() / HOUR) * HOUR;
      const end = Math.ceil(to.getTime() / HOUR) * HOUR;
      const key = `${currency}:${assetId}:${start}:${end}`;
      const [result] = await store.getMany(
        [key],
        async () =>
          new Map([
            [
              key,
              await deps.sources.coingecko.marketChartRange(
                assetId,
                currency,
                new Date(start),
                new Date(end),
              ),
            ],
          ]),
        () => notFound('price history of', assetId),
      );
      if (result instanceof Error) throw result;
      const lo = from.getTime();
      const hi = to.getTime();
      return { ...result!, value: result!.value.filter((p) => p.at.getTime() >= lo && p.at.getTime() <= hi) };
    },
  };
}
