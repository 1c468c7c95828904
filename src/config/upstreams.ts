import type { UpstreamName } from '../market/providers.js';

// The providers themselves are listed once, in src/market/providers.ts.
export { UPSTREAMS, type UpstreamName } from '../market/providers.js';

/** Where a provider is reached when the configuration names no URL: the sandbox's endpoints, once it listens. */
export interface ProviderEndpointOverride {
  url: string;
  wsUrl?: string;
  /** A key the endpoint accepts (the sandbox's demo keys); used only when no key is configured. */
  key?: string;
}

export type ProviderEndpoints = Partial<Record<UpstreamName, ProviderEndpointOverride>>;
