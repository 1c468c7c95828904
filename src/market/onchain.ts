import { type Cache, type Cached, getOne } from '../cache.js';
import type { Config, UpstreamName } from '../config.js';
import { notFound, toClientError } from '../errors.js';
import { type ChainTvl, chainTvlOf } from '../sources/defillama.js';
import type { Sources } from '../sources/index.js';
import type { OnChainMetric } from './model.js';

// On-chain metrics by chain. Each chain is served by groups of metrics, one group per upstream call
// (mempool fees, hashrate, ..., Etherscan gas, DefiLlama TVL); only the groups whose kinds were asked
// for are fetched, each through the shared cache. A failing group yields one Error per kind it would
// have served (null entries plus coded errors for the client) and never blanks the other groups.

export interface OnChainService {
  /** Rejects with NOT_FOUND (naming the chain, `knownChains` in extensions) for a chain nobody serves. */
  forChain(chain: string, kinds?: readonly string[]): Promise<Array<OnChainMetric | Error>>;
  /** Metrics of the chain whose native coin the asset is; [] for tokens. */
  forAsset(assetId: string, kinds?: readonly string[]): Promise<Array<OnChainMetric | Error>>;
  /** A DeFi protocol's TVL (DefiLlama slug) with its history; null for an unknown protocol. */
  forProtocol(slug: string): Promise<OnChainMetric | null>;
}

interface Group {
  name: string;
  provider: UpstreamName;
  kinds: readonly string[];
  fetch(): Promise<OnChainMetric[]>;
}

const FEES = ['FEE_FASTEST', 'FEE_HALF_HOUR', 'FEE_HOUR', 'FEE_ECONOMY', 'FEE_MINIMUM'];
const MEMPOOL = ['MEMPOOL_SIZE', 'MEMPOOL_TX_COUNT', 'MEMPOOL_TOTAL_FEE'];
const GAS = ['GAS_SAFE', 'GAS_PROPOSE', 'GAS_FAST', 'GAS_BASE_FEE'];
/** Chains served by groups of their own ('all': DefiLlama's totals), whatever DefiLlama lists. */
const OUR_CHAINS = ['all', 'bitcoin', 'ethereum'];

export function createOnChainService(deps: {
  config: Config;
  cache: Cache;
  sources: Sources;
}): OnChainService {
  const { sources, config } = deps;
  const store = deps.cache.namespace<OnChainMetric[]>('onchain', config.cache.ttl.onchain);
  const chainList = deps.cache.namespace<ChainTvl[]>('chain-tvls', config.cache.ttl.metadata);

  /** DefiLlama's chain list (current TVL per chain, gecko ids), fetched once and shared. */
  async function llamaChains(): Promise<ChainTvl[]> {
    const list = await getOne(
      chainList,
      'defillama',
      () => sources.defillama.chains(),
      () => new Error('no DefiLlama chain list'),
    );
    return list.value;
  }

  function tvlGroup(chain: string): Group {
    return {
      name: `tvl:${chain}`,
      provider: 'defillama',
      kinds: ['TVL'],
      fetch: async () => {
        if (chain === 'all') {
          const metric = await sources.defillama.chainTvlMetric();
          return metric ? [metric] : [];
        }
        // The shared chain list only names the chain; value and asOf come from its history's latest
        // point, one answer, so the value is never paired with another call's date.
        const row = (await llamaChains()).find((c) => c.chain === chain || c.name.toLowerCase() === chain);
        if (!row) return [];
        const metric = chainTvlOf(row.chain, await sources.defillama.chainTvlHistory(row.name));
        return metric ? [metric] : [];
      },
    };
  }

  function groupsFor(chain: string): Group[] {
    const groups: Group[] = [];
    if (chain === 'bitcoin') {
      const m = sources.mempool;
      groups.push(
        { name: 'fees', provider: 'mempool', kinds: FEES, fetch: () => m.fees() },
        {
          name: 'hashrate',
          provider: 'mempool',
          kinds: ['HASHRATE', 'DIFFICULTY'],
          fetch: async () => {
            const h = await m.hashrate('1m');
            return [h.hashrate, h.difficulty];
          },
        },
        {
          name: 'height',
          provider: 'mempool',
          kinds: ['BLOCK_HEIGHT'],
          fetch: async () => [await m.tipHeight()],
        },
        {
          name: 'mempool',
          provider: 'mempool',
          kinds: MEMPOOL,
          fetch: async () => (await m.mempool()).metrics,
        },
        {
          name: 'difficulty-adjustment',
          provider: 'mempool',
          kinds: ['NEXT_DIFFICULTY_ADJUSTMENT'],
          fetch: async () => [(await m.difficultyAdjustment()).metric],
        },
      );
    }
    if (chain === 'ethereum' && config.providers.etherscan.enabled) {
      groups.push({
        name: 'gas',
        provider: 'etherscan',
        kinds: GAS,
        fetch: () => sources.etherscan.gasOracle(1),
      });
    }
    if (chain === 'all') {
      groups.push({
        name: 'stablecoins',
        provider: 'defillama',
        kinds: ['STABLECOIN_SUPPLY'],
        fetch: async () => {
          const metric = await sources.defillama.stablecoinSupplyMetric();
          return metric ? [metric] : [];
        },
      });
    }
    groups.push(tvlGroup(chain));
    return groups.filter((g) => config.providers[g.provider].enabled);
  }

  /**
   * Refuses a chain no group can serve: not one of ours and not in DefiLlama's chain list. When the
   * list cannot be read the chain is not refused (an outage is never NOT_FOUND): its TVL group fails.
   */
  async function checkChain(chain: string): Promise<void> {
    if (OUR_CHAINS.includes(chain)) return;
    let listed: ChainTvl[] = [];
    if (config.providers.defillama.enabled) {
      try {
        listed = await llamaChains();
      } catch {
        return;
      }
      if (listed.some((c) => c.chain === chain || c.name.toLowerCase() === chain)) return;
    }
    const knownChains = [...new Set([...OUR_CHAINS, ...listed.map((c) => c.chain)])].sort();
    throw notFound('chain', chain, { chain, knownChains });
  }

  async function run(chain: string, kinds?: readonly string[]): Promise<Array<OnChainMetric | Error>> {
    await checkChain(chain);
    const wanted = kinds ? new Set(kinds.map((k) => k.toUpperCase())) : undefined;
    const groups = groupsFor(chain).filter((g) => !wanted || g.kinds.some((k) => wanted.has(k)));
    const results = await store.getMany(
      groups.map((g) => `${chain}:${g.name}`),
      async (keys) => {
        const out = new Map<string, OnChainMetric[] | Error>();
        await Promise.all(
          keys.map(async (key) => {
            const group = groups.find((g) => `${chain}:${g.name}` === key)!;
            try {
              out.set(key, await group.fetch());
            } catch (error) {
              out.set(key, error instanceof Error ? error : new Error(String(error)));
            }
          }),
        );
        return out;
      },
      (key) => new Error(`no on-chain data for ${key}`),
    );
    return results.flatMap((result, i): Array<OnChainMetric | Error> => {
      const group = groups[i]!;
      if (result instanceof Error) {
        const error = toClientError(result);
        return group.kinds.filter((k) => !wanted || wanted.has(k)).map(() => error);
      }
      return result.value.filter((m) => !wanted || wanted.has(m.kind)).map((m) => servedAs(m, result));
    });
  }

  /** CoinGecko id → chain slug, from DefiLlama's own chain list (gecko_id). */
  async function chainOfAsset(assetId: string): Promise<string | undefined> {
    if (assetId === 'bitcoin' || assetId === 'ethereum') return assetId;
    return (await llamaChains()).find((c) => c.geckoId === assetId)?.chain;
  }

  return {
    // Chain names are case-insensitive here; DefiLlama's own ('Ethereum', 'BSC') are matched by its source.
    forChain: (chain, kinds) => run(chain.trim().toLowerCase(), kinds),
    async forAsset(assetId, kinds) {
      let chain: string | undefined;
      try {
        chain = await chainOfAsset(assetId);
      } catch (error) {
        // The chain list could not be read: say so (a null entry with its code), never an empty list.
        return [toClientError(error)];
      }
      return chain ? run(chain, kinds) : [];
    },
    async forProtocol(slug) {
      const result = await getOne(
        store,
        `protocol:${slug}`,
        async () => {
          const metric = await sources.defillama.protocolTvlMetric(slug);
          return metric ? [metric] : [];
        },
        () => new Error(`no TVL for protocol ${slug}`),
      ).catch((error) => Promise.reject(toClientError(error)));
      const metric = result.value[0];
      return metric ? servedAs(metric, result) : null;
    },
  };
}

/** A cached metric as served: stale when the cache served its group past the TTL. */
function servedAs(metric: OnChainMetric, cached: Cached<unknown>): OnChainMetric {
  return cached.stale ? { ...metric, stale: true } : metric;
}
