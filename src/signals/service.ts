import type DataLoader from 'dataloader';
import type { Cached } from '../cache.js';
import { isNotAvailable } from '../errors.js';
import { alignUp, intervalMs } from '../market/intervals.js';
import type { CandleKey } from '../market/keys.js';
import type { Candle, Signal } from '../market/model.js';
import { computeSignals, FULL_CANDLES } from './compute.js';

// Signals for one asset: computed from its candles (as far back as a provider has them), plus provider
// signals where a keyed provider is enabled (batched across assets by the providerSignals loader). The candle window
// comes through the caller's loaders (a request's, or the live feed's own), so a query asking for
// candles and signals of the same asset and interval reuses one fetch where the windows match.

/** The loaders signals are read through: passed by the caller, never taken from a request context. */
export interface SignalLoaders {
  candles: DataLoader<CandleKey, Cached<Candle[]>, string>;
  providerSignals: DataLoader<string, Cached<Signal[]>>;
}

export interface SignalService {
  forAsset(
    loaders: SignalLoaders,
    assetId: string,
    interval: string,
    kinds?: readonly string[],
  ): Promise<Array<Signal | Error>>;
}

export interface SignalServiceDeps {
  /** Whether a keyed provider (Token Metrics) publishes signals here. */
  providerSignals: boolean;
  now?: () => number;
}

export function createSignalService(deps: SignalServiceDeps): SignalService {
  const now = deps.now ?? Date.now;
  const bars = Math.max(...Object.values(FULL_CANDLES)) + 1;

  return {
    async forAsset(loaders, assetId, interval, kinds) {
      const t = now();
      const to = alignUp(t, interval);
      const from = to - bars * intervalMs(interval);
      const wants = (kind: string) => !kinds || kinds.includes(kind);
      const window = (start: number) =>
        loaders.candles.load({ assetId, interval, from: start, to, currency: 'usd' });
      const [computed, provided] = await Promise.all([
        window(from)
          .catch((error: unknown) => {
            // No provider reaches back that far (an asset without a Binance pair: CoinGecko's window
            // only): read what they have; the kinds it holds too few candles for are left out.
            const earliest = isNotAvailable(error) ? error.available.from?.getTime() : undefined;
            if (earliest === undefined || earliest >= to) throw error;
            return window(alignUp(earliest, interval));
          })
          .then((c) =>
            computeSignals({
              assetId,
              candles: c.value,
              interval,
              now: new Date(t),
              fetchedAt: new Date(c.fetchedAt),
              stale: c.stale,
            }),
          )
          .catch((error: Error) => [error]),
        // Token Metrics publishes daily signals only.
        interval === '1d' && deps.providerSignals && (!kinds || kinds.some((k) => k.startsWith('TM_')))
          ? loaders.providerSignals
              .load(assetId)
              .then((c) => (c.stale ? c.value.map((s) => ({ ...s, stale: true })) : c.value))
              .catch((error: Error) => [error])
          : [],
      ]);
      // A failing source leaves an Error entry (null plus a coded error); the other source still answers.
      return [...computed, ...provided].filter((s) => s instanceof Error || wants(s.kind));
    },
  };
}
