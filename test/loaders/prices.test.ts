import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamError } from '../../src/errors.js';
import { createPriceLoader, createQuoteLoader } from '../../src/loaders/prices.js';
import { createAbsences } from '../../src/market/absences.js';
import type { Price } from '../../src/market/model.js';
import type { QuoteAdapter, QuoteProvider } from '../../src/market/quotes.js';
import { recordCalls } from '../helpers/batches.js';
import { loaderConfig, testCache } from './helpers.js';

// Batching of the quote loader (one adapter call per provider and currency in a batch) and the AUTO
// price loader's failover, recorded at the quote adapters.

const config = loaderConfig();
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
});

function price(provider: QuoteProvider, assetId: string, currency: string, value: number): Price {
  return { assetId, currency, value, change24h: null, asOf: new Date(0), source: provider, stale: false };
}

function setUp(listed: Partial<Record<QuoteProvider, string[]>>, failing: QuoteProvider[] = []) {
  const clock = testCache(config);
  close = () => clock.cache.close();
  const recorded = Object.fromEntries(
    (['coingecko', 'binance', 'coincap', 'defillama'] as const).map((provider) => [
      provider,
      recordCalls(async (ids: string[], currency: string) => {
        if (failing.includes(provider))
          throw new UpstreamError('UPSTREAM_UNAVAILABLE', provider, `${provider} down`);
        return new Map(
          ids
            .filter((id) => listed[provider]?.includes(id))
            .map((id) => [id, price(provider, id, currency, 1)]),
        );
      }),
    ]),
  ) as Record<QuoteProvider, ReturnType<typeof recordCalls<[string[], string], Map<string, Price>>>>;
  const adapters = Object.fromEntries(
    Object.entries(recorded).map(([provider, r]) => [provider, { provider, fetch: r.fn }]),
  ) as unknown as Record<QuoteProvider, QuoteAdapter>;
  const quote = createQuoteLoader({
    config,
    cache: clock.cache,
    quotes: () => adapters,
    absences: createAbsences(clock.cache, config),
  });
  const fresh = () =>
    createQuoteLoader({
      config,
      cache: clock.cache,
      quotes: () => adapters,
      absences: createAbsences(clock.cache, config),
    });
  return { clock, recorded, quote, fresh };
}

describe('quote loader', () => {
  it('sends one adapter call per (provider, currency) in a batch, with the distinct ids', async () => {
    const { recorded, quote } = setUp({ coingecko: ['bitcoin', 'ethereum'], binance: ['bitcoin'] });
    await quote.loadMany([
      { provider: 'coingecko', currency: 'usd', assetId: 'bitcoin' },
      { provider: 'coingecko', currency: 'usd', assetId: 'ethereum' },
      { provider: 'coingecko', currency: 'eur', assetId: 'bitcoin' },
      { provider: 'binance', currency: 'usd', assetId: 'bitcoin' },
      { provider: 'coingecko', currency: 'usd', assetId: 'bitcoin' },
    ]);
    expect(recorded.coingecko.calls).toEqual([
      [['bitcoin', 'ethereum'], 'usd'],
      [['bitcoin'], 'eur'],
    ]);
    expect(recorded.binance.calls).toEqual([[['bitcoin'], 'usd']]);
  });
});

describe('negative answers', () => {
  const key = (provider: QuoteProvider, assetId: string) => ({ provider, currency: 'usd', assetId });

  it('asks a provider about an asset it did not list once per metadata TTL, and a failing one every time', async () => {
    const { recorded, fresh, clock } = setUp({ coingecko: ['bitcoin'] }, ['binance']);
    // Each request has its own loaders; the absence is shared through the cache.
    for (let i = 0; i < 3; i++) {
      const [listed, unlisted, failed] = await fresh().loadMany([
        key('coingecko', 'bitcoin'),
        key('coingecko', 'long-tail'),
        key('binance', 'bitcoin'),
      ]);
      expect(listed).not.toBeInstanceOf(Error);
      expect((unlisted as { extensions?: { code?: string } }).extensions?.code).toBe('NOT_FOUND');
      // A failure is coded, and is never remembered as "not listed".
      expect(failed).toMatchObject({ extensions: { code: 'UPSTREAM_UNAVAILABLE', provider: 'binance' } });
      clock.advance(config.cache.ttl.price);
    }
    const asked = (provider: QuoteProvider, id: string) =>
      recorded[provider].calls.filter(([ids]) => ids.includes(id)).length;
    expect(asked('coingecko', 'long-tail')).toBe(1);
    expect(asked('binance', 'bitcoin')).toBe(3);

    clock.advance(config.cache.ttl.metadata);
    await fresh()
      .load(key('coingecko', 'long-tail'))
      .catch(() => undefined);
    expect(asked('coingecko', 'long-tail')).toBe(2);
  });
});

describe('price loader (AUTO)', () => {
  it('asks each provider once per batch, in order, for only what is still unanswered', async () => {
    const { recorded, quote } = setUp({ coingecko: ['bitcoin'], binance: ['ethereum'], coincap: ['solana'] });
    const priceLoader = createPriceLoader({ quote, quoteOrder: () => ['coingecko', 'binance', 'coincap'] });
    const got = await priceLoader.loadMany(
      ['bitcoin', 'ethereum', 'solana', 'nothing'].map((assetId) => ({ currency: 'usd', assetId })),
    );
    expect(got.slice(0, 3).map((r) => (r as { value: Price }).value.source)).toEqual([
      'coingecko',
      'binance',
      'coincap',
    ]);
    expect((got[3] as { extensions?: { code?: string } }).extensions?.code).toBe('NOT_FOUND');
    expect(recorded.coingecko.calls).toEqual([[['bitcoin', 'ethereum', 'solana', 'nothing'], 'usd']]);
    expect(recorded.binance.calls).toEqual([[['ethereum', 'solana', 'nothing'], 'usd']]);
    expect(recorded.coincap.calls).toEqual([[['solana', 'nothing'], 'usd']]);
    expect(recorded.defillama.calls).toEqual([]);
  });

  it('shares the quotes it read with the quote loader it was handed: a named source asks nothing more', async () => {
    const { recorded, quote } = setUp({ coingecko: ['bitcoin'] });
    const priceLoader = createPriceLoader({ quote, quoteOrder: () => ['coingecko'] });
    await Promise.all([
      priceLoader.load({ currency: 'usd', assetId: 'bitcoin' }),
      quote.load({ provider: 'coingecko', currency: 'usd', assetId: 'bitcoin' }),
    ]);
    expect(recorded.coingecko.calls).toEqual([[['bitcoin'], 'usd']]);
  });

  it('fails over past a provider that errors, and reports the error when nobody answers', async () => {
    const { recorded, quote } = setUp({ binance: ['bitcoin'] }, ['coingecko']);
    const priceLoader = createPriceLoader({ quote, quoteOrder: () => ['coingecko', 'binance'] });
    const [btc, eth] = await priceLoader.loadMany(
      ['bitcoin', 'ethereum'].map((assetId) => ({ currency: 'usd', assetId })),
    );
    expect((btc as { value: Price }).value.source).toBe('binance');
    expect((eth as { extensions?: { code?: string } }).extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(recorded.binance.calls).toEqual([[['bitcoin', 'ethereum'], 'usd']]);
  });
});
