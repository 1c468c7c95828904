import type { ProviderConfig } from '../config.js';
import { isUpstreamError } from '../errors.js';
import type { Http } from '../http/client.js';
import type { ContractAddress, MetricPoint, OnChainMetric } from '../market/model.js';
import { chunk } from './chunk.js';
import {
  chainsBody,
  chainTvlHistoryBody,
  currentPricesBody,
  type ProtocolRow,
  protocolBody,
  protocolsBody,
  stablecoinChartBody,
  stablecoinsBody,
} from './defillama-schemas.js';

// DefiLlama (free API, every path under api.llama.fi): URLs and vendor JSON → model types. Every call
// goes through deps.http, which owns timeouts, retries, quotas and the breaker. Unix seconds (numbers,
// or strings in the stablecoin charts) become Dates. DefiLlama names chains its own way ('BSC',
// 'Arbitrum'); metrics carry our canonical chain slugs ('binance-smart-chain', 'arbitrum-one') and
// the methods accept either form. An unknown chain/protocol/stablecoin (DefiLlama answers 4xx) is
// null, not an error. Pro keys (which go in the URL path, with different paths) are not supported.

/** DefiLlama chain name ↔ canonical chain slug (CoinGecko platform id), and its coin-key prefix. */
const CHAINS: ReadonlyArray<{ llama: string; slug: string; coinKey: string }> = [
  { llama: 'Ethereum', slug: 'ethereum', coinKey: 'ethereum' },
  { llama: 'BSC', slug: 'binance-smart-chain', coinKey: 'bsc' },
  { llama: 'Solana', slug: 'solana', coinKey: 'solana' },
  { llama: 'Arbitrum', slug: 'arbitrum-one', coinKey: 'arbitrum' },
  { llama: 'Polygon', slug: 'polygon-pos', coinKey: 'polygon' },
  { llama: 'Tron', slug: 'tron', coinKey: 'tron' },
  { llama: 'Avalanche', slug: 'avalanche', coinKey: 'avax' },
  { llama: 'Optimism', slug: 'optimistic-ethereum', coinKey: 'optimism' },
  { llama: 'OP Mainnet', slug: 'optimistic-ethereum', coinKey: 'optimism' },
  { llama: 'Base', slug: 'base', coinKey: 'base' },
  { llama: 'Sui', slug: 'sui', coinKey: 'sui' },
  { llama: 'Aptos', slug: 'aptos', coinKey: 'aptos' },
  { llama: 'Near', slug: 'near-protocol', coinKey: 'near' },
  { llama: 'TON', slug: 'the-open-network', coinKey: 'ton' },
  { llama: 'Bitcoin', slug: 'bitcoin', coinKey: 'bitcoin' },
];
/** Keys that /prices/current can take in a path segment: `<prefix>:<ref>` without separators. */
const COIN_KEY = /^[A-Za-z0-9-]+:[^/?#,\s%]+$/;
const NOT_FOUND_STATUSES = new Set([400, 404]);

export interface DefiLlamaDeps {
  http: Http;
  config: ProviderConfig;
}

export interface ChainTvl {
  /** DefiLlama's chain name ('BSC'), the form its history endpoint takes. */
  name: string;
  /** Canonical chain slug ('binance-smart-chain'). */
  chain: string;
  /** CoinGecko id of the chain's token, when it has one. */
  geckoId: string | null;
  symbol: string | null;
  evmChainId: number | null;
  tvlUsd: number;
}

export interface ProtocolTvl {
  id: string;
  slug: string;
  name: string;
  /** null when the protocol has no token (DefiLlama writes '-'). */
  symbol: string | null;
  category: string | null;
  chains: string[];
  /** USD, excluding staking and pool2; null when DefiLlama has none. */
  tvlUsd: number | null;
  /** DefiLlama chain name → TVL; the '<Chain>-staking'/'staking'/'pool2'/... keys are left out. */
  chainTvls: Record<string, number>;
  /** Percent changes of TVL. */
  change1h: number | null;
  change1d: number | null;
  change7d: number | null;
  marketCapUsd: number | null;
  geckoId: string | null;
  parentId: string | null;
}

export interface ProtocolDetail {
  id: string;
  slug: string;
  name: string;
  symbol: string | null;
  category: string | null;
  chains: string[];
  /** The history's last value (DefiLlama's latest update, usually within the hour). */
  tvlUsd: number | null;
  /** Current TVL per DefiLlama chain name (TVL keys only). */
  chainTvls: Record<string, number>;
  marketCapUsd: number | null;
  geckoId: string | null;
  parentId: string | null;
  tvlHistory: MetricPoint[];
  /** DefiLlama chain name → TVL history (TVL keys only). */
  chainTvlHistory: Record<string, MetricPoint[]>;
}

export interface LlamaPrice {
  price: number;
  asOf: Date;
  confidence: number | null;
  symbol: string | null;
  /** Token decimals for `<chain>:<address>` keys; null for `coingecko:` keys. */
  decimals: number | null;
}

export interface StablecoinSupply {
  id: string;
  name: string;
  symbol: string;
  geckoId: string | null;
  /** 'peggedUSD', 'peggedEUR', ... */
  pegType: string;
  /** Circulating supply in USD: the pegged amount for dollar coins, amount × price for others (null without a price). */
  circulatingUsd: number | null;
  price: number | null;
  chains: string[];
}

export interface DefiLlamaSource {
  /** Coin keys per /prices/current call: no documented cap, chunked to keep URLs short. */
  readonly maxCoinsPerCall: number;
  chains(): Promise<ChainTvl[]>;
  /** Daily TVL of one chain (either name form), or of all DeFi without one; null for an unknown chain. */
  chainTvlHistory(chain?: string): Promise<MetricPoint[] | null>;
  protocols(): Promise<ProtocolTvl[]>;
  protocol(slug: string): Promise<ProtocolDetail | null>;
  /** Keys are `coingecko:<id>` or `<chain>:<address>`; keys DefiLlama does not know are absent. */
  currentPrices(keys: readonly string[]): Promise<Map<string, LlamaPrice>>;
  /** Current prices by canonical asset id (DefiLlama keys them `coingecko:<id>`); unknown ids are absent. */
  assetPrices(assetIds: readonly string[]): Promise<Map<string, LlamaPrice>>;
  stablecoins(): Promise<StablecoinSupply[]>;
  /** Daily circulating USD of all stablecoins, or of one (DefiLlama id); null for an unknown id. */
  stablecoinSupplyHistory(stablecoinId?: string): Promise<MetricPoint[] | null>;
  /**
   * TVL of a chain (DefiLlama name or canonical slug) with its daily history, value and asOf from the
   * history's latest point: two calls in parallel, a third when the slug is not one we can map to
   * DefiLlama's name. Chain 'all' without one (one call).
   */
  chainTvlMetric(chain?: string): Promise<OnChainMetric | null>;
  /** kind PROTOCOL_TVL, chain 'all': the caller knows which protocol it asked for. */
  protocolTvlMetric(slug: string): Promise<OnChainMetric | null>;
  /** kind STABLECOIN_SUPPLY over all stablecoins or one; value and asOf from the latest daily point. */
  stablecoinSupplyMetric(stablecoinId?: string): Promise<OnChainMetric | null>;
}

/** Coins per /prices/current call (the cost model in src/cost/ counts with it). */
export const DEFILLAMA_COINS_PER_CALL = 100;

export function createDefiLlamaSource(deps: DefiLlamaDeps): DefiLlamaSource {
  const { http } = deps;
  const maxCoinsPerCall = DEFILLAMA_COINS_PER_CALL;

  async function chains(): Promise<ChainTvl[]> {
    const rows = await http.get({
      provider: 'defillama',
      endpoint: 'v2/chains',
      path: '/v2/chains',
      schema: chainsBody,
    });
    return rows.map((row) => ({
      name: row.name,
      chain: canonicalChain(row.name),
      geckoId: row.gecko_id,
      symbol: row.tokenSymbol,
      evmChainId: typeof row.chainId === 'number' ? row.chainId : toInt(row.chainId),
      tvlUsd: row.tvl,
    }));
  }

  async function chainTvlHistory(chain?: string): Promise<MetricPoint[] | null> {
    const path =
      chain === undefined
        ? '/v2/historicalChainTvl'
        : `/v2/historicalChainTvl/${encodeURIComponent(llamaChain(chain))}`;
    const points = await orNull(
      http.get({
        provider: 'defillama',
        endpoint: 'v2/historicalChainTvl',
        path,
        schema: chainTvlHistoryBody,
      }),
    );
    return points ? points.map((p) => ({ at: fromSeconds(p.date), value: p.tvl })) : null;
  }

  async function protocols(): Promise<ProtocolTvl[]> {
    const rows = await http.get({
      provider: 'defillama',
      endpoint: 'protocols',
      path: '/protocols',
      schema: protocolsBody,
    });
    return rows.map(toProtocolTvl);
  }

  async function protocol(slug: string): Promise<ProtocolDetail | null> {
    const body = await orNull(
      http.get({
        provider: 'defillama',
        endpoint: 'protocol',
        path: `/protocol/${encodeURIComponent(slug)}`,
        schema: protocolBody,
      }),
    );
    if (!body) return null;
    const tvlHistory = body.tvl.map((p) => ({ at: fromSeconds(p.date), value: p.totalLiquidityUSD }));
    const chainTvlHistory: Record<string, MetricPoint[]> = {};
    for (const [key, series] of Object.entries(body.chainTvls)) {
      if (!isTvlKey(key)) continue;
      chainTvlHistory[key] = series.tvl.map((p) => ({ at: fromSeconds(p.date), value: p.totalLiquidityUSD }));
    }
    return {
      id: body.id,
      slug,
      name: body.name,
      symbol: tokenSymbol(body.symbol),
      category: body.category,
      chains: body.chains,
      tvlUsd: tvlHistory.at(-1)?.value ?? null,
      chainTvls: tvlEntries(body.currentChainTvls),
      marketCapUsd: body.mcap,
      geckoId: body.gecko_id,
      parentId: body.parentProtocol,
      tvlHistory,
      chainTvlHistory,
    };
  }

  async function currentPrices(keys: readonly string[]): Promise<Map<string, LlamaPrice>> {
    const wanted = [...new Set(keys)].filter((key) => COIN_KEY.test(key));
    const result = new Map<string, LlamaPrice>();
    const batches = chunk(wanted, maxCoinsPerCall);
    const bodies = await Promise.all(
      batches.map((batch) =>
        http.get({
          provider: 'defillama',
          endpoint: 'prices/current',
          path: `/prices/current/${batch.join(',')}`,
          schema: currentPricesBody,
        }),
      ),
    );
    // Answer keys are matched case-insensitively: EVM addresses may come back in another case.
    const exactKeys = new Set(wanted);
    const byLowerKey = new Map<string, string[]>();
    for (const key of wanted)
      byLowerKey.set(key.toLowerCase(), [...(byLowerKey.get(key.toLowerCase()) ?? []), key]);
    for (const body of bodies) {
      for (const [key, coin] of Object.entries(body.coins)) {
        const price: LlamaPrice = {
          price: coin.price,
          asOf: fromSeconds(coin.timestamp),
          confidence: coin.confidence,
          symbol: coin.symbol,
          decimals: coin.decimals,
        };
        const requestedAs = exactKeys.has(key) ? [key] : (byLowerKey.get(key.toLowerCase()) ?? []);
        for (const requested of requestedAs) result.set(requested, price);
      }
    }
    return result;
  }

  async function stablecoins(): Promise<StablecoinSupply[]> {
    const body = await http.get({
      provider: 'defillama',
      endpoint: 'stablecoins',
      path: '/stablecoins',
      query: { includePrices: 'true' },
      schema: stablecoinsBody,
    });
    return body.peggedAssets.map((asset) => {
      const pegged = asset.circulating[asset.pegType] ?? null;
      const circulatingUsd =
        pegged === null
          ? null
          : asset.pegType === 'peggedUSD'
            ? pegged
            : asset.price === null
              ? null
              : pegged * asset.price;
      return {
        id: asset.id,
        name: asset.name,
        symbol: asset.symbol,
        geckoId: asset.gecko_id,
        pegType: asset.pegType,
        circulatingUsd,
        price: asset.price,
        chains: asset.chains,
      };
    });
  }

  async function stablecoinSupplyHistory(stablecoinId?: string): Promise<MetricPoint[] | null> {
    const points = await orNull(
      http.get({
        provider: 'defillama',
        endpoint: 'stablecoincharts',
        path: '/stablecoincharts/all',
        query: { stablecoin: stablecoinId },
        schema: stablecoinChartBody,
      }),
    );
    if (!points) return null;
    return points.map((p) => ({
      at: fromSeconds(p.date),
      value: Object.values(p.totalCirculatingUSD).reduce<number>((sum, v) => sum + (v ?? 0), 0),
    }));
  }

  async function chainTvlMetric(chain?: string): Promise<OnChainMetric | null> {
    if (chain === undefined) return chainTvlOf('all', await chainTvlHistory());
    // Both calls go out at once on a guessed DefiLlama name; a slug we cannot map ('hyperliquid-l1')
    // is resolved through the chain list and costs one more call. The list only names the chain: its
    // `tvl` carries no time, so value and asOf both come from the history's latest point.
    const guess = llamaChain(chain);
    const [all, guessed] = await Promise.all([chains(), chainTvlHistory(guess)]);
    const wanted = chain.toLowerCase();
    const row = all.find((c) => c.name.toLowerCase() === guess.toLowerCase() || c.chain === wanted);
    if (!row) return null;
    const history =
      row.name.toLowerCase() === guess.toLowerCase() ? guessed : await chainTvlHistory(row.name);
    return chainTvlOf(row.chain, history);
  }

  async function protocolTvlMetric(slug: string): Promise<OnChainMetric | null> {
    const detail = await protocol(slug);
    const last = detail?.tvlHistory.at(-1);
    if (!detail || !last) return null;
    return metric('all', 'PROTOCOL_TVL', last.value, 'USD', last.at, detail.tvlHistory);
  }

  async function stablecoinSupplyMetric(stablecoinId?: string): Promise<OnChainMetric | null> {
    const history = await stablecoinSupplyHistory(stablecoinId);
    const last = history?.at(-1);
    if (!history || !last) return null;
    return metric('all', 'STABLECOIN_SUPPLY', last.value, 'USD', last.at, history);
  }

  return {
    maxCoinsPerCall,
    chains,
    chainTvlHistory,
    protocols,
    protocol,
    currentPrices,
    async assetPrices(assetIds) {
      const prices = await currentPrices(assetIds.map((id) => `coingecko:${id}`));
      const out = new Map<string, LlamaPrice>();
      for (const id of assetIds) {
        const price = prices.get(`coingecko:${id}`);
        if (price) out.set(id, price);
      }
      return out;
    },
    stablecoins,
    stablecoinSupplyHistory,
    chainTvlMetric,
    protocolTvlMetric,
    stablecoinSupplyMetric,
  };
}

/** DefiLlama's coin key for an asset by canonical id: `coingecko:<id>`. */
export function llamaCoinKeyForAsset(assetId: string): string {
  return `coingecko:${assetId}`;
}

/** DefiLlama's coin key for a contract (`bsc:0x…`); undefined on chains we cannot name for DefiLlama. */
export function llamaCoinKeyForContract(contract: ContractAddress): string | undefined {
  const entry = CHAINS.find((c) => c.slug === contract.chain);
  return entry ? `${entry.coinKey}:${contract.address}` : undefined;
}

/** Canonical chain slug for a DefiLlama chain name: the CoinGecko platform id where we know it. */
export function canonicalChain(llamaName: string): string {
  const known = CHAINS.find((c) => c.llama.toLowerCase() === llamaName.toLowerCase());
  return known ? known.slug : llamaName.toLowerCase().replace(/\s+/g, '-');
}

/** DefiLlama's name for a chain given as a canonical slug or already in DefiLlama's form. */
function llamaChain(chain: string): string {
  return CHAINS.find((c) => c.slug === chain.toLowerCase())?.llama ?? chain;
}

function toProtocolTvl(row: ProtocolRow): ProtocolTvl {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    symbol: tokenSymbol(row.symbol),
    category: row.category,
    chains: row.chains,
    tvlUsd: row.tvl,
    chainTvls: tvlEntries(row.chainTvls),
    change1h: row.change_1h,
    change1d: row.change_1d,
    change7d: row.change_7d,
    marketCapUsd: row.mcap,
    geckoId: row.gecko_id,
    parentId: row.parentProtocol,
  };
}

/** chainTvls mixes TVL per chain with other buckets: 'Ethereum-staking', 'staking', 'pool2', 'borrowed', ... */
const NON_TVL_KEY =
  /^(?:.+-)?(?:staking|pool2|borrowed|vesting|offers|treasury|doublecounted|liquidstaking|dcandlsoverlap)$/i;

function isTvlKey(key: string): boolean {
  return !NON_TVL_KEY.test(key);
}

function tvlEntries(values: Record<string, number | null>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(values)) if (value !== null && isTvlKey(key)) out[key] = value;
  return out;
}

function tokenSymbol(symbol: string | null): string | null {
  return symbol === null || symbol === '-' || symbol === '' ? null : symbol;
}

function metric(
  chain: string,
  kind: string,
  value: number,
  unit: string,
  asOf: Date,
  history: MetricPoint[],
): OnChainMetric {
  return { chain, kind, value, unit, asOf, source: 'defillama', stale: false, history };
}

/**
 * kind TVL from one historicalChainTvl answer: its latest daily point is the value and its time, so
 * the two never come from different calls (v2/chains has a current value but no time); null when the
 * answer is empty or the chain unknown.
 */
export function chainTvlOf(chain: string, history: MetricPoint[] | null): OnChainMetric | null {
  const last = history?.at(-1);
  if (!history || !last) return null;
  return metric(chain, 'TVL', last.value, 'USD', last.at, history);
}

function fromSeconds(seconds: number): Date {
  return new Date(seconds * 1000);
}

function toInt(value: string | null | undefined): number | null {
  if (value === null || value === undefined || !/^\d+$/.test(value)) return null;
  return Number(value);
}

/** The call's value, or null when DefiLlama rejected the name in the path (4xx). */
async function orNull<T>(call: Promise<T>): Promise<T | null> {
  try {
    return await call;
  } catch (error) {
    if (
      isUpstreamError(error) &&
      error.details.status !== undefined &&
      NOT_FOUND_STATUSES.has(error.details.status)
    ) {
      return null;
    }
    throw error;
  }
}
