import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDefiLlamaDialect } from '../../src/sandbox/providers/defillama/dialect.js';
import type { Sandbox } from '../../src/sandbox/server.js';
import { DAY, MINUTE, T } from '../helpers/clock.js';
import {
  fetchReplies,
  fetchReply,
  startProviderSandbox,
  withProviderSandbox,
} from '../helpers/sandbox-http.js';

// The DefiLlama dialect over real loopback HTTP on a pinned clock: shapes and types as DefiLlama sends
// them (unix seconds, string dates in stablecoin charts, omitted unknown coins), and internal
// consistency (per-chain TVL sums to the total, histories end where the current values are).

const TODAY_S = Math.floor(T / DAY) * 86_400;
const NON_TVL_KEY = /^(?:.+-)?(?:staking|pool2)$/;

let sandbox: Sandbox;
let base: string;

const get = (path: string) => fetchReply(`${base}${path}`);

beforeAll(async () => {
  ({ sandbox, base } = await startProviderSandbox('defillama', { quotas: false, now: () => T }));
});

afterAll(async () => {
  await sandbox?.close();
});

describe('defillama dialect: chains', () => {
  it('serves the base URL at the root, as api.llama.fi does', () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('lists real chains with gecko ids matching the catalogue', async () => {
    const { status, body } = await get('/v2/chains');
    expect(status).toBe(200);
    expect(body.length).toBeGreaterThanOrEqual(15);
    const names = body.map((c: { name: string }) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of [
      'Ethereum',
      'Tron',
      'BSC',
      'Solana',
      'Arbitrum',
      'Base',
      'Bitcoin',
      'Avalanche',
      'Polygon',
      'Optimism',
      'Sui',
      'Aptos',
      'Near',
      'Cardano',
    ]) {
      expect(names).toContain(name);
    }
    for (const chain of body) {
      expect(Object.keys(chain).sort()).toEqual([
        'chainId',
        'cmcId',
        'gecko_id',
        'name',
        'tokenSymbol',
        'tvl',
      ]);
      expect(chain.tvl).toBeGreaterThan(0);
      expect(chain.gecko_id === null || typeof chain.gecko_id === 'string').toBe(true);
      expect(chain.chainId === null || Number.isInteger(chain.chainId)).toBe(true);
    }
    for (const asset of sandbox.market.assets.filter((a) => a.llamaChain)) {
      expect(body.find((c: { name: string }) => c.name === asset.llamaChain)?.gecko_id).toBe(asset.id);
    }
    const ethereum = body.find((c: { name: string }) => c.name === 'Ethereum');
    expect(ethereum).toMatchObject({ gecko_id: 'ethereum', tokenSymbol: 'ETH', cmcId: '1027', chainId: 1 });
    expect(body.find((c: { name: string }) => c.name === 'Base')).toMatchObject({
      gecko_id: null,
      tokenSymbol: null,
      chainId: 8453,
    });
  });

  it('serves two years of daily chain TVL in unix seconds, ending today', async () => {
    const { status, body } = await get('/v2/historicalChainTvl/Ethereum');
    expect(status).toBe(200);
    expect(body.length).toBe(731);
    expect(body.at(-1).date).toBe(TODAY_S);
    for (let i = 0; i < body.length; i++) {
      expect(Object.keys(body[i]).sort()).toEqual(['date', 'tvl']);
      expect(Number.isInteger(body[i].date)).toBe(true);
      if (i > 0) {
        expect(body[i].date - body[i - 1].date).toBe(86_400);
        const ratio = body[i].tvl / body[i - 1].tvl;
        expect(ratio).toBeGreaterThan(0.75);
        expect(ratio).toBeLessThan(1.33);
      }
    }
    const chains = (await get('/v2/chains')).body;
    const current = chains.find((c: { name: string }) => c.name === 'Ethereum').tvl;
    expect(current / body.at(-1).tvl).toBeGreaterThan(0.8);
    expect(current / body.at(-1).tvl).toBeLessThan(1.25);
  });

  it('matches chain names case-insensitively and sums all chains without one', async () => {
    const lower = await get('/v2/historicalChainTvl/ethereum');
    const upper = await get('/v2/historicalChainTvl/Ethereum');
    expect(lower.body).toEqual(upper.body);
    const total = await get('/v2/historicalChainTvl');
    expect(total.body.length).toBe(upper.body.length);
    for (let i = 0; i < total.body.length; i += 50) {
      expect(total.body[i].date).toBe(upper.body[i].date);
      expect(total.body[i].tvl).toBeGreaterThan(upper.body[i].tvl);
    }
  });

  it('refuses an unknown chain with a 400 text body', async () => {
    const { status, headers, text } = await get('/v2/historicalChainTvl/Atlantis');
    expect(status).toBe(400);
    expect(headers.get('content-type')).toMatch(/^text\/plain/);
    expect(text).toContain('Atlantis');
  });
});

describe('defillama dialect: protocols', () => {
  it('lists ~30 real protocols whose chain TVLs add up to their TVL', async () => {
    const { status, body } = await get('/protocols');
    expect(status).toBe(200);
    expect(body.length).toBeGreaterThanOrEqual(30);
    const slugs = body.map((p: { slug: string }) => p.slug);
    for (const slug of ['lido', 'aave-v3', 'eigenlayer', 'uniswap-v3', 'makerdao'])
      expect(slugs).toContain(slug);
    for (const p of body) {
      expect(typeof p.id).toBe('string');
      expect(p.id).toMatch(/^\d+$/);
      for (const key of ['name', 'symbol', 'slug', 'category']) expect(typeof p[key]).toBe('string');
      expect(Array.isArray(p.chains)).toBe(true);
      for (const key of ['tvl', 'change_1h', 'change_1d', 'change_7d'])
        expect(Number.isFinite(p[key])).toBe(true);
      expect(p.mcap === null || p.mcap > 0).toBe(true);
      expect(p.gecko_id === null || typeof p.gecko_id === 'string').toBe(true);
      const tvlKeys = Object.keys(p.chainTvls).filter((k) => !NON_TVL_KEY.test(k));
      expect(tvlKeys.sort()).toEqual([...p.chains].sort());
      const sum = tvlKeys.reduce((s: number, k: string) => s + p.chainTvls[k], 0);
      expect(sum).toBeCloseTo(p.tvl, 0);
      if (p.staking !== undefined) {
        expect(p.chainTvls.staking).toBe(p.staking);
        expect(p.chainTvls[`${p.chains[0]}-staking`]).toBe(p.staking);
      }
    }
  });

  it('carries optional fields on some protocols only', async () => {
    const { body } = await get('/protocols');
    for (const key of ['parentProtocol', 'staking', 'hallmarks', 'github', 'pool2']) {
      const having = body.filter((p: Record<string, unknown>) => key in p).length;
      expect(having, key).toBeGreaterThan(0);
      expect(having, key).toBeLessThan(body.length);
    }
    expect(body.some((p: { symbol: string }) => p.symbol === '-')).toBe(true);
    const lido = body.find((p: { slug: string }) => p.slug === 'lido');
    expect(lido).toMatchObject({
      name: 'Lido',
      symbol: 'LDO',
      category: 'Liquid Staking',
      gecko_id: 'lido-dao',
    });
  });

  it('serves one protocol with daily TVL history per chain, ending at the current hour', async () => {
    const { status, body } = await get('/protocol/aave-v3');
    expect(status).toBe(200);
    expect(body).toMatchObject({ name: 'Aave V3', symbol: 'AAVE', category: 'Lending' });
    const tvl = body.tvl as Array<{ date: number; totalLiquidityUSD: number }>;
    expect(tvl.length).toBeGreaterThan(300);
    expect(tvl.at(-1)!.date).toBe(Math.floor(T / 3_600_000) * 3_600);
    expect(tvl.at(-2)!.date).toBe(TODAY_S);
    for (const point of tvl.slice(0, -1)) expect(point.date % 86_400).toBe(0);
    expect(Object.keys(body.chainTvls).sort()).toEqual([...body.chains].sort());
    for (let i = 0; i < tvl.length; i += 37) {
      const sum = body.chains.reduce(
        (s: number, c: string) => s + body.chainTvls[c].tvl[i].totalLiquidityUSD,
        0,
      );
      expect(body.chainTvls.Ethereum.tvl[i].date).toBe(tvl[i]!.date);
      expect(sum).toBeCloseTo(tvl[i]!.totalLiquidityUSD, 0);
    }
    const listed = (await get('/protocols')).body.find((p: { slug: string }) => p.slug === 'aave-v3');
    expect(body.currentChainTvls).toEqual(listed.chainTvls);
    expect((await get('/tvl/aave-v3')).body).toBeCloseTo(listed.tvl, 0);
  });

  it('refuses an unknown protocol with a 400 text body', async () => {
    const { status, headers, text } = await get('/protocol/no-such-protocol');
    expect(status).toBe(400);
    expect(headers.get('content-type')).toMatch(/^text\/plain/);
    expect(text).toBe('Protocol is not in our database');
  });
});

describe('defillama dialect: prices', () => {
  const observed = Math.floor(T / MINUTE) * MINUTE;

  it('prices coingecko: keys and contracts, omitting unknown coins', async () => {
    const tether = sandbox.market.byId('tether')!;
    const mixedCase = tether.contracts.ethereum!.toUpperCase().replace(/^0X/, '0x');
    const keys = [
      'coingecko:bitcoin',
      `ethereum:${mixedCase}`,
      'coingecko:no-such-coin',
      'ethereum:0xdeadbeef',
      'nochain:0x1',
    ];
    const { status, body } = await get(`/prices/current/${keys.join(',')}?searchWidth=4h`);
    expect(status).toBe(200);
    expect(Object.keys(body.coins).sort()).toEqual([`ethereum:${mixedCase}`, 'coingecko:bitcoin'].sort());
    expect(body.coins['coingecko:bitcoin']).toEqual({
      price: sandbox.market.priceUsd('bitcoin', observed),
      symbol: 'BTC',
      timestamp: observed / 1000,
      confidence: 0.99,
    });
    expect(body.coins[`ethereum:${mixedCase}`]).toEqual({
      decimals: 6,
      price: sandbox.market.priceUsd('tether', observed),
      symbol: 'USDT',
      timestamp: observed / 1000,
      confidence: 0.99,
    });
  });

  it('maps CoinGecko platforms to DefiLlama chain prefixes, with case-sensitive non-EVM addresses', async () => {
    const withBsc = sandbox.market.assets.find((a) => a.contracts['binance-smart-chain']);
    const withSolana = sandbox.market.assets.find((a) => a.contracts.solana);
    const keys = [
      ...(withBsc ? [`bsc:${withBsc.contracts['binance-smart-chain']}`] : []),
      ...(withSolana
        ? [`solana:${withSolana.contracts.solana}`, `solana:${withSolana.contracts.solana!.toLowerCase()}`]
        : []),
    ];
    expect(keys.length).toBeGreaterThan(0);
    const { body } = await get(`/prices/current/${encodeURIComponent(keys.join(','))}`);
    if (withBsc) expect(body.coins[keys[0]!]).toMatchObject({ decimals: 18, symbol: withBsc.symbol });
    if (withSolana) {
      expect(body.coins[`solana:${withSolana.contracts.solana}`]).toMatchObject({
        symbol: withSolana.symbol,
      });
      expect(body.coins[`solana:${withSolana.contracts.solana!.toLowerCase()}`]).toBeUndefined();
    }
  });

  it('answers an empty coins object when nothing is known', async () => {
    const { status, body } = await get('/prices/current/coingecko:nothing,ethereum:0x0');
    expect(status).toBe(200);
    expect(body).toEqual({ coins: {} });
  });
});

describe('defillama dialect: stablecoins', () => {
  const stables = () =>
    sandbox.market.assets
      .filter((a) => a.volatility <= 0.002 && Math.abs(a.priceUsd - 1) <= 0.05)
      .map((a) => a.id);

  it('lists the catalogue stablecoins with circulating supply per chain', async () => {
    const { status, body } = await get('/stablecoins?includePrices=true');
    expect(status).toBe(200);
    const assets = body.peggedAssets;
    expect(assets.map((a: { gecko_id: string }) => a.gecko_id).sort()).toEqual(stables().sort());
    expect(assets.find((a: { gecko_id: string }) => a.gecko_id === 'tether')).toMatchObject({
      id: '1',
      symbol: 'USDT',
    });
    for (const a of assets) {
      expect(a.id).toMatch(/^\d+$/);
      expect(a.pegType).toBe('peggedUSD');
      expect(typeof a.pegMechanism).toBe('string');
      expect(a.circulating.peggedUSD).toBeGreaterThan(0);
      for (const key of ['circulatingPrevDay', 'circulatingPrevWeek', 'circulatingPrevMonth']) {
        expect(a[key].peggedUSD).toBeGreaterThan(0);
      }
      expect(Object.keys(a.chainCirculating).sort()).toEqual([...a.chains].sort());
      const sum = a.chains.reduce((s: number, c: string) => s + a.chainCirculating[c].current.peggedUSD, 0);
      expect(sum / a.circulating.peggedUSD).toBeCloseTo(1, 9);
      expect(a.price).toBeCloseTo(1, 1);
    }
    const plain = await get('/stablecoins');
    expect(plain.body.peggedAssets.every((a: object) => !('price' in a))).toBe(true);
  });

  it('charts total supply daily with the date as a string of unix seconds', async () => {
    const { status, body } = await get('/stablecoincharts/all');
    expect(status).toBe(200);
    expect(body.length).toBe(731);
    for (const point of body) {
      expect(typeof point.date).toBe('string');
      expect(point.date).toMatch(/^\d+$/);
      expect(Number(point.date) % 86_400).toBe(0);
      expect(point.totalCirculating.peggedUSD).toBeGreaterThan(0);
      expect(point.totalCirculatingUSD.peggedUSD / point.totalCirculating.peggedUSD).toBeCloseTo(1, 1);
    }
    expect(Number(body.at(-1).date)).toBe(TODAY_S);
    const tether = await get('/stablecoincharts/all?stablecoin=1');
    expect(tether.body.at(-1).totalCirculating.peggedUSD).toBeLessThan(
      body.at(-1).totalCirculating.peggedUSD,
    );
    const tron = await get('/stablecoincharts/Tron');
    expect(tron.body.at(-1).totalCirculating.peggedUSD).toBeLessThan(body.at(-1).totalCirculating.peggedUSD);
    expect((await get('/stablecoincharts/all?stablecoin=999999')).status).toBe(400);
  });
});

describe('defillama dialect: errors and quota', () => {
  it('answers unknown paths with 404 text', async () => {
    const { status, headers, text } = await get('/no/such/path');
    expect(status).toBe(404);
    expect(headers.get('content-type')).toMatch(/^text\/plain/);
    expect(text).toBe('Not Found');
  });

  it('has the ~500 requests/minute soft limit as its quota', () => {
    expect(createDefiLlamaDialect({ market: sandbox.market, tickMs: 1000 }).quota).toEqual({
      limit: 500,
      windowMs: 60_000,
    });
  });

  it('answers 429 text/plain with Retry-After once the quota is spent', async () => {
    const quotas = { defillama: { limit: 2, windowMs: 60_000 } };
    const replies = await withProviderSandbox('defillama', { quotas, now: () => T }, ({ base: url }) =>
      fetchReplies(`${url}/v2/chains`, 3),
    );
    expect(replies.map((r) => r.status)).toEqual([200, 200, 429]);
    const last = replies[2]!;
    expect(last.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(last.text).toBe('Too Many Requests');
  });
});
