import type { ProviderName } from '../model.js';

export type UpstreamName = Exclude<ProviderName, 'computed'>;

export const UPSTREAMS: readonly UpstreamName[] = [
  'coingecko',
  'binance',
  'defillama',
  'mempool',
  'tokenmetrics',
  'coincap',
  'etherscan',
];

/** Where a provider is reached when the configuration names no URL: the sandbox's endpoints, once it listens. */
export interface ProviderEndpointOverride {
  url: string;
  wsUrl?: string;
  /** A key the endpoint accepts (the sandbox's demo keys); used only when no key is configured. */
  key?: string;
}

export type ProviderEndpoints = Partial<Record<UpstreamName, ProviderEndpointOverride>>;
