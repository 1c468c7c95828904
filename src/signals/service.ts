import type { Context } from '../context.js';
import { alignUp, intervalMs } from '../market/intervals.js';
import type { Signal } from '../market/model.js';
import { computeSignals, FULL_CANDLES } from './compute.js';

// Signals for one asset: computed from its candles (always available), plus provider signals where a
// keyed provider is enabled (batched across assets by the providerSignals loader). The candle window comes through the request's loaders, so a query asking
// for candles and signals of the same asset and interval reuses one fetch where the windows match.

export interface SignalService {
  forAsset(
    ctx: Context,
    assetId: string,
    interval: string,
    kinds?: readonly string[],
  ): Promise<Array<Signal | Error>>;
}

export function createSignalService(deps: { now?: () => number } = {}): SignalService {
  const now = deps.now ?? Date.now;
  const bars = Math.max(...Object.values(FULL_CANDLES)) + 1;

  return {
    async forAsset(ctx, assetId, interval, kinds) {
      const t = now();
      const to = alignUp(t, interval);
      const from = to - bars * intervalMs(interval);
      const wants = (kind: string) => !kinds || kinds.includes(kind);
      const [computed, provided] = await Promise.all([
        ctx.loaders.candles
          .load({ assetId, interval, from, to, currency: 'usd' })
          .then((c) => computeSignals({ assetId, candles: c.value, interval, now: new Date(t) }))
          .catch((error: Error) => [error]),
        // Token Metrics publishes daily signals only.
        interval === '1d' &&
        ctx.services.config.providers.tokenmetrics.enabled &&
        (!kinds || kinds.some((k) => k.startsWith('TM_')))
          ? ctx.loaders.providerSignals
              .load(assetId)
              .then((c) => c.value)
              .catch((error: Error) => [error])
          : [],
      ]);
      // A failing source leaves an Error entry (null plus a coded error); the other source still answers.
      return [...computed, ...provided].filter((s) => s instanceof Error || wants(s.kind));
    },
  };
}
