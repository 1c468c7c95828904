import { binanceUsdPair } from '../../sources/binance.js';
import type { AssetInfo } from '../model.js';

// The identity map built from whatever catalogues are at hand. The canonical id is CoinGecko's slug,
// so CoinGecko's coins/list (fresh or kept) is the universe when there is one; without it, CoinCap's
// asset list stands in (its ids are mostly the same slugs), so known assets still resolve while
// CoinGecko is out. Ranks come from CoinGecko's top markets page, else from CoinCap's ranks.
// Symbols are ambiguous, so a symbol resolves to the best-ranked asset that carries it; a Binance
// USDT pair and a CoinCap id of another slug belong to the best-ranked asset of their ticker only,
// so a same-ticker long-tail token is never quoted with a major's price.

export interface CoinCapRow {
  coincapId: string;
  symbol: string;
  name: string;
  rank: number | null;
}

export interface IdentityInputs {
  coingecko?: AssetInfo[];
  ranks?: Record<string, number>;
  coincap?: CoinCapRow[];
  /** Binance's trading USDT pairs. */
  binance?: string[];
}

export interface Identity {
  assets: AssetInfo[];
  byId: Map<string, AssetInfo>;
  /** Lower-case ticker → asset ids, best-ranked first. */
  bySymbol: Map<string, string[]>;
  /** `<chain>:<address>` → the best-ranked asset holding it. */
  byContract: Map<string, string>;
  /** Present only when Binance's catalogue is. */
  binanceById?: Map<string, string>;
  /**
   * Assets whose Binance pair cannot be told without a ranking: no ranking was at hand and their
   * ticker is shared, so the pair could be another asset's. Asking for their pair is the ranking's
   * outage, never "Binance does not list it".
   */
  pairUndecided: Set<string>;
  /** Present only when CoinCap's catalogue is. */
  coincapById?: Map<string, string>;
}

export function deriveIdentity(inputs: IdentityInputs): Identity {
  const coincapRank = new Map<string, number>();
  const universe =
    inputs.coingecko ??
    (inputs.coincap ?? []).map(
      (row): AssetInfo => ({
        id: row.coincapId,
        symbol: row.symbol.toUpperCase(),
        name: row.name,
        rank: row.rank,
        logo: null,
        contracts: [],
      }),
    );
  const ids = new Set(universe.map((a) => a.id));
  // CoinCap's ranks, on our ids (same slug first, else the first asset with that ticker), fill in
  // where CoinGecko's ranking is not at hand.
  if (!inputs.ranks && inputs.coincap) {
    const firstBySymbol = new Map<string, string>();
    for (const a of universe)
      if (!firstBySymbol.has(a.symbol.toLowerCase())) firstBySymbol.set(a.symbol.toLowerCase(), a.id);
    for (const row of inputs.coincap) {
      const target = ids.has(row.coincapId) ? row.coincapId : firstBySymbol.get(row.symbol.toLowerCase());
      if (target && row.rank != null && !coincapRank.has(target)) coincapRank.set(target, row.rank);
    }
  }
  const rankOf = (id: string) => inputs.ranks?.[id] ?? coincapRank.get(id) ?? Number.POSITIVE_INFINITY;
  // An empty ranking (a markets page with no rows) ranks nothing either.
  const ranked = Object.keys(inputs.ranks ?? {}).length > 0 || coincapRank.size > 0;
  const assets = universe.map((a) => {
    const rank = rankOf(a.id);
    return { ...a, rank: Number.isFinite(rank) ? rank : a.rank };
  });
  const byId = new Map(assets.map((a) => [a.id, a]));
  const bySymbol = new Map<string, string[]>();
  const byContract = new Map<string, string>();
  for (const a of assets) {
    const key = a.symbol.toLowerCase();
    const list = bySymbol.get(key);
    if (list) list.push(a.id);
    else bySymbol.set(key, [a.id]);
    for (const c of a.contracts) {
      const k = contractKey(c.chain, c.address);
      const holder = byContract.get(k);
      if (!holder || rankOf(a.id) < rankOf(holder)) byContract.set(k, a.id);
    }
  }
  for (const list of bySymbol.values()) list.sort((x, y) => rankOf(x) - rankOf(y) || x.localeCompare(y));

  let binanceById: Map<string, string> | undefined;
  const pairUndecided = new Set<string>();
  if (inputs.binance) {
    const pairs = new Set(inputs.binance);
    binanceById = new Map();
    for (const [symbol, list] of bySymbol) {
      const best = list[0]!;
      const pair = binanceUsdPair(symbol);
      if (!pairs.has(pair)) continue;
      // Without any ranking only a ticker no other asset carries is safe to give its pair.
      if (Number.isFinite(rankOf(best)) || (!ranked && list.length === 1)) binanceById.set(best, pair);
      else if (!ranked) for (const id of list) pairUndecided.add(id);
    }
  }

  let coincapById: Map<string, string> | undefined;
  if (inputs.coincap) {
    coincapById = new Map();
    for (const row of inputs.coincap) {
      // Same slug wins; otherwise the best-ranked asset with that ticker takes CoinCap's entry.
      const target = byId.has(row.coincapId) ? row.coincapId : bySymbol.get(row.symbol.toLowerCase())?.[0];
      if (target && !coincapById.has(target)) coincapById.set(target, row.coincapId);
    }
  }
  return { assets, byId, bySymbol, byContract, binanceById, coincapById, pairUndecided };
}

export function contractKey(chain: string, address: string): string {
  return `${chain.toLowerCase()}:${normalizeAddress(address)}`;
}

/** EVM addresses are case-insensitive (checksummed or not); others (Solana, Tron) are case-sensitive. */
function normalizeAddress(address: string): string {
  return /^0x[0-9a-fA-F]{40}$/.test(address) ? address.toLowerCase() : address;
}
