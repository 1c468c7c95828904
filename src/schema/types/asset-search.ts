import type { Context } from '../../context.js';
import { badUserInput, toClientError } from '../../errors.js';
import { MARKETS_PAGE_SIZE } from '../../loaders/index.js';
import type { MarketRow } from '../../market/markets-pages.js';
import type { AssetCategory, AssetInfo, MarketData } from '../../market/model.js';
import type { Builder } from '../builder.js';
import { inputLimit } from '../input-limits.js';
import type { AssetRefs } from './asset.js';

// Query.searchAssets: find assets by name or symbol prefix, keep those whose USD market figures fall in
// the given ranges, order them (by 24 h change too, which CoinGecko's own ordering lacks). Candidates
// are the catalogue's matches for `query` (best-ranked first), or without one the top of the market-cap
// ranking; with a category, the top of that category's ranking (CoinGecko ranks a category in one
// markets call), narrowed to `query`'s matches. At most one page of markets (250 assets) either way, so
// one search is at most one markets call. Market figures are read only when a filter or the order
// needs them. A category id is checked against the provider's list (cached for the metadata TTL), so a
// typo is an error rather than an empty answer.

const SEARCH_TEXT = {
  maxLength: 50,
  pattern: /^[\p{L}\p{N} ._$+-]+$/u,
  expected:
    'the start of a name or ticker such as "bit" (letters, digits, " ", ".", "-", "_", "$", "+"; at most 50)',
};

const ORDERS = {
  MARKET_CAP_DESC: 'Largest market cap first (without a filter, by rank).',
  VOLUME_DESC: 'Largest 24 h trading volume first.',
  CHANGE_24H_DESC: 'Largest 24 h price rise first.',
  CHANGE_24H_ASC: 'Largest 24 h price fall first.',
} as const;
type SearchOrder = keyof typeof ORDERS;

const CATEGORY_ID = {
  maxLength: 100,
  pattern: /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
  expected: 'a category id such as "layer-1" (letters, digits, ".", "-", "_"; at most 100)',
};

interface Ranges {
  minMarketCap?: number | null;
  maxMarketCap?: number | null;
  minVolume24h?: number | null;
  maxVolume24h?: number | null;
  minChange24h?: number | null;
  maxChange24h?: number | null;
}

interface Filter extends Ranges {
  category?: string | null;
}

export function addAssetSearch(builder: Builder, { Asset }: AssetRefs) {
  const Category = builder.objectRef<AssetCategory>('AssetCategory').implement({
    description: 'A group of assets the provider files together (layer 1s, stablecoins, DeFi, ...).',
    fields: (t) => ({
      id: t.exposeString('id', {
        description: 'Category id, what AssetFilter.category takes (e.g. "layer-1").',
      }),
      name: t.exposeString('name', { description: 'Display name, e.g. "Layer 1 (L1)".' }),
    }),
  });

  builder.queryField('assetCategories', (t) =>
    t.field({
      type: [Category],
      // Upstream-backed: its failure is this field's null and coded error, never its siblings'.
      nullable: true,
      description:
        "Every category Query.searchAssets can filter by (CoinGecko's list, cached for the metadata TTL). Null with a coded error when the list could not be loaded.",
      resolve: async (_root, _args, ctx) => {
        try {
          return await ctx.services.registry.categories();
        } catch (error) {
          throw toClientError(error);
        }
      },
    }),
  );

  const AssetSearchOrder = builder.enumType('AssetSearchOrder', {
    description: 'Order of Query.searchAssets, by the USD market figures.',
    values: Object.fromEntries(
      Object.entries(ORDERS).map(([name, description]) => [name, { description }]),
    ) as Record<SearchOrder, { description: string }>,
  });
  const AssetFilter = builder.inputType('AssetFilter', {
    description:
      'Ranges of USD market figures an asset must fall in (bounds inclusive); an asset the provider has no figure for is left out by a range on that figure. Optionally a category the asset must belong to.',
    fields: (t) => ({
      category: t.string({
        required: false,
        description:
          'Only assets in this category, by id (Query.assetCategories lists them, e.g. "layer-1", "stablecoins"); an unknown id is a BAD_USER_INPUT error.',
        extensions: inputLimit(CATEGORY_ID),
      }),
      minMarketCap: t.float({ required: false, description: 'Smallest market cap, USD.' }),
      maxMarketCap: t.float({ required: false, description: 'Largest market cap, USD.' }),
      minVolume24h: t.float({ required: false, description: 'Smallest 24 h volume, USD.' }),
      maxVolume24h: t.float({ required: false, description: 'Largest 24 h volume, USD.' }),
      minChange24h: t.float({
        required: false,
        description: 'Smallest 24 h price change, percent (-5 = down 5 %).',
      }),
      maxChange24h: t.float({ required: false, description: 'Largest 24 h price change, percent.' }),
    }),
  });

  builder.queryField('searchAssets', (t) =>
    t.field({
      type: [Asset],
      nullable: { list: true, items: false },
      description:
        'Assets whose symbol or name starts with `query` (any case; an exact ticker first), or without it the 250 largest by market cap, kept when their USD market figures fall in `filter`, in `orderBy` order. Fails with a coded error when the market figures a filter or order needs could not be loaded.',
      args: {
        query: t.arg.string({
          required: false,
          description: 'Start of the name or ticker, e.g. "bit" or "eth".',
          extensions: inputLimit(SEARCH_TEXT),
        }),
        filter: t.arg({
          type: AssetFilter,
          required: false,
          description: 'Ranges the market figures must fall in.',
        }),
        orderBy: t.arg({
          type: AssetSearchOrder,
          required: false,
          defaultValue: 'MARKET_CAP_DESC',
          description: 'Order of the results.',
        }),
        first: t.arg.int({
          required: false,
          defaultValue: 20,
          description: `How many to return, 1 to ${MARKETS_PAGE_SIZE}.`,
        }),
      },
      resolve: async (_root, args, ctx) => {
        const first = args.first ?? 20;
        if (first < 1 || first > MARKETS_PAGE_SIZE)
          throw badUserInput(`first must be between 1 and ${MARKETS_PAGE_SIZE}, got ${first}`, 'first');
        const order = (args.orderBy ?? 'MARKET_CAP_DESC') as SearchOrder;
        const { category, ...ranges } = (args.filter ?? {}) as Filter;
        const needMarkets = order !== 'MARKET_CAP_DESC' || Object.values(ranges).some((v) => v != null);
        const text = args.query?.trim().toLowerCase();
        if (category) await checkCategory(ctx, category);

        let candidates: Array<{ asset: AssetInfo; market?: MarketData }>;
        if (text && !category) {
          const matches = matching(await ctx.services.registry.list(), text).slice(0, MARKETS_PAGE_SIZE);
          if (!needMarkets) return matches.slice(0, first);
          const loaded = await ctx.loaders.market.loadMany(
            matches.map((a) => ({ assetId: a.id, currency: 'usd' })),
          );
          candidates = matches.map((asset, i) => {
            const market = loaded[i]!;
            if (market instanceof Error) throw toClientError(market);
            return { asset, market: market.value };
          });
        } else {
          const rows = await rankingPage(ctx, category ?? undefined);
          candidates = text ? matchingRows(rows, text) : rows;
        }
        const kept = candidates.filter((c) => !c.market || within(c.market, ranges));
        if (needMarkets) kept.sort((a, b) => compare(order, a.market!, b.market!));
        return kept.slice(0, first).map((c) => c.asset);
      },
    }),
  );
}

async function checkCategory(ctx: Context, id: string): Promise<void> {
  let known: AssetCategory[];
  try {
    known = await ctx.services.registry.categories();
  } catch (error) {
    throw toClientError(error);
  }
  if (!known.some((c) => c.id === id))
    throw badUserInput(
      `unknown category "${id}"; Query.assetCategories lists the valid ids`,
      'filter.category',
    );
}

/** The first page of the market-cap ranking (of one category), its rows primed into the loaders. */
async function rankingPage(ctx: Context, category: string | undefined): Promise<MarketRow[]> {
  const page = await ctx.loaders.marketsPage.load({
    order: 'market_cap_desc',
    currency: 'usd',
    page: 1,
    ...(category ? { category } : {}),
  });
  for (const row of page.value) {
    ctx.loaders.asset.prime(row.asset.id, { value: row.asset, fetchedAt: page.fetchedAt, stale: false });
    ctx.loaders.market.prime(
      { assetId: row.asset.id, currency: 'usd' },
      { value: row.market, fetchedAt: page.fetchedAt, stale: page.stale },
    );
  }
  return page.value;
}

function matchingRows(rows: readonly MarketRow[], text: string): MarketRow[] {
  const byId = new Map(rows.map((r) => [r.asset.id, r]));
  return matching(
    rows.map((r) => r.asset),
    text,
  ).map((a) => byId.get(a.id)!);
}

/** Exact tickers first, then symbol or name prefixes (any word of the name), best-ranked first. */
function matching(assets: readonly AssetInfo[], text: string): AssetInfo[] {
  const score = (a: AssetInfo) => {
    const symbol = a.symbol.toLowerCase();
    if (symbol === text) return 0;
    if (symbol.startsWith(text)) return 1;
    const name = a.name.toLowerCase();
    if (name.startsWith(text)) return 1;
    return name.split(/[\s-]+/).some((w) => w.startsWith(text)) ? 2 : 3;
  };
  return assets
    .map((a) => ({ a, s: score(a) }))
    .filter((x) => x.s < 3)
    .sort(
      (x, y) => x.s - y.s || (x.a.rank ?? Infinity) - (y.a.rank ?? Infinity) || x.a.id.localeCompare(y.a.id),
    )
    .map((x) => x.a);
}

function within(market: MarketData, f: Ranges): boolean {
  const inRange = (value: number | null, min?: number | null, max?: number | null) =>
    (min == null && max == null) ||
    (value !== null && (min == null || value >= min) && (max == null || value <= max));
  return (
    inRange(market.marketCap, f.minMarketCap, f.maxMarketCap) &&
    inRange(market.volume24h, f.minVolume24h, f.maxVolume24h) &&
    inRange(market.change24h, f.minChange24h, f.maxChange24h)
  );
}

/** Assets without the figure go last in every order. */
function compare(order: SearchOrder, a: MarketData, b: MarketData): number {
  const pick = (m: MarketData) =>
    order === 'VOLUME_DESC' ? m.volume24h : order === 'MARKET_CAP_DESC' ? m.marketCap : m.change24h;
  const x = pick(a);
  const y = pick(b);
  if (x === null || y === null) return x === null ? (y === null ? 0 : 1) : -1;
  return order === 'CHANGE_24H_ASC' ? x - y : y - x;
}
