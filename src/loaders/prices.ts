import DataLoader from 'dataloader';
import type { Cache, Cached, FetchResult } from '../cache.js';
import type { Config } from '../config.js';
import { notFound } from '../errors.js';
import type { UpstreamBudget } from '../http/budget.js';
import type { ProviderAbsences } from '../market/absences.js';
import { type PriceKey, priceKey, type QuoteKey, quoteKey } from '../market/keys.js';
import type { Price } from '../market/model.js';
import type { QuoteAdapter, QuoteProvider } from '../market/quotes.js';
import { asError, groupBy, isNotFound, ownView, unwrap } from './shared.js';

// Spot prices: one provider's quote (quote), and the AUTO price (price), which asks providers in
// preference order through the quote loader, so a quote asked for both ways in one request is fetched
// once. The price loader is built over a quote loader handed to it: the chain is in the types.

export type QuoteLoader = DataLoader<QuoteKey, Cached<Price>, string>;
export type PriceLoader = DataLoader<PriceKey, Cached<Price>, string>;

export interface QuoteLoaderDeps {
  config: Config;
  cache: Cache;
  /** Spot-quote adapters, asked for on cache misses only. */
  quotes: () => Record<QuoteProvider, QuoteAdapter>;
  /** What each provider was seen not to list (asked again only past the TTL). */
  absences: ProviderAbsences;
  budget?: UpstreamBudget;
}

export function createQuoteLoader(deps: QuoteLoaderDeps): QuoteLoader {
  const quoteCache = ownView(deps.cache.namespace<Price>('quote', deps.config.cache.ttl.price), deps.budget);
  const absences = deps.absences.quotes;
  return new DataLoader<QuoteKey, Cached<Price>, string>(
    async (keys) => {
      const byString = new Map(keys.map((k) => [quoteKey(k), k]));
      return unwrap(
        await quoteCache.getMany(
          keys.map(quoteKey),
          async (missing) => {
            const out: FetchResult<Price> = new Map();
            const unlisted = await absences.known(missing);
            const wanted = missing.filter((s) => !unlisted.has(s)).map((s) => byString.get(s)!);
            const learned: string[] = [];
            const groups = groupBy(wanted, (k) => `${k.provider} ${k.currency}`);
            await Promise.all(
              [...groups.values()].map(async (group) => {
                const { provider, currency } = group[0]!;
                const ids = group.map((k) => k.assetId);
                try {
                  // The adapter's source splits the list at the provider's real per-call limit.
                  const answer = await deps.quotes()[provider].fetch(ids, currency);
                  for (const k of group) {
                    const p = answer.get(k.assetId);
                    if (p === undefined) learned.push(quoteKey(k));
                    else out.set(quoteKey(k), p);
                  }
                } catch (error) {
                  // A failure is never remembered as an absence.
                  for (const k of group) out.set(quoteKey(k), asError(error));
                }
              }),
            );
            await absences.remember(learned);
            return out;
          },
          (s) => notFound('price for', byString.get(s)!.assetId),
        ),
      );
    },
    { cacheKeyFn: quoteKey },
  );
}

export interface PriceLoaderDeps {
  /** The quotes the AUTO price is chosen from (the request's own quote loader). */
  quote: QuoteLoader;
  /** Provider preference for AUTO prices right now (health and quota aware). */
  quoteOrder: () => QuoteProvider[];
}

export function createPriceLoader(deps: PriceLoaderDeps): PriceLoader {
  const { quote, quoteOrder } = deps;
  return new DataLoader<PriceKey, Cached<Price>, string>(
    async (keys) => {
      // Ask providers in preference order; each is asked once per batch, for what is still unanswered.
      // A value served stale because its provider failed is kept only if no provider has a fresh one.
      const answered = new Map<PriceKey, Cached<Price>>();
      const staleOnError = new Map<PriceKey, Cached<Price>>();
      const firstError = new Map<PriceKey, Error>();
      let remaining = [...keys];
      for (const provider of quoteOrder()) {
        if (remaining.length === 0) break;
        const got = await quote.loadMany(remaining.map((k) => ({ provider, ...k })));
        const next: PriceKey[] = [];
        remaining.forEach((key, i) => {
          const r = got[i]!;
          if (r instanceof Error) {
            if (!isNotFound(r) && !firstError.has(key)) firstError.set(key, r);
            next.push(key);
          } else if (r.failed) {
            if (!staleOnError.has(key)) staleOnError.set(key, r);
            next.push(key);
          } else answered.set(key, r);
        });
        remaining = next;
      }
      return keys.map(
        (key) =>
          answered.get(key) ??
          staleOnError.get(key) ??
          firstError.get(key) ??
          notFound('price for', key.assetId),
      );
    },
    { cacheKeyFn: priceKey },
  );
}
