import type { Context } from '../../context.js';
import { toClientError } from '../../errors.js';
import { isNotFound } from '../../loaders/shared.js';
import type { MarketData } from '../../market/model.js';

// Query.assets(ids:, orderBy:): the given ids in the asked order. By id needs nothing loaded; by market
// cap or volume needs the USD market figures of every id (one markets call for the cold ones, which
// also keeps the assets, so the page's nodes cost nothing more). An id no provider knows is left out,
// as without an order; market figures that could not be loaded fail the field, since no order can be
// told without them.

/** AssetOrder's values, named as CoinGecko's markets ordering (which serves them without `ids`). */
export const ORDERS = {
  MARKET_CAP_DESC: 'market_cap_desc',
  MARKET_CAP_ASC: 'market_cap_asc',
  VOLUME_DESC: 'volume_desc',
  VOLUME_ASC: 'volume_asc',
  ID_ASC: 'id_asc',
  ID_DESC: 'id_desc',
} as const;

export type AssetOrderValue = (typeof ORDERS)[keyof typeof ORDERS];

export async function orderAssetIds(
  ctx: Context,
  ids: readonly string[],
  order: AssetOrderValue,
): Promise<string[]> {
  if (order === 'id_asc') return [...ids].sort();
  if (order === 'id_desc') return [...ids].sort().reverse();
  const loaded = await ctx.loaders.market.loadMany(ids.map((assetId) => ({ assetId, currency: 'usd' })));
  const known: MarketData[] = [];
  for (const result of loaded) {
    if (!(result instanceof Error)) known.push(result.value);
    else if (!isNotFound(result)) throw toClientError(result);
  }
  const figure = order.startsWith('market_cap') ? 'marketCap' : 'volume24h';
  const sign = order.endsWith('_desc') ? -1 : 1;
  return known
    .sort((a, b) => {
      const x = a[figure];
      const y = b[figure];
      // Assets without the figure go last either way; ties by id, so pages are stable.
      if (x === null || y === null) return x === y ? a.assetId.localeCompare(b.assetId) : x === null ? 1 : -1;
      return sign * (x - y) || a.assetId.localeCompare(b.assetId);
    })
    .map((m) => m.assetId);
}
