import { Repeater } from 'graphql-yoga';
import type { Price } from '../model.js';
import type { PriceHub, PriceTick } from './price-hub.js';

// Subscription.priceUpdated for one client: the current price of every asset first, then every change.
// Each subscriber keeps only the latest tick per asset (conflation): a slow client gets the newest
// value when it is ready, never a growing backlog, and `throttleMs` spaces a subscriber's events per
// asset. Upstream streams are shared through the hub, one per asset however many subscribers listen.

export interface PriceFeedDeps {
  hub: PriceHub;
  /** Current prices (USD) for the first event, from the cache or the REST providers. */
  currentPrices(assetIds: string[]): Promise<PriceTick[]>;
  /** Units of `currency` per 1 USD; refreshed by the caller's cache. */
  fxPerUsd(currency: string): Promise<number>;
  now?: () => number;
}

export interface PriceSubscription {
  assetIds: string[];
  currency: string;
  throttleMs: number;
}

export interface PriceFeed {
  /** Validates the assets, then returns the event stream. Throws a coded GraphQLError on bad input. */
  subscribe(request: PriceSubscription): Promise<AsyncIterable<Price>>;
}

export function createPriceFeed(deps: PriceFeedDeps): PriceFeed {
  const now = deps.now ?? Date.now;

  return {
    async subscribe({ assetIds, currency, throttleMs }) {
      await deps.hub.check(assetIds);
      // FX is read when a subscription starts and then refreshed in the background, so conversion
      // never waits on a provider inside the hot tick path.
      let fx = currency === 'usd' ? 1 : await deps.fxPerUsd(currency);
      let fxAt = now();

      return new Repeater<Price>(async (push, stop) => {
        const latest = new Map<string, PriceTick>();
        const sentAt = new Map<string, number>();
        let wake: (() => void) | undefined;
        let stopped = false;
        const onTick = (tick: PriceTick) => {
          latest.set(tick.assetId, tick);
          wake?.();
        };
        const unlisten = assetIds.map((id) => deps.hub.listen(id, onTick));
        stop.then(() => {
          stopped = true;
          for (const off of unlisten) off();
          wake?.();
        });

        const toPrice = (tick: PriceTick): Price => {
          if (currency !== 'usd' && now() - fxAt > 60_000) {
            fxAt = now();
            deps.fxPerUsd(currency).then(
              (rate) => {
                fx = rate;
              },
              () => undefined,
            );
          }
          return {
            assetId: tick.assetId,
            currency,
            value: tick.value * fx,
            change24h: tick.change24h,
            asOf: new Date(tick.asOf),
            source: tick.source,
            stale: false,
          };
        };

        try {
          for (const tick of await deps.currentPrices(assetIds)) {
            // A live tick may have arrived while the REST price was loading; the newer one wins.
            if (!latest.has(tick.assetId)) latest.set(tick.assetId, tick);
          }
        } catch {
          // No initial price (provider down): the stream still delivers live ticks as they come.
        }

        while (!stopped) {
          const t = now();
          let nextDue = Number.POSITIVE_INFINITY;
          let sent = false;
          for (const [id, tick] of latest) {
            const due = (sentAt.get(id) ?? Number.NEGATIVE_INFINITY) + throttleMs;
            if (due > t) {
              nextDue = Math.min(nextDue, due);
              continue;
            }
            latest.delete(id);
            sentAt.set(id, t);
            sent = true;
            await push(toPrice(tick));
            if (stopped) break;
          }
          if (stopped || sent) continue;
          let timer: NodeJS.Timeout | undefined;
          await new Promise<void>((resolve) => {
            wake = resolve;
            if (Number.isFinite(nextDue)) timer = setTimeout(resolve, nextDue - t);
          });
          clearTimeout(timer);
          wake = undefined;
        }
      });
    },
  };
}
