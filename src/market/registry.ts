import { type Cache, getOne } from '../cache.js';
import type { Config } from '../config.js';
import { isBudgetRefusal } from '../errors.js';
import { binanceUsdPair } from '../sources/binance.js';
import type { Sources } from '../sources/index.js';
import { marketsPageKey, TOP_MARKETS_PAGE } from './keys.js';
import { fetchMarketsPage, type MarketRow, marketsPageCache } from './markets-pages.js';
import type { AssetCategory, AssetInfo, ContractAddress } from './model.js';

// Asset identity. Canonical ids are CoinGecko slugs; this maps them to every provider's id space and
// back. Symbols are ambiguous (several coins share "UNI"-like tickers), so a symbol resolves to the
// highest-ranked asset that carries it and reports the others. Built lazily from the providers' own
// catalogues (CoinGecko coins/list + the top markets page for ranks, Binance exchangeInfo for pairs)
// and cached for the metadata TTL, so it works the same against the sandbox and the live providers.

export interface SymbolMatch {
  id: string;
  /** Other asset ids with the same symbol, best-ranked first. */
  alternatives: string[];
}

export interface AssetRegistry {
  resolveSymbol(symbol: string): Promise<SymbolMatch | undefined>;
  byContract(chain: string, address: string): Promise<string | undefined>;
  contracts(assetId: string): Promise<ContractAddress[]>;
  /** Binance spot pair quoting the asset in USDT ('BTCUSDT'), when one trades. */
  binanceSymbol(assetId: string): Promise<string | undefined>;
  /** CoinCap's id for the asset (mostly the same slug, not always: binancecoin → binance-coin). */
  coincapId(assetId: string): Promise<string | undefined>;
  /** Token Metrics TOKEN_ID → asset id, for the given assets Token Metrics covers (one call per miss batch). */
  tokenMetricsIds(assetIds: readonly string[]): Promise<Map<number, string>>;
  /** Other assets sharing this asset's symbol, best-ranked first. */
  sameSymbol(assetId: string): Promise<string[]>;
  /** The known universe (ids, symbols, names, contracts; ranks where known). */
  list(): Promise<AssetInfo[]>;
  /** The categories a markets page can be narrowed to (CoinGecko's ids), for the metadata TTL. */
  categories(): Promise<AssetCategory[]>;
}

interface Snapshot {
  assets: AssetInfo[];
  ranks: Record<string, number>;
  binancePairs: string[];
}

export function createAssetRegistry(deps: { config: Config; cache: Cache; sources: Sources }): AssetRegistry {
  const store = deps.cache.namespace<Snapshot>('registry', deps.config.cache.ttl.metadata);
  const coincapStore = deps.cache.namespace<Record<string, string>>(
    'coincap-ids',
    deps.config.cache.ttl.metadata,
  );
  const categoryStore = deps.cache.namespace<AssetCategory[]>(
    'asset-categories',
    deps.config.cache.ttl.metadata,
  );
  /** Token Metrics ids per asset; -1 records "not covered" so misses are not asked again. */
  const tmStore = deps.cache.namespace<number>('tokenmetrics-ids', deps.config.cache.ttl.metadata);
  /** The ranking's first page, shared with the assets connection (one fetch for both). */
  const pages = marketsPageCache(deps.cache, deps.config);

  async function topPage(): Promise<MarketRow[]> {
    const fetch = () => fetchMarketsPage(deps.sources, TOP_MARKETS_PAGE);
    const page = () =>
      getOne(pages, marketsPageKey(TOP_MARKETS_PAGE), fetch, () => new Error('markets page unavailable'));
    // A fetch another request started and its budget refused says nothing about the provider: ask it here.
    return (await page().catch((error) => (isBudgetRefusal(error) ? page() : Promise.reject(error)))).value;
  }
  let derived: { at: number; value: ReturnType<typeof derive> } | undefined;

  async function snapshot(): Promise<ReturnType<typeof derive>> {
    const result = await getOne(
      store,
      'snapshot',
      async () => {
        const [assets, top, pairs] = await Promise.all([
          deps.sources.coingecko.coinList(),
          topPage(),
          deps.config.providers.binance.enabled
            ? deps.sources.binance.usdPairs().catch(() => [])
            : Promise.resolve([]),
        ]);
        const ranks: Record<string, number> = {};
        for (const row of top) if (row.asset.rank != null) ranks[row.asset.id] = row.asset.rank;
        const binancePairs = pairs;
        return { assets, ranks, binancePairs };
      },
      () => new Error('asset registry unavailable'),
    );
    // Indexes are rebuilt only when the snapshot itself changes.
    if (!derived || derived.at !== result.fetchedAt)
      derived = { at: result.fetchedAt, value: derive(result.value) };
    return derived.value;
  }

  return {
    async resolveSymbol(symbol) {
      const { bySymbol } = await snapshot();
      const ids = bySymbol.get(symbol.toLowerCase());
      if (!ids || ids.length === 0) return undefined;
      return { id: ids[0]!, alternatives: ids.slice(1) };
    },
    async byContract(chain, address) {
      const { byContract } = await snapshot();
      return byContract.get(`${chain.toLowerCase()}:${normalizeAddress(address)}`);
    },
    async contracts(assetId) {
      const { byId } = await snapshot();
      return byId.get(assetId)?.contracts ?? [];
    },
    async binanceSymbol(assetId) {
      return (await snapshot()).binanceById.get(assetId);
    },
    async coincapId(assetId) {
      if (!deps.config.providers.coincap.enabled) return undefined;
      const result = await getOne(
        coincapStore,
        'all',
        async () => {
          const [{ bySymbol, byId }, rows] = await Promise.all([
            snapshot(),
            deps.sources.coincap.catalogue(),
          ]);
          const ids: Record<string, string> = {};
          for (const row of rows) {
            // Same slug wins; otherwise the best-ranked asset with that ticker takes CoinCap's entry.
            const target = byId.has(row.coincapId)
              ? row.coincapId
              : bySymbol.get(row.symbol.toLowerCase())?.[0];
            if (target && !ids[target]) ids[target] = row.coincapId;
          }
          return ids;
        },
        () => new Error('coincap catalogue unavailable'),
      );
      return result.value[assetId];
    },
    async tokenMetricsIds(assetIds) {
      const out = new Map<number, string>();
      if (!deps.config.providers.tokenmetrics.enabled || assetIds.length === 0) return out;
      const { byId } = await snapshot();
      const results = await tmStore.getMany(
        assetIds,
        async (keys) => {
          const wanted = keys.map((id) => byId.get(id)).filter((a): a is AssetInfo => a !== undefined);
          const tokens = await deps.sources.tokenmetrics.tokens({
            symbols: [...new Set(wanted.map((a) => a.symbol))],
          });
          const found = new Map<string, number>();
          for (const asset of wanted) {
            const same = tokens.filter((t) => t.symbol.toLowerCase() === asset.symbol.toLowerCase());
            const match = same.find((t) => t.name.toLowerCase() === asset.name.toLowerCase()) ?? same[0];
            found.set(asset.id, match ? match.tokenId : -1);
          }
          return new Map(keys.map((k) => [k, found.get(k) ?? -1]));
        },
        () => new Error('token metrics ids unavailable'),
      );
      results.forEach((r, i) => {
        if (!(r instanceof Error) && r.value >= 0) out.set(r.value, assetIds[i]!);
      });
      return out;
    },
    async sameSymbol(assetId) {
      const { byId, bySymbol } = await snapshot();
      const asset = byId.get(assetId);
      return asset ? (bySymbol.get(asset.symbol.toLowerCase()) ?? []).filter((id) => id !== assetId) : [];
    },
    async list() {
      return (await snapshot()).assets;
    },
    async categories() {
      const result = await getOne(
        categoryStore,
        'all',
        () => deps.sources.coingecko.categories(),
        () => new Error('asset categories unavailable'),
      );
      return result.value;
    },
  };
}

function derive(snapshot: Snapshot) {
  const rankOf = (id: string) => snapshot.ranks[id] ?? Number.POSITIVE_INFINITY;
  const assets = snapshot.assets.map((a) => ({ ...a, rank: snapshot.ranks[a.id] ?? a.rank }));
  const byId = new Map(assets.map((a) => [a.id, a]));
  const bySymbol = new Map<string, string[]>();
  const byContract = new Map<string, string>();
  for (const a of assets) {
    const key = a.symbol.toLowerCase();
    bySymbol.set(key, [...(bySymbol.get(key) ?? []), a.id]);
    for (const c of a.contracts) {
      const k = `${c.chain}:${normalizeAddress(c.address)}`;
      const holder = byContract.get(k);
      if (!holder || rankOf(a.id) < rankOf(holder)) byContract.set(k, a.id);
    }
  }
  for (const ids of bySymbol.values()) ids.sort((x, y) => rankOf(x) - rankOf(y) || x.localeCompare(y));
  // A Binance pair belongs to the best-ranked asset with that ticker; unranked assets never claim one,
  // so a same-ticker long-tail token is not quoted with a major's price.
  const pairs = new Set(snapshot.binancePairs);
  const binanceById = new Map<string, string>();
  for (const [symbol, ids] of bySymbol) {
    const best = ids[0]!;
    const pair = binanceUsdPair(symbol);
    if (Number.isFinite(rankOf(best)) && pairs.has(pair)) {
      binanceById.set(best, pair);
    }
  }
  return { assets, byId, bySymbol, byContract, binanceById };
}

/** EVM addresses are case-insensitive (checksummed or not); others (Solana, Tron) are case-sensitive. */
function normalizeAddress(address: string): string {
  return /^0x[0-9a-fA-F]{40}$/.test(address) ? address.toLowerCase() : address;
}
