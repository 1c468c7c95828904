import type { GraphQLError } from 'graphql';
import type { Cached, CacheNamespace, FetchResult } from '../cache.js';
import { isBudgetRefusal, toClientError } from '../errors.js';
import type { UpstreamBudget } from '../http/budget.js';

// What every loader module uses: the per-request view of a cache namespace, and the DataLoader
// contract's result shape (missing keys as Error values, errors as client errors).

/** The namespace as this request's loaders read it: with a budget, refusals from elsewhere are asked again. */
export function ownView<T>(ns: CacheNamespace<T>, budget: UpstreamBudget | undefined): CacheNamespace<T> {
  return budget ? new AskAgainIfRefusedElsewhere(ns, budget) : ns;
}

/**
 * A namespace whose getMany asks once more, on this request's budget, for keys that came back refused by
 * another request's budget (a fetch that request started and this one joined). A class: six are built
 * per request.
 */
class AskAgainIfRefusedElsewhere<T> implements CacheNamespace<T> {
  constructor(
    private readonly ns: CacheNamespace<T>,
    private readonly budget: UpstreamBudget,
  ) {}

  prime(entries: Map<string, T>, fetchedAt?: number): Promise<void> {
    return this.ns.prime(entries, fetchedAt);
  }

  fill(entries: Map<string, T>, fetchedAt?: number): Promise<string[]> {
    return this.ns.fill(entries, fetchedAt);
  }

  async getMany(
    keys: readonly string[],
    fetch: (keys: string[]) => Promise<FetchResult<T>>,
    missing: (key: string) => Error,
  ): Promise<Array<Cached<T> | Error>> {
    const results = await this.ns.getMany(keys, fetch, missing);
    const again: number[] = [];
    results.forEach((r, i) => {
      const error = r instanceof Error ? r : r.failed;
      if (isBudgetRefusal(error) && !this.budget.refused(error)) again.push(i);
    });
    if (again.length === 0) return results;
    const retried = await this.ns.getMany(
      again.map((i) => keys[i]!),
      fetch,
      missing,
    );
    again.forEach((i, j) => {
      results[i] = retried[j]!;
    });
    return results;
  }
}

export function isNotFound(error: Error): boolean {
  return (error as GraphQLError).extensions?.code === 'NOT_FOUND';
}

export function unwrap<T>(results: Array<Cached<T> | Error>): Array<Cached<T> | Error> {
  return results.map((r) => (r instanceof Error ? toClientError(r) : r));
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Groups items by a string of theirs, keeping first-seen order. */
export function groupBy<T>(items: readonly T[], by: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = by(item);
    const list = groups.get(key);
    if (list) list.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}
