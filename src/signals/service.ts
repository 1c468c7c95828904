import type { Context } from '../context.js';
import { alignUp, intervalMs } from '../intervals.js';
import type { Signal } from '../model.js';
import { computeSignals, FULL_CANDLES } from './compute.js';

// Signals for one asset: computed from its candles (always available), plus provider signals where a
// keyed provider is enabled. The candle window comes through the request's loaders, so a query asking
// for candles and signals of the same asset and interval reuses one fetch where the windows match.

export interface SignalService {
  forAsset(ctx: Context, assetId: string, interval: string, kinds?: readonly string[]): Promise<Signal[]>;
}

export interface ProviderSignals {
  forAssets(assetIds: string[]): Promise<Signal[]>;
}

export function createSignalService(deps: {
  now?: () => number;
  providerSignals?: ProviderSignals;
}): SignalService {
  const now = deps.now ?? Date.now;
  const bars = Math.max(...Object.values(FULL_CANDLES)) + 1;

  return {
    async forAsset(ctx, assetId, interval, kinds) {
      const t = now();
      const to = alignUp(t, interval);
      const from = to - bars * intervalMs(interval);
      const [computed, provided] = await Promise.all([
        ctx.loaders.candles
          .load({ assetId, interval, from, to, currency: 'usd' })
          .then((c) => computeSignals({ assetId, candles: c.value, interval, now: new Date(t) })),
        interval === '1d' && deps.providerSignals
          ? deps.providerSignals.forAssets([assetId]).catch(() => [])
          : [],
      ]);
      const all = [...computed, ...provided];
      return kinds ? all.filter((s) => kinds.includes(s.kind)) : all;
    },
  };
}
