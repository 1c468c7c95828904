import { describe, expect, it } from 'vitest';
import { loadConfig, type UpstreamName } from '../../src/config.js';
import type { BreakerState, Http, ProviderHealth } from '../../src/http/client.js';
import { orderQuoteProviders } from '../../src/market/quotes.js';

// The AUTO failover order (src/quotes.ts) on an injected instant and a fake Http whose health the test
// sets per provider: the configured preference, healthy providers first, breaker-open and Retry-After
// last, a provider short of quota moved behind the healthy ones but ahead of the refused ones.

const NOW = 1_750_000_000_000;

function config() {
  return loadConfig({
    env: {},
    endpoints: {
      coingecko: { url: 'http://coingecko.test' },
      binance: { url: 'http://binance.test' },
      coincap: { url: 'http://coincap.test', key: 'test-key' },
      defillama: { url: 'http://defillama.test' },
    },
  });
}

/** An Http whose only answer is health; every provider healthy unless `set` says otherwise. */
function fakeHttp(set: Partial<Record<UpstreamName, Partial<ProviderHealth>>> = {}) {
  const asked: UpstreamName[] = [];
  const c = config();
  const http = {
    health(provider: UpstreamName): ProviderHealth {
      asked.push(provider);
      return {
        provider,
        breaker: 'closed' as BreakerState,
        quotaLeft: c.providers[provider].rpm,
        lastLatencyMs: null,
        lastError: null,
        lastFailure: null,
        blockedUntil: 0,
        ...set[provider],
      };
    },
  } as unknown as Http;
  return { http, asked };
}

describe('orderQuoteProviders', () => {
  it('keeps the configured preference when every provider is healthy', () => {
    const { http, asked } = fakeHttp();
    expect(orderQuoteProviders(config(), http, NOW)).toEqual([
      'coingecko',
      'binance',
      'coincap',
      'defillama',
    ]);
    expect(new Set(asked)).toEqual(new Set(['coingecko', 'binance', 'coincap', 'defillama']));
  });

  it('leaves out disabled providers and those without a URL', () => {
    const env = { MARKETGRAPH_BINANCE_ENABLED: 'false' };
    const c = loadConfig({
      env,
      endpoints: { coingecko: { url: 'http://coingecko.test' }, binance: { url: 'http://binance.test' } },
    });
    // Binance is off; DefiLlama is on but has no URL here; CoinCap has no key.
    expect(orderQuoteProviders(c, fakeHttp().http, NOW)).toEqual(['coingecko']);
  });

  it('puts a provider with an open breaker last', () => {
    const { http } = fakeHttp({ coingecko: { breaker: 'open' } });
    expect(orderQuoteProviders(config(), http, NOW)).toEqual([
      'binance',
      'coincap',
      'defillama',
      'coingecko',
    ]);
  });

  it('puts a provider under Retry-After last only while the wait lasts', () => {
    const { http } = fakeHttp({ binance: { blockedUntil: NOW + 1 } });
    expect(orderQuoteProviders(config(), http, NOW)).toEqual([
      'coingecko',
      'coincap',
      'defillama',
      'binance',
    ]);
    // The same health one millisecond later: the wait is over, the preference is back.
    expect(orderQuoteProviders(config(), http, NOW + 1)).toEqual([
      'coingecko',
      'binance',
      'coincap',
      'defillama',
    ]);
  });

  it('moves a provider under 10 % of its quota behind the healthy ones, ahead of the refused ones', () => {
    const c = config();
    const low = Math.ceil(0.1 * c.providers.coingecko.rpm) - 1;
    const { http } = fakeHttp({
      coingecko: { quotaLeft: low },
      binance: { breaker: 'open' },
      coincap: { quotaLeft: Math.ceil(0.1 * c.providers.coincap.rpm) },
    });
    expect(orderQuoteProviders(c, http, NOW)).toEqual(['coincap', 'defillama', 'coingecko', 'binance']);
  });

  it('keeps the preference among equally placed providers', () => {
    const { http } = fakeHttp({
      coingecko: { breaker: 'open' },
      binance: { blockedUntil: NOW + 60_000 },
      defillama: { quotaLeft: 0 },
    });
    expect(orderQuoteProviders(config(), http, NOW)).toEqual([
      'coincap',
      'defillama',
      'coingecko',
      'binance',
    ]);
  });
});
