// The sandbox's asset universe: real assets with their real ids, symbols, names and contract
// addresses, and reference figures (price, supplies) of the right order of magnitude. Prices then move
// from the reference according to src/sandbox/market.ts.

export interface CatalogueAsset {
  /** CoinGecko slug, also our canonical id. */
  id: string;
  symbol: string;
  name: string;
  rank: number;
  /** Reference USD price the simulation moves around. */
  priceUsd: number;
  circulatingSupply: number;
  totalSupply: number | null;
  maxSupply: number | null;
  /** Daily volatility as a fraction (0.03 = 3 %/day); stablecoins ~0.0005. */
  volatility: number;
  /** Fraction of market cap traded per day. */
  turnover: number;
  /** Binance spot base asset when the asset trades as <base>USDT there; null when it does not. */
  binanceBase: string | null;
  /** CoinCap v3 id, when it differs from or equals the CoinGecko id; null when not listed. */
  coincapId: string | null;
  /** Token Metrics numeric TOKEN_ID; null when not covered. */
  tokenMetricsId: number | null;
  /** DefiLlama chain name when the asset is a chain's native token ('Ethereum'). */
  llamaChain: string | null;
  /** Chain slug (CoinGecko platform id) → contract address. */
  contracts: Record<string, string>;
}

export const CATALOGUE: readonly CatalogueAsset[] = [
  {
    id: 'bitcoin',
    symbol: 'BTC',
    name: 'Bitcoin',
    rank: 1,
    priceUsd: 67_000,
    circulatingSupply: 19_700_000,
    totalSupply: 21_000_000,
    maxSupply: 21_000_000,
    volatility: 0.03,
    turnover: 0.025,
    binanceBase: 'BTC',
    coincapId: 'bitcoin',
    tokenMetricsId: 3375,
    llamaChain: 'Bitcoin',
    contracts: {},
  },
  {
    id: 'ethereum',
    symbol: 'ETH',
    name: 'Ethereum',
    rank: 2,
    priceUsd: 3_400,
    circulatingSupply: 120_200_000,
    totalSupply: 120_200_000,
    maxSupply: null,
    volatility: 0.035,
    turnover: 0.035,
    binanceBase: 'ETH',
    coincapId: 'ethereum',
    tokenMetricsId: 3306,
    llamaChain: 'Ethereum',
    contracts: {},
  },
  {
    id: 'tether',
    symbol: 'USDT',
    name: 'Tether',
    rank: 3,
    priceUsd: 1,
    circulatingSupply: 112_000_000_000,
    totalSupply: 112_000_000_000,
    maxSupply: null,
    volatility: 0.0005,
    turnover: 0.45,
    binanceBase: null,
    coincapId: 'tether',
    tokenMetricsId: 3988,
    llamaChain: null,
    contracts: {
      ethereum: '0xdac17f958d2ee523a2206206994597c13d831ec7',
      tron: 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t',
      solana: 'Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB',
    },
  },
];
