import { resolveOffsetConnection } from '@pothos/plugin-relay';
import { badUserInput, notFound, quote } from '../../errors.js';
import { MARKETS_PAGE_SIZE } from '../../loaders.js';
import type { AssetInfo } from '../../model.js';
import type { Builder } from '../builder.js';
import { ASSET_ID, CHAIN, CONTRACT_ADDRESS, inputLimit, SYMBOL } from '../input-limits.js';
import type { Enums } from './enums.js';

// Asset: the node every market value hangs off, with Query.asset and the Query.assets connection.

const ORDERS = {
  MARKET_CAP_DESC: 'market_cap_desc',
  MARKET_CAP_ASC: 'market_cap_asc',
  VOLUME_DESC: 'volume_desc',
  VOLUME_ASC: 'volume_asc',
  ID_ASC: 'id_asc',
  ID_DESC: 'id_desc',
} as const;

export function addAsset(builder: Builder, _enums: Enums) {
  const ContractAddress = builder.objectRef<{ chain: string; address: string }>('ContractAddress').implement({
    fields: (t) => ({
      chain: t.exposeString('chain', {
        description: 'Chain slug, e.g. ethereum, solana, binance-smart-chain.',
      }),
      address: t.exposeString('address'),
    }),
  });

  const Asset = builder.node(builder.objectRef<AssetInfo>('Asset'), {
    description: 'A crypto asset. `id` is its canonical slug (the CoinGecko id), e.g. "bitcoin".',
    id: { resolve: (asset) => asset.id },
    loadOne: async (id, ctx) => (await ctx.loaders.asset.load(id)).value,
    fields: (t) => ({
      symbol: t.exposeString('symbol'),
      name: t.exposeString('name'),
      rank: t.exposeInt('rank', { nullable: true, description: 'Market-cap rank, 1 = largest.' }),
      logo: t.exposeString('logo', { nullable: true, description: 'Image URL as the provider gives it.' }),
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
        'Other assets with this ticker, best-ranked first. asset(symbol:) picks the best-ranked one; these are the alternatives.',
      resolve: async (asset, _args, ctx) => {
        const ids = await ctx.services.registry.sameSymbol(asset.id);
        const loaded = await ctx.loaders.asset.loadMany(ids);
        return loaded.flatMap((r) => (r instanceof Error ? [] : [r.value]));
      },
    }),
  );

  const AssetOrder = builder.enumType('AssetOrder', {
    values: Object.fromEntries(Object.entries(ORDERS).map(([k, v]) => [k, { value: v }])) as Record<
      keyof typeof ORDERS,
      { value: (typeof ORDERS)[keyof typeof ORDERS] }
    >,
  });

  const ContractInput = builder.inputType('ContractInput', {
    fields: (t) => ({
      chain: t.string({
        required: true,
        description: 'Chain slug, e.g. ethereum.',
        extensions: inputLimit(CHAIN),
      }),
      address: t.string({ required: true, extensions: inputLimit(CONTRACT_ADDRESS) }),
    }),
  });

  builder.queryField('asset', (t) =>
    t.field({
      type: Asset,
      nullable: true,
      description:
        'One asset by canonical id, by symbol (ambiguous symbols resolve to the highest-ranked asset) or by contract.',
      args: {
        id: t.arg.id({ required: false, extensions: inputLimit(ASSET_ID) }),
        symbol: t.arg.string({ required: false, extensions: inputLimit(SYMBOL) }),
        contract: t.arg({ type: ContractInput, required: false }),
      },
      resolve: async (_root, args, ctx) => {
        const given = [args.id, args.symbol, args.contract].filter((v) => v != null).length;
        if (given !== 1) throw badUserInput('asset takes exactly one of id, symbol or contract');
        let id: string;
        if (args.id != null) id = String(args.id);
        else if (args.symbol != null) {
          const match = await ctx.services.registry.resolveSymbol(args.symbol);
          if (!match) throw notFound('asset with symbol', args.symbol);
          id = match.id;
        } else {
          const match = await ctx.services.registry.byContract(args.contract!.chain, args.contract!.address);
          if (!match)
            throw notFound('asset with contract', `${args.contract!.chain}:${args.contract!.address}`);
          id = match;
        }
        return (await ctx.loaders.asset.load(id)).value;
      },
    }),
  );

  builder.queryField('assets', (t) =>
    t.connection({
      type: Asset,
      description: `Assets ranked by the chosen order, ${MARKETS_PAGE_SIZE} at most per page.`,
      args: {
        ids: t.arg.idList({
          required: false,
          description: 'Only these assets (unknown ids are left out).',
          extensions: inputLimit(ASSET_ID, { maxItems: MARKETS_PAGE_SIZE }),
        }),
        orderBy: t.arg({ type: AssetOrder, required: false, defaultValue: 'market_cap_desc' }),
      },
      resolve: async (_root, args, ctx) => {
        checkPageArgs(args, ctx.services.config.limits.maxPageSize);
        const order = args.orderBy ?? 'market_cap_desc';
        return resolveOffsetConnection(
          { args, defaultSize: 50, maxSize: MARKETS_PAGE_SIZE },
          async ({ offset, limit }) => {
            if (args.ids) {
              const ids = [...new Set(args.ids.map(String))].slice(offset, offset + limit);
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
              ctx.loaders.market.prime(`usd:${row.asset.id}`, {
                value: row.market,
                fetchedAt: pages[0]!.fetchedAt,
                stale: false,
              });
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
