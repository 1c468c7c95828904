// The sandbox's CoinGecko categories: real category ids and names, each with a hand-picked handful of
// catalogue assets that CoinGecko also files there. Deliberately partial (CoinGecko files most coins
// under many more categories); an asset may sit in several. /coins/categories/list answers in this
// order.

export interface CatalogueCategory {
  /** CoinGecko category id, what /coins/markets' `category=` takes. */
  id: string;
  name: string;
  /** Catalogue asset ids in this category. */
  assets: readonly string[];
}

export const CATEGORIES: readonly CatalogueCategory[] = [
  {
    id: 'decentralized-finance-defi',
    name: 'Decentralized Finance (DeFi)',
    assets: [
      'uniswap',
      'aave',
      'maker',
      'lido-dao',
      'pendle',
      'curve-dao-token',
      'compound-governance-token',
      '1inch',
      'yearn-finance',
      'havven',
      'pancakeswap-token',
      'raydium',
      'gmx',
    ],
  },
  {
    id: 'layer-1',
    name: 'Layer 1 (L1)',
    assets: [
      'bitcoin',
      'ethereum',
      'binancecoin',
      'solana',
      'cardano',
      'avalanche-2',
      'tron',
      'polkadot',
      'near',
      'sui',
      'aptos',
      'litecoin',
      'cosmos',
      'algorand',
    ],
  },
  {
    id: 'layer-2',
    name: 'Layer 2 (L2)',
    assets: ['matic-network', 'arbitrum', 'optimism', 'mantle', 'starknet', 'zksync', 'immutable-x'],
  },
  {
    id: 'meme-token',
    name: 'Meme',
    assets: ['dogecoin', 'shiba-inu', 'pepe', 'dogwifcoin', 'bonk', 'floki', 'based-brett', 'popcat'],
  },
  {
    id: 'smart-contract-platform',
    name: 'Smart Contract Platform',
    assets: ['ethereum', 'binancecoin', 'solana', 'cardano', 'avalanche-2', 'tron', 'near', 'sui', 'aptos'],
  },
  {
    id: 'stablecoins',
    name: 'Stablecoins',
    assets: ['tether', 'usd-coin', 'dai', 'ethena-usde', 'first-digital-usd', 'usds', 'paypal-usd', 'frax'],
  },
];
