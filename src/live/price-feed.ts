import type { Price } from '../market/model.js';
import { conflate } from './conflate.js';
import type { PriceHub } from './price-hub.js';
import { type PriceTick, tickPrice } from './ticks.js';

// Subscription.priceUpdated for one client: the current price of every asset first, then every change.
// Each subscriber keeps only the latest tick per asset (conflation, see conflate.ts): a slow client gets
// the newest value when it is ready, never a growing backlog, and `throttleMs` spaces a subscriber's
// events per asset. Upstream streams are shared through the hub, one per asset however many subscribers
// listen. A tick older than the one the subscriber already has for its asset is not sent (conflate's
// `timeOf`), nor is one equal to it. The Price built from one tick in one currency is one object shared by every subscriber, so
// the subscription layer can execute and serialize it once (see src/transport/shared-results.ts).

export interface PriceFeedDeps {
  hub: PriceHub;
  /** Current prices (USD) for the first event, from the cache or the REST providers. */
  currentPrices(assetIds: string[]): Promise<PriceTick[]>;
  /** Units of `currency` per 1 USD; refreshed by the caller's cache. */
  fxPerUsd(currency: string): Promise<number>;
  /** How long a conversion rate is used before it is refreshed in the background (default 60 s). */
  fxRefreshMs?: number;
  now?: () => number;
  onError?: (error: unknown) => void;
}

export interface PriceSubscription {
  assetIds: string[];
  currency: string;
  throttleMs: number;
}

export interface PriceFeed {
  /** Validates the assets, then returns the event stream. Throws a coded GraphQLError on bad input. */
  subscribe(request: PriceSubscription): Promise<AsyncIterableIterator<Price>>;
}

interface Rate {
  value: number;
  at: number;
  refreshing: boolean;
}

export function createPriceFeed(deps: PriceFeedDeps): PriceFeed {
  const now = deps.now ?? Date.now;
  const fxRefreshMs = deps.fxRefreshMs ?? 60_000;
  const rates = new Map<string, Rate>();
  /** Per tick, the Price in each currency asked for: built once, shared by every subscriber. */
  const prices = new WeakMap<PriceTick, Map<string, Price>>();
  /** Last REST price per asset (bounded by the asset universe). */
  const restTicks = new Map<string, PriceTick>();

  /** The same REST price fetched by many subscribers becomes one tick object (so one execution). */
  function intern(tick: PriceTick): PriceTick {
    const known = restTicks.get(tick.assetId);
    if (
      known &&
      known.value === tick.value &&
      known.asOf === tick.asOf &&
      known.source === tick.source &&
      known.stale === tick.stale
    ) {
      return known;
    }
    restTicks.set(tick.assetId, tick);
    return tick;
  }

  async function rateFor(currency: string): Promise<Rate> {
    const known = rates.get(currency);
    if (known) return known;
    const rate = { value: await deps.fxPerUsd(currency), at: now(), refreshing: false };
    rates.set(currency, rates.get(currency) ?? rate);
    return rates.get(currency)!;
  }

  /** Conversion never waits on a provider inside the tick path: a stale rate is refreshed behind it. */
  function refresh(currency: string, rate: Rate) {
    if (rate.refreshing || now() - rate.at < fxRefreshMs) return;
    rate.refreshing = true;
    deps.fxPerUsd(currency).then(
      (value) => {
        rate.value = value;
        rate.at = now();
        rate.refreshing = false;
      },
      (error) => {
        rate.at = now(); // keep the old rate; try again after another period
        rate.refreshing = false;
        deps.onError?.(error);
      },
    );
  }

  function toPrice(tick: PriceTick, currency: string, rate: Rate | undefined): Price {
    let byCurrency = prices.get(tick);
    if (!byCurrency) {
      byCurrency = new Map();
      prices.set(tick, byCurrency);
    }
    let price = byCurrency.get(currency);
    if (!price) {
      if (rate) refresh(currency, rate);
      price = tickPrice(tick, currency, rate?.value);
      byCurrency.set(currency, price);
    }
    return price;
  }

  return {
    async subscribe({ assetIds, currency, throttleMs }) {
      await deps.hub.check(assetIds);
      const rate = currency === 'usd' ? undefined : await rateFor(currency);
      // Method shorthand, not arrow properties: one object per subscription, no closure per field.
      return conflate<PriceTick, Price>({
        listen(offer) {
          const offs = assetIds.map((id) => deps.hub.listen(id, offer));
          return () => {
            for (const off of offs) off();
          };
        },
        // The current price is the last tick this process saw, or (no tick yet) the REST price. None at
        // all (provider down) is not fatal: live ticks still come as they arrive; the failure is reported.
        async initial() {
          const known = assetIds.flatMap((id) => deps.hub.latest(id) ?? []);
          const missing = assetIds.filter((id) => !deps.hub.latest(id));
          const fetched =
            missing.length > 0
              ? await deps.currentPrices(missing).catch((error: unknown) => {
                  deps.onError?.(error);
                  return [];
                })
              : [];
          return [...known, ...fetched.map(intern)];
        },
        keyOf: assetOf,
        timeOf: asOfOf,
        map(tick) {
          return toPrice(tick, currency, rate);
        },
        same: sameTick,
        throttleMs,
        now,
        onError: deps.onError,
      });
    },
  };
}

function assetOf(tick: PriceTick): string {
  return tick.assetId;
}

function asOfOf(tick: PriceTick): number {
  return tick.asOf;
}

function sameTick(a: PriceTick, b: PriceTick): boolean {
  return a.value === b.value && a.asOf === b.asOf;
}
