import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamError } from '../../src/errors.js';
import type { Http } from '../../src/http/client.js';
import type { Sandbox } from '../../src/sandbox/server.js';
import {
  canonicalChain,
  createDefiLlamaSource,
  llamaCoinKeyForAsset,
  llamaCoinKeyForContract,
} from '../../src/sources/defillama.js';
import { DAY, T } from '../helpers/clock.js';
import {
  createFetchHttp,
  createLiteralHttp,
  providerConfig,
  type RecordingFetchHttp,
} from '../helpers/fetch-http.js';
import { startProviderSandbox } from '../helpers/sandbox-http.js';
import { buildConfig, makeHttp } from '../http/helpers.js';

// The DefiLlama source against the sandbox dialect (over real loopback HTTP) and against literal bodies
// in DefiLlama's documented shapes, quirks included: unix seconds, string dates in stablecoin charts,
// unknown coins omitted, '-' for "no token", staking buckets mixed into chainTvls. The Http doubles
// (test/helpers/fetch-http.ts) are minimal: fetch, the call's schema, and 4xx as an UpstreamError
// carrying the status (as src/http/client.ts classifies it); retries and quotas are tested with src/http/client.ts.

const TODAY = Math.floor(T / DAY) * DAY;

describe('defillama source over the sandbox dialect', () => {
  let sandbox: Sandbox;
  let http: RecordingFetchHttp;
  let source: ReturnType<typeof createDefiLlamaSource>;

  beforeAll(async () => {
    let base: string;
    ({ sandbox, base } = await startProviderSandbox('defillama', { quotas: false, now: () => T }));
    const config = providerConfig('defillama', base);
    http = createFetchHttp(config);
    source = createDefiLlamaSource({ http, config });
  });

  afterAll(async () => {
    await sandbox?.close();
  });

  it('lists chains with canonical slugs next to DefiLlama names', async () => {
    const chains = await source.chains();
    expect(chains.find((c) => c.name === 'BSC')).toMatchObject({
      chain: 'binance-smart-chain',
      evmChainId: 56,
      symbol: 'BNB',
    });
    expect(chains.find((c) => c.name === 'Arbitrum')).toMatchObject({
      chain: 'arbitrum-one',
      evmChainId: 42161,
    });
    expect(chains.find((c) => c.name === 'Bitcoin')).toMatchObject({
      chain: 'bitcoin',
      geckoId: 'bitcoin',
      evmChainId: null,
    });
    for (const chain of chains) expect(chain.tvlUsd).toBeGreaterThan(0);
  });

  it('reads chain TVL history by either chain name form, as Dates at 00:00 UTC', async () => {
    const byLlama = await source.chainTvlHistory('Arbitrum');
    const bySlug = await source.chainTvlHistory('arbitrum-one');
    expect(bySlug).toEqual(byLlama);
    expect(byLlama!.length).toBe(731);
    expect(byLlama!.at(-1)!.at.getTime()).toBe(TODAY);
    for (const point of byLlama!) expect(point.at.getTime() % DAY).toBe(0);
    const total = await source.chainTvlHistory();
    expect(total!.at(-1)!.value).toBeGreaterThan(byLlama!.at(-1)!.value);
    expect(await source.chainTvlHistory('Atlantis')).toBeNull();
  });

  it('maps protocols, keeping staking buckets out of chain TVLs and "-" symbols as null', async () => {
    const protocols = await source.protocols();
    expect(protocols.length).toBeGreaterThanOrEqual(30);
    const curve = protocols.find((p) => p.slug === 'curve-dex')!;
    expect(Object.keys(curve.chainTvls).some((k) => /staking/.test(k))).toBe(false);
    const sum = Object.values(curve.chainTvls).reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(curve.tvlUsd!, 0);
    expect(curve).toMatchObject({
      symbol: 'CRV',
      category: 'Dexs',
      geckoId: 'curve-dao-token',
      parentId: 'parent#curve-finance',
    });
    expect(protocols.find((p) => p.slug === 'sparklend')!.symbol).toBeNull();
    for (const p of protocols) {
      expect(Number.isFinite(p.change1d)).toBe(true);
    }
  });

  it('reads one protocol with its TVL history; an unknown slug is null', async () => {
    const lido = await source.protocol('lido');
    expect(lido).not.toBeNull();
    expect(lido!.tvlHistory.length).toBeGreaterThan(700);
    expect(lido!.tvlHistory.at(-1)!.at.getTime()).toBe(Math.floor(T / 3_600_000) * 3_600_000);
    expect(lido!.tvlUsd).toBe(lido!.tvlHistory.at(-1)!.value);
    expect(Object.keys(lido!.chainTvlHistory).sort()).toEqual(['Ethereum', 'Solana']);
    expect(lido!.chainTvlHistory.Ethereum!.length).toBe(lido!.tvlHistory.length);
    expect(await source.protocol('no-such-protocol')).toBeNull();
  });

  it('prices coin keys in chunks of 100, leaving unknown keys out', async () => {
    expect(source.maxCoinsPerCall).toBe(100);
    const tether = sandbox.market.byId('tether')!;
    const unknown = Array.from({ length: 120 }, (_, i) => `coingecko:unknown-${i}`);
    const contractKey = llamaCoinKeyForContract({ chain: 'ethereum', address: tether.contracts.ethereum! })!;
    const keys = [
      llamaCoinKeyForAsset('bitcoin'),
      contractKey,
      ...unknown,
      'coingecko:bitcoin',
      'bad key/with slash',
    ];
    sandbox.resetCounts();
    const prices = await source.currentPrices(keys);
    expect(sandbox.count('defillama', 'prices/current')).toBe(2);
    expect([...prices.keys()].sort()).toEqual(['coingecko:bitcoin', contractKey].sort());
    const observed = Math.floor(T / 60_000) * 60_000;
    expect(prices.get('coingecko:bitcoin')).toEqual({
      price: sandbox.market.priceUsd('bitcoin', observed),
      asOf: new Date(observed),
      confidence: 0.99,
      symbol: 'BTC',
      decimals: null,
    });
    expect(prices.get(contractKey)).toMatchObject({ decimals: 6, symbol: 'USDT' });
    sandbox.resetCounts();
    expect((await source.currentPrices([])).size).toBe(0);
    expect(sandbox.count('defillama')).toBe(0);
  });

  it('lists stablecoins with circulating USD and price', async () => {
    const stables = await source.stablecoins();
    expect(http.calls.at(-1)!.query).toMatchObject({ includePrices: 'true' });
    const tether = stables.find((s) => s.geckoId === 'tether')!;
    expect(tether).toMatchObject({ id: '1', symbol: 'USDT', pegType: 'peggedUSD' });
    expect(tether.circulatingUsd).toBeGreaterThan(1e10);
    expect(tether.price).toBeCloseTo(1, 1);
    expect(tether.chains).toContain('Ethereum');
  });

  it('builds OnChainMetrics: chain TVL, protocol TVL and stablecoin supply', async () => {
    sandbox.resetCounts();
    const eth = await source.chainTvlMetric('ethereum');
    expect(sandbox.count('defillama')).toBe(2);
    const ethHistory = await source.chainTvlHistory('Ethereum');
    // Value and asOf are one point of one answer: the history's latest (v2/chains' tvl has no time).
    expect(eth).toMatchObject({
      chain: 'ethereum',
      kind: 'TVL',
      unit: 'USD',
      source: 'defillama',
      stale: false,
      asOf: new Date(TODAY),
      value: ethHistory!.at(-1)!.value,
    });
    expect(eth!.history!.length).toBe(731);
    sandbox.resetCounts();
    const all = await source.chainTvlMetric();
    expect(sandbox.count('defillama')).toBe(1);
    const allHistory = await source.chainTvlHistory();
    expect(all).toMatchObject({ chain: 'all', asOf: new Date(TODAY), value: allHistory!.at(-1)!.value });
    expect(await source.chainTvlMetric('Atlantis')).toBeNull();
    const bsc = await source.chainTvlMetric('bsc');
    expect(bsc).toMatchObject({
      chain: 'binance-smart-chain',
      value: (await source.chainTvlHistory('BSC'))!.at(-1)!.value,
    });
    sandbox.resetCounts();
    const hyperliquid = await source.chainTvlMetric('hyperliquid-l1');
    expect(hyperliquid).toMatchObject({ chain: 'hyperliquid-l1', kind: 'TVL' });
    expect(hyperliquid!.history!.length).toBe(731);
    expect(sandbox.count('defillama')).toBe(3);

    const aave = await source.protocolTvlMetric('aave-v3');
    expect(aave).toMatchObject({ kind: 'PROTOCOL_TVL', unit: 'USD', chain: 'all' });
    expect(aave!.asOf).toEqual(aave!.history!.at(-1)!.at);
    expect(await source.protocolTvlMetric('nope')).toBeNull();

    const supply = await source.stablecoinSupplyMetric();
    expect(supply).toMatchObject({ kind: 'STABLECOIN_SUPPLY', unit: 'USD', chain: 'all' });
    expect(supply!.asOf.getTime()).toBe(TODAY);
    expect(typeof supply!.history![0]!.at.getTime()).toBe('number');
    const usdt = await source.stablecoinSupplyMetric('1');
    expect(usdt!.value).toBeLessThan(supply!.value);
    expect(await source.stablecoinSupplyMetric('999999')).toBeNull();
  });
});

describe('defillama source over literal DefiLlama bodies', () => {
  const config = providerConfig('defillama', 'http://unused');

  it('accepts chain rows with null ids, numeric cmcIds and string chainIds', async () => {
    const http = createLiteralHttp({
      'v2/chains': [
        {
          gecko_id: 'ethereum',
          tvl: 61_234_567_890.12,
          tokenSymbol: 'ETH',
          cmcId: '1027',
          name: 'Ethereum',
          chainId: 1,
        },
        { gecko_id: null, tvl: 4_100_000_000, tokenSymbol: null, cmcId: null, name: 'Base', chainId: 8453 },
        { gecko_id: 'tron', tvl: 5e9, tokenSymbol: 'TRX', cmcId: 1958, name: 'Tron', chainId: '728126428' },
        { tvl: 1e6, name: 'Some New Chain', extraField: true },
      ],
    });
    const chains = await createDefiLlamaSource({ http, config }).chains();
    expect(chains).toEqual([
      {
        name: 'Ethereum',
        chain: 'ethereum',
        geckoId: 'ethereum',
        symbol: 'ETH',
        evmChainId: 1,
        tvlUsd: 61_234_567_890.12,
      },
      { name: 'Base', chain: 'base', geckoId: null, symbol: null, evmChainId: 8453, tvlUsd: 4.1e9 },
      { name: 'Tron', chain: 'tron', geckoId: 'tron', symbol: 'TRX', evmChainId: 728126428, tvlUsd: 5e9 },
      {
        name: 'Some New Chain',
        chain: 'some-new-chain',
        geckoId: null,
        symbol: null,
        evmChainId: null,
        tvlUsd: 1e6,
      },
    ]);
  });

  it('turns unix seconds into Dates', async () => {
    const http = createLiteralHttp({
      'v2/historicalChainTvl': [
        { date: 1_717_200_000, tvl: 60e9 },
        { date: 1_717_286_400, tvl: 61e9 },
      ],
    });
    const history = await createDefiLlamaSource({ http, config }).chainTvlHistory('Ethereum');
    expect(http.calls[0]!.path).toBe('/v2/historicalChainTvl/Ethereum');
    expect(history).toEqual([
      { at: new Date('2024-06-01T00:00:00Z'), value: 60e9 },
      { at: new Date('2024-06-02T00:00:00Z'), value: 61e9 },
    ]);
  });

  it('maps /protocols rows whose optional fields come and go', async () => {
    const http = createLiteralHttp({
      protocols: [
        {
          id: '3',
          name: 'Curve DEX',
          address: '0xD533a949740bb3306d119CC777fa900bA034cd52',
          symbol: 'CRV',
          slug: 'curve-dex',
          category: 'Dexs',
          chains: ['Ethereum', 'Arbitrum'],
          tvl: 2_000_000_000,
          chainTvls: { Ethereum: 1.9e9, Arbitrum: 1e8, 'Ethereum-staking': 4e8, staking: 4e8, borrowed: 1e7 },
          change_1h: 0.12,
          change_1d: -1.5,
          change_7d: null,
          mcap: 800_000_000,
          gecko_id: 'curve-dao-token',
          parentProtocol: 'parent#curve-finance',
          hallmarks: [[1_690_848_000, 'Vyper exploit']],
          staking: 4e8,
        },
        {
          id: 4242,
          name: 'No Token',
          symbol: '-',
          slug: 'no-token',
          category: 'Yield',
          chains: ['Base'],
          tvl: null,
          chainTvls: {},
        },
      ],
    });
    const [curve, bare] = await createDefiLlamaSource({ http, config }).protocols();
    expect(curve).toEqual({
      id: '3',
      slug: 'curve-dex',
      name: 'Curve DEX',
      symbol: 'CRV',
      category: 'Dexs',
      chains: ['Ethereum', 'Arbitrum'],
      tvlUsd: 2e9,
      chainTvls: { Ethereum: 1.9e9, Arbitrum: 1e8 },
      change1h: 0.12,
      change1d: -1.5,
      change7d: null,
      marketCapUsd: 8e8,
      geckoId: 'curve-dao-token',
      parentId: 'parent#curve-finance',
    });
    expect(bare).toMatchObject({
      id: '4242',
      symbol: null,
      tvlUsd: null,
      change1d: null,
      marketCapUsd: null,
      geckoId: null,
      parentId: null,
    });
  });

  it('maps /protocol/{slug} histories and ignores token breakdowns', async () => {
    const http = createLiteralHttp({
      protocol: {
        id: '182',
        name: 'Lido',
        symbol: 'LDO',
        category: 'Liquid Staking',
        chains: ['Ethereum'],
        gecko_id: 'lido-dao',
        currentChainTvls: { Ethereum: 2.9e10, 'Ethereum-staking': 1e6, staking: 1e6 },
        chainTvls: {
          Ethereum: {
            tvl: [
              { date: 1_717_200_000, totalLiquidityUSD: 2.8e10 },
              { date: 1_717_243_200, totalLiquidityUSD: 2.9e10 },
            ],
            tokensInUsd: [{ date: 1_717_200_000, tokens: { ETH: 2.8e10 } }],
            tokens: [{ date: 1_717_200_000, tokens: { ETH: 8e6 } }],
          },
          staking: { tvl: [{ date: 1_717_200_000, totalLiquidityUSD: 1e6 }] },
        },
        tvl: [
          { date: 1_717_200_000, totalLiquidityUSD: 2.8e10 },
          { date: 1_717_243_200, totalLiquidityUSD: 2.9e10 },
        ],
        tokensInUsd: [],
        tokens: [],
        mcap: 1.6e9,
        raises: [],
        metrics: {},
      },
    });
    const lido = await createDefiLlamaSource({ http, config }).protocol('lido');
    expect(http.calls[0]!.path).toBe('/protocol/lido');
    expect(lido).toMatchObject({
      id: '182',
      slug: 'lido',
      tvlUsd: 2.9e10,
      chainTvls: { Ethereum: 2.9e10 },
      marketCapUsd: 1.6e9,
    });
    expect(lido!.tvlHistory.at(-1)!.at).toEqual(new Date('2024-06-01T12:00:00Z'));
    expect(Object.keys(lido!.chainTvlHistory)).toEqual(['Ethereum']);
  });

  it('maps /prices/current keys back to the requested ones; absent coins stay absent', async () => {
    const http = createLiteralHttp({
      'prices/current': {
        coins: {
          'coingecko:ethereum': { price: 3401.5, symbol: 'ETH', timestamp: 1_717_243_199, confidence: 0.99 },
          // DefiLlama may answer an EVM address in another case than it was asked.
          'ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7': {
            decimals: 6,
            symbol: 'USDT',
            price: 1.0002,
            timestamp: 1_717_243_100,
            confidence: 0.99,
          },
        },
      },
    });
    const source = createDefiLlamaSource({ http, config });
    const asked = 'ethereum:0xdAC17F958D2ee523a2206206994597C13D831ec7';
    const prices = await source.currentPrices(['coingecko:ethereum', asked, 'coingecko:gone']);
    expect(http.calls[0]!.path).toBe(`/prices/current/coingecko:ethereum,${asked},coingecko:gone`);
    expect(prices.get('coingecko:ethereum')).toEqual({
      price: 3401.5,
      asOf: new Date(1_717_243_199_000),
      confidence: 0.99,
      symbol: 'ETH',
      decimals: null,
    });
    expect(prices.get(asked)).toMatchObject({ decimals: 6, price: 1.0002 });
    expect(prices.has('coingecko:gone')).toBe(false);
  });

  it('reads stablecoins of other pegs and missing prices', async () => {
    const http = createLiteralHttp({
      stablecoins: {
        peggedAssets: [
          {
            id: '1',
            name: 'Tether',
            symbol: 'USDT',
            gecko_id: 'tether',
            pegType: 'peggedUSD',
            pegMechanism: 'fiat-backed',
            circulating: { peggedUSD: 150e9 },
            circulatingPrevDay: { peggedUSD: 149.9e9 },
            chainCirculating: { Tron: { current: { peggedUSD: 75e9 } } },
            chains: ['Tron', 'Ethereum'],
            price: 1.0003,
          },
          {
            id: '50',
            name: 'Euro Coin',
            symbol: 'EURC',
            gecko_id: 'euro-coin',
            pegType: 'peggedEUR',
            pegMechanism: 'fiat-backed',
            circulating: { peggedEUR: 100e6 },
            chains: ['Ethereum'],
            price: '1.08',
          },
          {
            id: 77,
            name: 'Obscure',
            symbol: 'OBS',
            gecko_id: null,
            pegType: 'peggedVAR',
            circulating: {},
            chains: [],
            price: null,
          },
        ],
      },
    });
    const stables = await createDefiLlamaSource({ http, config }).stablecoins();
    expect(stables).toEqual([
      {
        id: '1',
        name: 'Tether',
        symbol: 'USDT',
        geckoId: 'tether',
        pegType: 'peggedUSD',
        circulatingUsd: 150e9,
        price: 1.0003,
        chains: ['Tron', 'Ethereum'],
      },
      {
        id: '50',
        name: 'Euro Coin',
        symbol: 'EURC',
        geckoId: 'euro-coin',
        pegType: 'peggedEUR',
        circulatingUsd: 108e6,
        price: 1.08,
        chains: ['Ethereum'],
      },
      {
        id: '77',
        name: 'Obscure',
        symbol: 'OBS',
        geckoId: null,
        pegType: 'peggedVAR',
        circulatingUsd: null,
        price: null,
        chains: [],
      },
    ]);
  });

  it('parses stablecoin chart dates sent as strings and sums every peg', async () => {
    const http = createLiteralHttp({
      stablecoincharts: [
        {
          date: '1717200000',
          totalCirculating: { peggedUSD: 160e9 },
          totalCirculatingUSD: { peggedUSD: 160.1e9 },
        },
        {
          date: '1717286400',
          totalCirculating: { peggedUSD: 161e9, peggedEUR: 1e8 },
          totalCirculatingUSD: { peggedUSD: 161.2e9, peggedEUR: 1.08e8 },
        },
      ],
    });
    const source = createDefiLlamaSource({ http, config });
    const history = await source.stablecoinSupplyHistory();
    expect(http.calls[0]!.path).toBe('/stablecoincharts/all');
    expect(history).toEqual([
      { at: new Date('2024-06-01T00:00:00Z'), value: 160.1e9 },
      { at: new Date('2024-06-02T00:00:00Z'), value: 161.2e9 + 1.08e8 },
    ]);
    const metric = await source.stablecoinSupplyMetric();
    expect(metric).toMatchObject({
      value: 161.2e9 + 1.08e8,
      asOf: new Date('2024-06-02T00:00:00Z'),
      kind: 'STABLECOIN_SUPPLY',
    });
  });

  it('rejects a body that breaks the contract', async () => {
    const http = createLiteralHttp({ 'v2/historicalChainTvl': [{ date: 'yesterday', tvl: 1 }] });
    await expect(createDefiLlamaSource({ http, config }).chainTvlHistory()).rejects.toThrow();
  });

  it('names chains and coin keys for the gateway', () => {
    expect(canonicalChain('BSC')).toBe('binance-smart-chain');
    expect(canonicalChain('OP Mainnet')).toBe('optimistic-ethereum');
    expect(canonicalChain('Hyperliquid L1')).toBe('hyperliquid-l1');
    expect(llamaCoinKeyForAsset('bitcoin')).toBe('coingecko:bitcoin');
    expect(llamaCoinKeyForContract({ chain: 'avalanche', address: '0xabc' })).toBe('avax:0xabc');
    expect(llamaCoinKeyForContract({ chain: 'binance-smart-chain', address: '0xabc' })).toBe('bsc:0xabc');
    expect(llamaCoinKeyForContract({ chain: 'unknown-chain', address: '0xabc' })).toBeUndefined();
  });
});

describe('defillama source through the real http layer', () => {
  let sandbox: Sandbox;
  let http: Http;
  let source: ReturnType<typeof createDefiLlamaSource>;

  beforeAll(async () => {
    let base: string;
    ({ sandbox, base } = await startProviderSandbox('defillama', { quotas: false, now: () => T }));
    const config = buildConfig({ MARKETGRAPH_UPSTREAM_RETRIES: '0' }, { defillama: base });
    http = makeHttp(config).http;
    source = createDefiLlamaSource({ http, config: config.providers.defillama });
  });

  afterAll(async () => {
    await http?.close();
    await sandbox?.close();
  });

  it('reads string-dated charts and turns a 400 for an unknown name into null', async () => {
    const history = await source.stablecoinSupplyHistory();
    expect(history!.at(-1)!.at.getTime()).toBe(TODAY);
    expect(await source.protocol('no-such-protocol')).toBeNull();
    expect(await source.chainTvlHistory('Atlantis')).toBeNull();
  });

  it('surfaces the 429 as UPSTREAM_RATE_LIMITED with its Retry-After', async () => {
    sandbox.faults.set('defillama', 'v2/chains', { kind: 'rate-limit', retryAfter: 7, times: 1 });
    const error = await source.chains().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).code).toBe('UPSTREAM_RATE_LIMITED');
    expect((error as UpstreamError).details.retryAfter).toBe(7);
  });
});
