import type { DialectFactory, Route, SandboxRequest, SandboxResponse } from '../../dialect.js';
import type { CatalogueAsset } from '../../market/catalogue.js';
import { hashText, layeredNoise } from '../../market/noise.js';
import {
  LLAMA_CHAINS,
  LLAMA_PROTOCOLS,
  type LlamaProtocolRef,
  PLATFORMS,
  STABLECOIN_META,
  tokenDecimals,
} from './reference.js';

// DefiLlama's free API (shared/reference/upstream-apis.md §4), every path under one host as the free
// OpenAPI lists them. Dialect facts kept here: TVL and prices are JSON numbers, times are unix seconds
// (`stablecoincharts` sends `date` as a string), /prices/current omits unknown coins instead of
// nulling them, `symbol` is '-' for protocols without a token, and optional protocol fields
// (parentProtocol, staking, pool2, github, hallmarks) appear only on some protocols. Values are smooth
// functions of time: a chain's or protocol's TVL follows the price of its main asset (TVL ∝ price^β)
// times a few percent of noise; stablecoin supply drifts up ~8 %/year. Undocumented choices:
// - Unknown chain (/v2/historicalChainTvl/{chain}, /stablecoincharts/{chain}), protocol or stablecoin
//   answers 400 text/plain naming it; unknown paths 404 text/plain "Not Found"; 5xx text/plain.
// - The 429 body is not documented: text/plain "Too Many Requests" with Retry-After in seconds.
// - Quota: the ~500 requests/minute soft limit, enforced as a hard one.
// - Histories hold daily points (00:00 UTC) over the last two years (or since listing); /protocol/{slug}
//   appends the current hour as its last point, like the live API's latest update.
// - /prices/current ignores `searchWidth`; prices are observed on the minute, `confidence` is 0.99,
//   contract addresses match case-insensitively on EVM chains; the answer echoes the requested key.
// - /protocol/{slug} omits tokensInUsd/tokens breakdowns, raises and metrics are empty.

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const YEAR_MS = 365.25 * DAY_MS;
const HISTORY_DAYS = 730;
const CHAIN_TVL_BETA = 0.8;
const STABLE_SUPPLY_REF = Date.UTC(2025, 6, 1);
const STABLE_GROWTH_PER_YEAR = 0.08;

interface ChainRecord {
  name: string;
  geckoId: string | null;
  tokenSymbol: string | null;
  cmcId: string | null;
  chainId: number | null;
  tvl: number;
  /** Catalogue asset whose price moves this chain's TVL. */
  driver: string | null;
}

interface StableRecord {
  asset: CatalogueAsset;
  id: string;
  pegMechanism: string;
  /** DefiLlama chain name → share of supply, largest first. */
  shares: Array<[string, number]>;
}

export const createDefiLlamaDialect: DialectFactory = ({ market }) => {
  let chainCache: ChainRecord[] | undefined;
  let stableCache: StableRecord[] | undefined;

  function priceFactor(assetId: string | null, t: number): number {
    const asset = assetId ? market.byId(assetId) : undefined;
    return asset ? market.priceUsd(asset.id, t) / asset.priceUsd : 1;
  }

  /** The reference chains plus any catalogue asset that names a chain DefiLlama would list. */
  function chains(): ChainRecord[] {
    if (chainCache) return chainCache;
    const records: ChainRecord[] = LLAMA_CHAINS.map((ref) => {
      const native = market.assets.find((a) => a.llamaChain === ref.name);
      const geckoId = native?.id ?? ref.geckoId;
      return { ...ref, geckoId, driver: geckoId && market.byId(geckoId) ? geckoId : null };
    });
    for (const asset of market.assets) {
      if (!asset.llamaChain || records.some((r) => r.name === asset.llamaChain)) continue;
      records.push({
        name: asset.llamaChain,
        geckoId: asset.id,
        tokenSymbol: asset.symbol,
        cmcId: null,
        chainId: null,
        tvl: 0.01 * asset.circulatingSupply * asset.priceUsd,
        driver: asset.id,
      });
    }
    chainCache = records;
    return records;
  }

  function findChain(name: string): ChainRecord | undefined {
    return chains().find((c) => c.name.toLowerCase() === name.toLowerCase());
  }

  function chainTvl(chain: ChainRecord, t: number): number {
    const noise = layeredNoise(hashText(`chain:${chain.name}`), t, [7 * DAY_MS, 45 * DAY_MS], [0.03, 0.1]);
    return chain.tvl * priceFactor(chain.driver, t) ** CHAIN_TVL_BETA * Math.exp(noise);
  }

  /** Per-chain TVL of a protocol at t, plus the `<Chain>-staking`/`staking` (and pool2) keys. */
  function protocolBreakdown(
    protocol: LlamaProtocolRef,
    t: number,
  ): { tvl: number; chainTvls: Record<string, number> } {
    const factor = priceFactor(protocol.exposure, t) ** protocol.beta;
    const chainTvls: Record<string, number> = {};
    let tvl = 0;
    for (const [chain, share] of Object.entries(protocol.chains)) {
      const noise = layeredNoise(
        hashText(`${protocol.slug}:${chain}`),
        t,
        [5 * DAY_MS, 40 * DAY_MS],
        [0.03, 0.1],
      );
      const value = protocol.tvl * share * factor * Math.exp(noise);
      chainTvls[chain] = value;
      tvl += value;
    }
    const home = Object.keys(protocol.chains)[0]!;
    for (const extra of ['staking', 'pool2'] as const) {
      const fraction = protocol[extra];
      if (fraction === undefined) continue;
      chainTvls[`${home}-${extra}`] = tvl * fraction;
      chainTvls[extra] = tvl * fraction;
    }
    return { tvl, chainTvls };
  }

  function protocolMcap(protocol: LlamaProtocolRef, t: number): number | null {
    const token = protocol.geckoId ? market.byId(protocol.geckoId) : undefined;
    if (token) return token.circulatingSupply * market.priceUsd(token.id, t);
    if (protocol.mcap === undefined) return null;
    return (
      protocol.mcap *
      Math.exp(layeredNoise(hashText(`mcap:${protocol.slug}`), t, [3 * DAY_MS, 30 * DAY_MS], [0.05, 0.2]))
    );
  }

  function protocolMeta(protocol: LlamaProtocolRef) {
    const chainNames = Object.keys(protocol.chains);
    return {
      id: protocol.id,
      name: protocol.name,
      address: null,
      symbol: protocol.symbol,
      url: `https://defillama.com/protocol/${protocol.slug}`,
      logo: `https://icons.llama.fi/${protocol.slug}.png`,
      chain: chainNames.length > 1 ? 'Multi-Chain' : chainNames[0],
      audits: '2',
      gecko_id: protocol.geckoId,
      cmcId: protocol.cmcId,
      category: protocol.category,
      chains: chainNames,
      module: `${protocol.slug}/index.js`,
      forkedFrom: [],
      oracles: [],
      listedAt: protocol.listedAt,
      ...(protocol.parentProtocol ? { parentProtocol: protocol.parentProtocol } : {}),
      ...(protocol.github ? { github: protocol.github } : {}),
      ...(protocol.hallmarks ? { hallmarks: protocol.hallmarks } : {}),
    };
  }

  function stablecoins(): StableRecord[] {
    if (stableCache) return stableCache;
    const pegged = market.assets.filter((a) => a.volatility <= 0.002 && Math.abs(a.priceUsd - 1) <= 0.05);
    stableCache = pegged.map((asset, i) => {
      const names = Object.keys(asset.contracts)
        .map((platform) => PLATFORMS[platform]?.name)
        .filter((name): name is string => name !== undefined);
      const unique = [...new Set(names.length > 0 ? names : ['Ethereum'])];
      const weights = unique.map(
        (name, k) => 0.5 ** k * (0.6 + 0.8 * ((hashText(`${asset.id}@${name}`) % 1000) / 1000)),
      );
      const total = weights.reduce((a, b) => a + b, 0);
      const shares = unique
        .map((name, k): [string, number] => [name, weights[k]! / total])
        .sort((a, b) => b[1] - a[1]);
      const meta = STABLECOIN_META[asset.id];
      return {
        asset,
        id: meta?.id ?? String(1000 + i),
        pegMechanism: meta?.pegMechanism ?? 'fiat-backed',
        shares,
      };
    });
    return stableCache;
  }

  function stableSupply(stable: StableRecord, t: number): number {
    const trend = (STABLE_GROWTH_PER_YEAR * (t - STABLE_SUPPLY_REF)) / YEAR_MS;
    const noise = layeredNoise(
      hashText(`supply:${stable.asset.id}`),
      t,
      [20 * DAY_MS, 120 * DAY_MS],
      [0.01, 0.04],
    );
    return stable.asset.circulatingSupply * Math.exp(trend + noise);
  }

  // --- handlers ---

  function chainsList(): SandboxResponse {
    const t = market.now();
    return {
      json: chains().map((c) => ({
        gecko_id: c.geckoId,
        tvl: chainTvl(c, t),
        tokenSymbol: c.tokenSymbol,
        cmcId: c.cmcId,
        name: c.name,
        chainId: c.chainId,
      })),
    };
  }

  function historicalChainTvl(request: SandboxRequest): SandboxResponse {
    const name = request.params.chain;
    const selected = name === undefined ? chains() : [findChain(name)].filter((c) => c !== undefined);
    if (selected.length === 0) return llamaError(400, `There is no chain with the name ${name}`);
    const points = dailyTimes(market.now(), HISTORY_DAYS).map((t) => ({
      date: t / 1000,
      tvl: selected.reduce((sum, c) => sum + chainTvl(c, t), 0),
    }));
    return { json: points };
  }

  function protocols(): SandboxResponse {
    const t = market.now();
    const change = (p: LlamaProtocolRef, ms: number, current: number) =>
      (current / protocolBreakdown(p, t - ms).tvl - 1) * 100;
    return {
      json: LLAMA_PROTOCOLS.map((p) => {
        const { tvl, chainTvls } = protocolBreakdown(p, t);
        return {
          ...protocolMeta(p),
          slug: p.slug,
          tvl,
          chainTvls,
          change_1h: change(p, HOUR_MS, tvl),
          change_1d: change(p, DAY_MS, tvl),
          change_7d: change(p, 7 * DAY_MS, tvl),
          tokenBreakdowns: {},
          mcap: protocolMcap(p, t),
          ...(p.staking !== undefined ? { staking: chainTvls.staking } : {}),
          ...(p.pool2 !== undefined ? { pool2: chainTvls.pool2 } : {}),
        };
      }),
    };
  }

  function protocol(request: SandboxRequest): SandboxResponse {
    const slug = (request.params.slug ?? '').toLowerCase();
    const p = LLAMA_PROTOCOLS.find((x) => x.slug === slug);
    if (!p) return llamaError(400, 'Protocol is not in our database');
    const now = market.now();
    const times = dailyTimes(now, HISTORY_DAYS).filter((t) => t >= p.listedAt * 1000);
    const latest = Math.floor(now / HOUR_MS) * HOUR_MS;
    if (times.length === 0 || latest > times[times.length - 1]!) times.push(latest);
    const breakdowns = times.map((t) => ({ date: t / 1000, ...protocolBreakdown(p, t) }));
    const chainTvls: Record<string, { tvl: Array<{ date: number; totalLiquidityUSD: number }> }> = {};
    for (const key of Object.keys(breakdowns[0]!.chainTvls)) {
      chainTvls[key] = {
        tvl: breakdowns.map((b) => ({ date: b.date, totalLiquidityUSD: b.chainTvls[key]! })),
      };
    }
    return {
      json: {
        ...protocolMeta(p),
        currentChainTvls: protocolBreakdown(p, now).chainTvls,
        chainTvls,
        tvl: breakdowns.map((b) => ({ date: b.date, totalLiquidityUSD: b.tvl })),
        mcap: protocolMcap(p, now),
        raises: [],
        metrics: {},
      },
    };
  }

  function tvl(request: SandboxRequest): SandboxResponse {
    const p = LLAMA_PROTOCOLS.find((x) => x.slug === (request.params.slug ?? '').toLowerCase());
    if (!p) return llamaError(400, 'Protocol is not in our database');
    return { json: protocolBreakdown(p, market.now()).tvl };
  }

  function pricesCurrent(request: SandboxRequest): SandboxResponse {
    const observed = Math.floor(market.now() / 60_000) * 60_000;
    const coins: Record<string, unknown> = {};
    for (const key of (request.params.coins ?? '').split(',').map((k) => k.trim())) {
      const match = resolveCoin(key);
      if (!match) continue;
      const price = market.priceUsd(match.asset.id, observed);
      const common = { price, symbol: match.asset.symbol, timestamp: observed / 1000, confidence: 0.99 };
      coins[key] = match.decimals === undefined ? common : { decimals: match.decimals, ...common };
    }
    return { json: { coins } };
  }

  function resolveCoin(key: string): { asset: CatalogueAsset; decimals?: number } | undefined {
    const colon = key.indexOf(':');
    if (colon <= 0) return undefined;
    const prefix = key.slice(0, colon).toLowerCase();
    const ref = key.slice(colon + 1);
    if (prefix === 'coingecko') {
      const asset = market.byId(ref);
      return asset ? { asset } : undefined;
    }
    const platform = Object.keys(PLATFORMS).find((p) => PLATFORMS[p]!.key === prefix);
    if (!platform) return undefined;
    const evm = PLATFORMS[platform]!.evm;
    const same = (address: string) => (evm ? address.toLowerCase() === ref.toLowerCase() : address === ref);
    const asset = market.assets.find((a) => {
      const address = a.contracts[platform];
      return address !== undefined && same(address);
    });
    return asset ? { asset, decimals: tokenDecimals(asset.id, platform) } : undefined;
  }

  function stablecoinsList(request: SandboxRequest): SandboxResponse {
    const t = market.now();
    const withPrices = request.url.searchParams.get('includePrices') === 'true';
    const usd = (value: number) => ({ peggedUSD: value });
    return {
      json: {
        peggedAssets: stablecoins().map((s) => {
          const at = (ms: number) => stableSupply(s, t - ms);
          const chainCirculating: Record<string, unknown> = {};
          for (const [name, share] of s.shares) {
            chainCirculating[name] = {
              current: usd(at(0) * share),
              circulatingPrevDay: usd(at(DAY_MS) * share),
              circulatingPrevWeek: usd(at(7 * DAY_MS) * share),
              circulatingPrevMonth: usd(at(30 * DAY_MS) * share),
            };
          }
          return {
            id: s.id,
            name: s.asset.name,
            symbol: s.asset.symbol,
            gecko_id: s.asset.id,
            pegType: 'peggedUSD',
            priceSource: 'defillama',
            pegMechanism: s.pegMechanism,
            circulating: usd(at(0)),
            circulatingPrevDay: usd(at(DAY_MS)),
            circulatingPrevWeek: usd(at(7 * DAY_MS)),
            circulatingPrevMonth: usd(at(30 * DAY_MS)),
            chainCirculating,
            chains: s.shares.map(([name]) => name),
            ...(withPrices ? { price: market.priceUsd(s.asset.id, t) } : {}),
          };
        }),
      },
    };
  }

  function stablecoinCharts(request: SandboxRequest): SandboxResponse {
    const chain = request.params.chain ?? 'all';
    const wanted = request.url.searchParams.get('stablecoin');
    let selected = stablecoins();
    if (wanted !== null) {
      selected = selected.filter((s) => s.id === wanted);
      if (selected.length === 0) return llamaError(400, `There is no stablecoin with id ${wanted}`);
    }
    const shareOf = (s: StableRecord) =>
      chain.toLowerCase() === 'all'
        ? 1
        : (s.shares.find(([name]) => name.toLowerCase() === chain.toLowerCase())?.[1] ?? 0);
    const known =
      chain.toLowerCase() === 'all' || stablecoins().some((s) => shareOf(s) > 0) || findChain(chain);
    if (!known) return llamaError(400, `There is no chain with the name ${chain}`);
    const points = dailyTimes(market.now(), HISTORY_DAYS).map((t) => {
      let circulating = 0;
      let usd = 0;
      for (const s of selected) {
        const supply = stableSupply(s, t) * shareOf(s);
        circulating += supply;
        usd += supply * market.priceUsd(s.asset.id, t);
      }
      return {
        date: String(t / 1000),
        totalCirculating: { peggedUSD: circulating },
        totalCirculatingUSD: { peggedUSD: usd },
      };
    });
    return { json: points };
  }

  const routes: Route[] = [
    { endpoint: 'v2/chains', path: '/v2/chains', handle: chainsList },
    { endpoint: 'v2/historicalChainTvl', path: '/v2/historicalChainTvl', handle: historicalChainTvl },
    { endpoint: 'v2/historicalChainTvl', path: '/v2/historicalChainTvl/:chain', handle: historicalChainTvl },
    { endpoint: 'protocols', path: '/protocols', handle: protocols },
    { endpoint: 'protocol', path: '/protocol/:slug', handle: protocol },
    { endpoint: 'tvl', path: '/tvl/:slug', handle: tvl },
    { endpoint: 'prices/current', path: '/prices/current/:coins', handle: pricesCurrent },
    { endpoint: 'stablecoins', path: '/stablecoins', handle: stablecoinsList },
    { endpoint: 'stablecoincharts', path: '/stablecoincharts/:chain', handle: stablecoinCharts },
  ];

  return {
    provider: 'defillama',
    basePath: '',
    routes,
    notFound: () => llamaError(404, 'Not Found'),
    rateLimited: (retryAfter) => ({
      status: 429,
      headers: { 'retry-after': String(retryAfter) },
      text: 'Too Many Requests',
      contentType: 'text/plain',
    }),
    serverError: (status) => llamaError(status, 'Internal Server Error'),
    quota: { limit: 500, windowMs: 60_000 },
  };
};

/** Midnights (UTC, ms) of the last `days` days up to and including today's. */
function dailyTimes(now: number, days: number): number[] {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  return Array.from({ length: days + 1 }, (_, i) => today - (days - i) * DAY_MS);
}

function llamaError(status: number, message: string): SandboxResponse {
  return { status, text: message, contentType: 'text/plain' };
}
