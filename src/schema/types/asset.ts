import { resolveOffsetConnection } from '@pothos/plugin-relay';
import { badUserInput, notFound, quote, toClientError } from '../../errors.js';
import { MARKETS_PAGE_SIZE } from '../../market/keys.js';
import type { AssetInfo } from '../../market/model.js';
import type { Builder } from '../builder.js';
import { ASSET_ID, CHAIN, CONTRACT_ADDRESS, inputLimit, SYMBOL } from '../input-limits.js';
import { ORDERS, orderAssetIds } from './asset-order.js';
import type { Enums } from './enums.js';

// Asset: the node every market value hangs off, with Query.asset and the Query.assets connection.

const ORDER_DESCRIPTIONS: Record<keyof typeof ORDERS, string> = {
  MARKET_CAP_DESC: 'Largest market cap first (rank 1 first).',
  MARKET_CAP_ASC: 'Smallest market cap first.',
  VOLUME_DESC: 'Largest 24 h trading volume first.',
  VOLUME_ASC: 'Smallest 24 h trading volume first.',
  ID_ASC: 'By canonical id, a to z.',
  ID_DESC: 'By canonical id, z to a.',
};

export function addAsset(builder: Builder, _enums: Enums) {
  const ContractAddress = builder.objectRef<{ chain: string; address: string }>('ContractAddress').implement({
    description: 'Where a token lives: its contract (or mint) address on one chain.',
    fields: (t) => ({
      chain: t.exposeString('chain', {
        description: 'Chain slug, e.g. ethereum, solana, binance-smart-chain.',
      }),
      address: t.exposeString('address', {
        description: 'Contract address as the catalogue lists it (EVM chains: 0x-prefixed hex).',
      }),
    }),
  });

  const Asset = builder.node(builder.objectRef<AssetInfo>('Asset'), {
    description: 'A crypto asset. `id` is its canonical slug (the CoinGecko id), e.g. "bitcoin".',
    id: {
      resolve: (asset) => asset.id,
      description: 'Canonical id, the CoinGecko slug ("bitcoin"); also its node id.',
    },
    // Error entries: an unknown id is a null node with NOT_FOUND, and does not fail the others in nodes().
    loadMany: async (ids, ctx) =>
      (await ctx.loaders.asset.loadMany(ids)).map((r) =>
        r instanceof Error ? toClientError(r) : r.value,
      ) as AssetInfo[],
    fields: (t) => ({
      symbol: t.exposeString('symbol', {
        description: 'Ticker in upper case, e.g. "BTC". Not unique: see sameSymbol.',
      }),
      name: t.exposeString('name', { description: 'Display name, e.g. "Bitcoin".' }),
      rank: t.exposeInt('rank', {
        nullable: true,
        description: 'Market-cap rank, 1 = largest; null when the provider does not rank the asset.',
      }),
      logo: t.exposeString('logo', {
        nullable: true,
        description: 'Image URL as the provider gives it; null when it has none.',
      }),
      contracts: t.field({
        type: [ContractAddress],
        description: 'Token contracts per chain; empty for native coins.',
        resolve: async (asset, _args, ctx) =>
          asset.contracts.length > 0 ? asset.contracts : ctx.services.registry.contracts(asset.id),
      }),
    }),
  });

  builder.objectField(Asset, 'sameSymbol', (t) =>
    t.field({
      type: [Asset],
      description:
        'Other assets with this ticker, best-ranked first. asset(by: { symbol: }) picks the best-ranked one; these are the alternatives.',
      resolve: async (asset, _args, ctx) => {
        const ids = await ctx.services.registry.sameSymbol(asset.id);
        const loaded = await ctx.loaders.asset.loadMany(ids);
        return loaded.flatMap((r) => (r instanceof Error ? [] : [r.value]));
      },
    }),
  );

  const AssetOrder = builder.enumType('AssetOrder', {
    description: 'Order of Query.assets, by CoinGecko market data in USD.',
    values: Object.fromEntries(
      Object.entries(ORDERS).map(([k, v]) => [
        k,
        { value: v, description: ORDER_DESCRIPTIONS[k as keyof typeof ORDERS] },
      ]),
    ) as Record<keyof typeof ORDERS, { value: (typeof ORDERS)[keyof typeof ORDERS]; description: string }>,
  });

  const ContractInput = builder.inputType('ContractInput', {
    description: 'A token contract to look an asset up by.',
    fields: (t) => ({
      chain: t.string({
        required: true,
        description: 'Chain slug, e.g. ethereum.',
        extensions: inputLimit(CHAIN),
      }),
      address: t.string({
        required: true,
        description: 'Contract address; EVM addresses match in any letter case.',
        extensions: inputLimit(CONTRACT_ADDRESS),
      }),
    }),
  });

  const AssetLookup = builder.inputType('AssetLookup', {
    description:
      'How to find one asset: exactly one of id, symbol or contract (checked when the query is validated).',
    isOneOf: true,
    fields: (t) => ({
      id: t.id({ description: 'Canonical id, e.g. "bitcoin".', extensions: inputLimit(ASSET_ID) }),
      symbol: t.string({
        description:
          'Ticker in any case, e.g. "eth". Several assets share some tickers; the best-ranked one is picked (see Asset.sameSymbol).',
        extensions: inputLimit(SYMBOL),
      }),
      contract: t.field({ type: ContractInput, description: 'A token contract on one chain.' }),
    }),
  });

  builder.queryField('asset', (t) =>
    t.field({
      type: Asset,
      nullable: true,
      description:
        'One asset by canonical id, by symbol (ambiguous symbols resolve to the highest-ranked asset) or by contract, given as `by`. Null with NOT_FOUND when nothing matches.',
      args: {
        by: t.arg({
          type: AssetLookup,
          required: false,
          description: 'What to look the asset up by. Required unless a deprecated argument is given.',
        }),
        id: t.arg.id({
          required: false,
          deprecationReason: 'Use by: { id: ... }.',
          description: 'Canonical id.',
          extensions: inputLimit(ASSET_ID),
        }),
        symbol: t.arg.string({
          required: false,
          deprecationReason: 'Use by: { symbol: ... }.',
          description: 'Ticker in any case.',
          extensions: inputLimit(SYMBOL),
        }),
        contract: t.arg({
          type: ContractInput,
          required: false,
          deprecationReason: 'Use by: { contract: ... }.',
          description: 'A token contract.',
        }),
      },
      resolve: async (_root, args, ctx) => {
        const given = [args.by, args.id, args.symbol, args.contract].filter((v) => v != null).length;
        if (given !== 1) throw badUserInput('asset takes by: { id | symbol | contract } (exactly one)', 'by');
        const lookup: {
          id?: string | number | null;
          symbol?: string | null;
          contract?: typeof args.contract;
        } = args.by ?? args;
        let id: string;
        if (lookup.id != null) id = String(lookup.id);
        else if (lookup.symbol != null) {
          const match = await ctx.services.registry.resolveSymbol(lookup.symbol);
          if (!match) throw notFound('asset with symbol', lookup.symbol);
          id = match.id;
        } else {
          const contract = lookup.contract!;
          const match = await ctx.services.registry.byContract(contract.chain, contract.address);
          if (!match) throw notFound('asset with contract', `${contract.chain}:${contract.address}`);
          id = match;
        }
        return (await ctx.loaders.asset.load(id)).value;
      },
    }),
  );

  builder.queryField('assets', (t) =>
    t.connection({
      type: Asset,
      // Upstream-backed: its failure is this field's null and coded error, never its siblings'.
      nullable: true,
      description: `Assets ranked by the chosen order, ${MARKETS_PAGE_SIZE} at most per page. Null with a coded error when the ranking could not be loaded; the other root fields still answer.`,
      args: {
        ids: t.arg.idList({
          required: false,
          description: 'Only these assets (unknown ids are left out).',
          extensions: inputLimit(ASSET_ID, { maxItems: MARKETS_PAGE_SIZE }),
        }),
        orderBy: t.arg({
          type: AssetOrder,
          required: false,
          description:
            'Order of the list, MARKET_CAP_DESC when absent; with `ids` and no `orderBy`, the order of `ids`.',
        }),
      },
      resolve: async (_root, args, ctx) => {
        checkPageArgs(args, ctx.services.config.limits.maxPageSize);
        const order = args.orderBy ?? 'market_cap_desc';
        return resolveOffsetConnection(
          { args, defaultSize: 50, maxSize: MARKETS_PAGE_SIZE },
          async ({ offset, limit }) => {
            if (args.ids) {
              const given = [...new Set(args.ids.map(String))];
              const ordered = args.orderBy ? await orderAssetIds(ctx, given, args.orderBy) : given;
              const ids = ordered.slice(offset, offset + limit);
              const loaded = await ctx.loaders.asset.loadMany(ids);
              return loaded.flatMap((r) => (r instanceof Error ? [] : [r.value]));
            }
            // resolveOffsetConnection asks for one row more than the page to tell hasNextPage; that row
            // must not cost a second markets call, so only the pages holding the wanted rows are read.
            const wanted = Math.max(1, limit - 1);
            const first = Math.floor(offset / MARKETS_PAGE_SIZE) + 1;
            const last = Math.floor((offset + wanted - 1) / MARKETS_PAGE_SIZE) + 1;
            const pages = await Promise.all(
              Array.from({ length: last - first + 1 }, (_, i) =>
                ctx.loaders.marketsPage.load({ order, currency: 'usd', page: first + i }),
              ),
            );
            const rows = pages.flatMap((p) => p.value);
            const start = offset - (first - 1) * MARKETS_PAGE_SIZE;
            const slice = rows.slice(start, start + limit);
            for (const row of slice) {
              ctx.loaders.asset.prime(row.asset.id, {
                value: row.asset,
                fetchedAt: pages[0]!.fetchedAt,
                stale: false,
              });
              ctx.loaders.market.prime(
                { currency: 'usd', assetId: row.asset.id },
                {
                  value: row.market,
                  fetchedAt: pages[0]!.fetchedAt,
                  stale: false,
                },
              );
            }
            const nodes = slice.map((r) => r.asset);
            // A full last page means the ranking goes on: stand in for the extra row (it is trimmed).
            const lastPage = pages.at(-1)!.value;
            if (
              nodes.length === wanted &&
              start + wanted === rows.length &&
              lastPage.length === MARKETS_PAGE_SIZE
            ) {
              nodes.push(nodes.at(-1)!);
            }
            return nodes;
          },
        );
      },
    }),
  );

  return { Asset };
}

function checkPageArgs(
  args: { first?: number | null; last?: number | null; after?: string | null; before?: string | null },
  max: number,
) {
  for (const name of ['first', 'last'] as const) {
    const value = args[name];
    if (value != null && (value < 1 || value > max)) {
      throw badUserInput(`${name} must be between 1 and ${max}, got ${value}`, name);
    }
  }
  for (const name of ['after', 'before'] as const) {
    const cursor = args[name];
    if (cursor != null && !isOffsetCursor(cursor))
      throw badUserInput(`${name} is not a cursor this API issued: ${quote(cursor)}`, name);
  }
}

function isOffsetCursor(cursor: string): boolean {
  try {
    return /^OffsetConnection:\d+$/.test(Buffer.from(cursor, 'base64').toString('utf8'));
  } catch {
    return false;
  }
}

export type AssetRefs = ReturnType<typeof addAsset>;
