import { z } from 'zod';

// CoinGecko v3 response bodies as we rely on them. Objects are loose: unknown keys are dropped, not
// rejected, because CoinGecko adds fields over time. The fields we map are required, and nullable
// exactly where CoinGecko sends null (market caps, supplies and 24 h figures of thinly traded or
// inactive coins; `current_price` of delisted ones).

const amount = z.number().nullable();

export const pingBody = z.object({ gecko_says: z.string() });

export const coinListBody = z.array(
  z.object({
    id: z.string().min(1),
    symbol: z.string(),
    name: z.string(),
    /** Present only with include_platform=true; natives have {}, some tokens carry '' or null addresses. */
    platforms: z.record(z.string(), z.string().nullable()).optional(),
  }),
);

export const marketRow = z.object({
  id: z.string().min(1),
  symbol: z.string(),
  name: z.string(),
  image: z.string().nullable(),
  current_price: amount,
  market_cap: amount,
  market_cap_rank: z.number().int().nullable(),
  total_volume: amount,
  high_24h: amount,
  low_24h: amount,
  price_change_percentage_24h: amount,
  circulating_supply: amount,
  total_supply: amount,
  max_supply: amount,
  /** ISO 8601. */
  last_updated: z.string().nullable(),
});
export type MarketRow = z.infer<typeof marketRow>;

export const marketsBody = z.array(marketRow);

/** /coins/categories/list: every category id coins/markets' `category=` takes, with its display name. */
export const categoriesListBody = z.array(z.object({ category_id: z.string().min(1), name: z.string() }));

/**
 * /simple/price: coin id → flat map of `<cur>`, `<cur>_market_cap`, `<cur>_24h_vol`, `<cur>_24h_change`
 * and `last_updated_at` (unix seconds). Keys appear only when requested; a stale price has a null change.
 */
export const simplePriceBody = z.record(z.string(), z.record(z.string(), z.number().nullable()));

/** Rows of [closeTimeMs, open, high, low, close]. */
export const ohlcBody = z.array(z.tuple([z.number(), z.number(), z.number(), z.number(), z.number()]));

const chartSeries = z.array(z.tuple([z.number(), z.number().nullable()]));

/** Arrays of [timeMs, value]; total_volumes are rolling 24 h volumes in the quote currency. */
export const marketChartBody = z.object({
  prices: chartSeries,
  market_caps: chartSeries,
  total_volumes: chartSeries,
});
