import { type Cache, getOne } from '../cache.js';
import type { Config } from '../config.js';
import { isBudgetRefusal } from '../errors.js';
import type { Sources } from '../sources/index.js';
import { type CoinCapRow, contractKey, deriveIdentity, type Identity } from './identity/derive.js';
import { type Kept, keptCatalogue } from './identity/kept.js';
import { marketsPageKey, TOP_MARKETS_PAGE } from './keys.js';
import { fetchMarketsPage, type MarketRow, marketsPageCache } from './markets-pages.js';
import type { AssetCategory, AssetInfo, ContractAddress } from './model.js';

// Asset identity. Canonical ids are CoinGecko slugs; this maps them to every provider's id space and
// back. It is built from every provider's own catalogue (CoinGecko coins/list and its top markets page
// for ranks, CoinCap's asset list, Binance exchangeInfo, Token Metrics tokens), never the sandbox's,
// so it works the same against the sandbox and the live providers. Each catalogue is fetched, kept and
// failing on its own (identity/kept.ts): one provider's outage costs only what that provider alone
// knows, and a kept copy of its catalogue covers even that. DefiLlama needs no catalogue: it keys
// coins by CoinGecko id (sources/defillama.ts builds the key).
//
// A lookup that cannot be answered because a catalogue is missing rejects with that catalogue's coded
// error (provider and endpoint); "not listed" is said only by a catalogue that was read.

export interface SymbolMatch {
  id: string;
  /** Other asset ids with the same symbol, best-ranked first. */
  alternatives: string[];
}

export interface AssetRegistry {
  resolveSymbol(symbol: string): Promise<SymbolMatch | undefined>;
  byContract(chain: string, address: string): Promise<string | undefined>;
  contracts(assetId: string): Promise<ContractAddress[]>;
  /**
   * Each id's catalogue entry; undefined for an id no catalogue lists, an Error where the catalogues
   * that could say are unavailable.
   */
  lookup(assetIds: readonly string[]): Promise<Map<string, AssetInfo | undefined | Error>>;
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

export interface AssetRegistryDeps {
  config: Config;
  cache: Cache;
  sources: Sources;
  now?: () => number;
}

/** How long a catalogue is kept as the last known good one (a restart during an outage reads it). */
export const IDENTITY_KEEP_MS = 7 * 86_400_000;
/** After a catalogue fetch failed, reads answer with its error for this long before asking again. */
export const CATALOGUE_RETRY_MS = 5_000;

interface View {
  identity: Identity;
  /** Why a catalogue has no copy at all, for the catalogues that have none. */
  missing: { coingecko?: Error; ranks?: Error; coincap?: Error; binance?: Error };
}

export function createAssetRegistry(deps: AssetRegistryDeps): AssetRegistry {
  const { config, cache, sources } = deps;
  const now = deps.now ?? Date.now;
  const metadataMs = config.cache.ttl.metadata;
  const kept = <T>(namespace: Parameters<Cache['namespace']>[0], fetch: () => Promise<T>) =>
    keptCatalogue<T>({
      cache,
      namespace,
      freshMs: metadataMs,
      keepMs: Math.max(IDENTITY_KEEP_MS, 2 * metadataMs),
      retryMs: Math.min(CATALOGUE_RETRY_MS, metadataMs),
      fetch,
      now,
    });
  /** The ranking's first page, shared with the assets connection (one fetch for both). */
  const pages = marketsPageCache(cache, config);
  async function topPage(): Promise<MarketRow[]> {
    const fetch = () => fetchMarketsPage(sources, TOP_MARKETS_PAGE);
    const page = () =>
      getOne(pages, marketsPageKey(TOP_MARKETS_PAGE), fetch, () => new Error('markets page unavailable'));
    // A fetch another request started and its budget refused says nothing about the provider: ask it here.
    return (await page().catch((error) => (isBudgetRefusal(error) ? page() : Promise.reject(error)))).value;
  }

  const catalogues = {
    coingecko: kept('catalogue-coingecko', () => sources.coingecko.coinList()),
    ranks: kept('asset-ranks', async () => {
      const ranks: Record<string, number> = {};
      for (const row of await topPage()) if (row.asset.rank != null) ranks[row.asset.id] = row.asset.rank;
      return ranks;
    }),
    coincap: kept<CoinCapRow[]>('catalogue-coincap', () => sources.coincap.catalogue()),
    binance: kept('catalogue-binance', () => sources.binance.usdPairs()),
  };
  const categoryStore = cache.namespace<AssetCategory[]>('asset-categories', metadataMs);
  /** Token Metrics ids per asset; -1 records "not covered" so misses are not asked again. */
  const tmStore = cache.namespace<number>('tokenmetrics-ids', metadataMs);

  const off = Promise.resolve(undefined);
  let derived: { stamp: string; view: View } | undefined;

  async function view(): Promise<View> {
    const [coingecko, ranks, coincap, binance] = await Promise.all([
      catalogues.coingecko.read(),
      catalogues.ranks.read(),
      config.providers.coincap.enabled ? catalogues.coincap.read() : off,
      config.providers.binance.enabled ? catalogues.binance.read() : off,
    ]);
    const stamp = [coingecko, ranks, coincap, binance].map(stampOf).join();
    // Indexes are rebuilt only when a catalogue itself changes.
    if (derived?.stamp === stamp) return derived.view;
    const identity = deriveIdentity({
      coingecko: keptValue(coingecko),
      ranks: keptValue(ranks),
      coincap: keptValue(coincap),
      binance: keptValue(binance),
    });
    const missing: View['missing'] = {};
    if (!coingecko.ok) missing.coingecko = coingecko.error;
    if (!ranks.ok) missing.ranks = ranks.error;
    if (coincap && !coincap.ok) missing.coincap = coincap.error;
    if (binance && !binance.ok) missing.binance = binance.error;
    derived = { stamp, view: { identity, missing } };
    return derived.view;
  }

  /** The asset, or why it cannot be known: undefined only when CoinGecko's catalogue was read. */
  function entry(v: View, assetId: string): AssetInfo | undefined {
    const asset = v.identity.byId.get(assetId);
    if (asset) return asset;
    if (v.missing.coingecko) throw v.missing.coingecko;
    return undefined;
  }

  return {
    async resolveSymbol(symbol) {
      const v = await view();
      const ids = v.identity.bySymbol.get(symbol.toLowerCase());
      if (ids && ids.length > 0) return { id: ids[0]!, alternatives: ids.slice(1) };
      if (v.missing.coingecko) throw v.missing.coingecko;
      return undefined;
    },
    async byContract(chain, address) {
      const v = await view();
      const id = v.identity.byContract.get(contractKey(chain, address));
      // Contracts come from CoinGecko's catalogue only.
      if (id === undefined && v.missing.coingecko) throw v.missing.coingecko;
      return id;
    },
    async contracts(assetId) {
      return entry(await view(), assetId)?.contracts ?? [];
    },
    async lookup(assetIds) {
      const v = await view();
      const out = new Map<string, AssetInfo | undefined | Error>();
      for (const id of assetIds) {
        try {
          out.set(id, entry(v, id));
        } catch (error) {
          out.set(id, error as Error);
        }
      }
      return out;
    },
    async binanceSymbol(assetId) {
      if (!config.providers.binance.enabled) return undefined;
      const v = await view();
      if (!entry(v, assetId)) return undefined;
      if (!v.identity.binanceById) throw v.missing.binance;
      const pair = v.identity.binanceById.get(assetId);
      if (pair === undefined && v.identity.pairUndecided.has(assetId) && v.missing.ranks)
        throw v.missing.ranks;
      return pair;
    },
    async coincapId(assetId) {
      if (!config.providers.coincap.enabled) return undefined;
      const v = await view();
      if (!entry(v, assetId)) return undefined;
      if (!v.identity.coincapById) throw v.missing.coincap;
      return v.identity.coincapById.get(assetId);
    },
    async tokenMetricsIds(assetIds) {
      const out = new Map<number, string>();
      if (!config.providers.tokenmetrics.enabled || assetIds.length === 0) return out;
      const v = await view();
      const results = await tmStore.getMany(
        assetIds,
        async (keys) => {
          const found = new Map<string, number | Error>();
          const wanted: AssetInfo[] = [];
          for (const id of keys) {
            try {
              const asset = entry(v, id);
              if (asset) wanted.push(asset);
              else found.set(id, -1);
            } catch (error) {
              // Not known while CoinGecko's catalogue is out: an error, never a cached "not covered".
              found.set(id, error as Error);
            }
          }
          if (wanted.length === 0) return found;
          const tokens = await sources.tokenmetrics.tokens({
            symbols: [...new Set(wanted.map((a) => a.symbol))],
          });
          for (const asset of wanted) {
            const same = tokens.filter((t) => t.symbol.toLowerCase() === asset.symbol.toLowerCase());
            const match = same.find((t) => t.name.toLowerCase() === asset.name.toLowerCase()) ?? same[0];
            found.set(asset.id, match ? match.tokenId : -1);
          }
          return found;
        },
        () => new Error('token metrics ids unavailable'),
      );
      // A failed token list is the signals' failure, never "not covered".
      const failed = results.find((r): r is Error => r instanceof Error);
      if (failed) throw failed;
      results.forEach((r, i) => {
        if (!(r instanceof Error) && r.value >= 0) out.set(r.value, assetIds[i]!);
      });
      return out;
    },
    async sameSymbol(assetId) {
      const v = await view();
      const asset = entry(v, assetId);
      return asset
        ? (v.identity.bySymbol.get(asset.symbol.toLowerCase()) ?? []).filter((id) => id !== assetId)
        : [];
    },
    async list() {
      const v = await view();
      // A universe without CoinGecko's catalogue is partial: a search over it would look complete.
      if (v.missing.coingecko) throw v.missing.coingecko;
      return v.identity.assets;
    },
    async categories() {
      const result = await getOne(
        categoryStore,
        'all',
        () => sources.coingecko.categories(),
        () => new Error('asset categories unavailable'),
      );
      return result.value;
    },
  };
}

function keptValue<T>(read: Kept<T> | undefined): T | undefined {
  return read?.ok ? read.value : undefined;
}

function stampOf(read: Kept<unknown> | undefined): string {
  if (!read) return 'off';
  return read.ok ? String(read.fetchedAt) : `failed:${read.error.message}`;
}
