import { describe, expect, it } from 'vitest';
import type { Cached } from '../../src/cache.js';
import type { Candle, Signal } from '../../src/market/model.js';
import { createSignalService, type SignalLoaders } from '../../src/signals/service.js';

// The signal service (src/signals/service.ts) over fake loaders: each signal says how fresh the data
// it came from was, from the cache's own result: computed signals from their candle window's, provider
// signals from their cached list's.

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 0, 1, 12);

function candles(count: number): Candle[] {
  const start = Date.UTC(2026, 0, 1) - count * DAY;
  return Array.from({ length: count }, (_, i) => ({
    openTime: new Date(start + i * DAY),
    closeTime: new Date(start + (i + 1) * DAY),
    open: 100 + i,
    high: 101 + i,
    low: 99 + i,
    close: 100.5 + i,
    volume: 1,
    source: 'binance' as const,
  }));
}

const published: Signal = {
  id: 'tokenmetrics:TM_TRADER_GRADE:bitcoin:2026-01-01',
  assetId: 'bitcoin',
  kind: 'TM_TRADER_GRADE',
  direction: 'BULLISH',
  strength: 0.7,
  generatedAt: new Date(Date.UTC(2026, 0, 1)),
  source: 'tokenmetrics',
  interval: '1d',
  rationale: 'grade 80',
  asOf: new Date(Date.UTC(2026, 0, 1)),
  stale: false,
};

function loaders(stale: boolean, fetchedAt: number): SignalLoaders {
  const window: Cached<Candle[]> = { value: candles(110), fetchedAt, stale };
  const provided: Cached<Signal[]> = { value: [published], fetchedAt, stale };
  return {
    candles: { load: async () => window },
    providerSignals: { load: async () => provided },
  } as unknown as SignalLoaders;
}

describe('signal freshness', () => {
  const service = createSignalService({ providerSignals: true, now: () => NOW });

  it.each([false, true])('follows the cache: stale %s', async (stale) => {
    const fetchedAt = NOW - 10 * 60_000;
    const signals = (await service.forAsset(loaders(stale, fetchedAt), 'bitcoin', '1d')) as Signal[];
    const computed = signals.filter((s) => s.source === 'computed');
    expect(computed.length).toBeGreaterThan(0);
    for (const s of computed) expect(s, s.kind).toMatchObject({ asOf: new Date(fetchedAt), stale });
    // A published signal keeps the provider's own time.
    expect(signals.find((s) => s.source === 'tokenmetrics')).toMatchObject({ asOf: published.asOf, stale });
  });
});
