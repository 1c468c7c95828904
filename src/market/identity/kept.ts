import type { Cache, Namespace } from '../../cache.js';

// One provider catalogue, kept: fetched on its own, stored under its own namespace for a long
// lifetime (in Redis too with REDIS_URL), and failing on its own. A copy younger than the freshness
// window is served as is; an older one is served at once, flagged stale, while one refresh runs behind
// it; a copy of any age beats none, so a restart during a provider outage still knows what the
// provider listed before. A failed fetch is never stored: it is remembered in this process for a short
// back-off only, so the next read past it asks the provider again rather than an hour later.

export type Kept<T> =
  | { ok: true; value: T; fetchedAt: number; stale: boolean; failed?: Error }
  | { ok: false; error: Error };

export interface KeptCatalogue<T> {
  read(): Promise<Kept<T>>;
}

export interface KeptCatalogueDeps<T> {
  cache: Cache;
  namespace: Namespace;
  /** How long a copy is fresh (the metadata TTL). */
  freshMs: number;
  /** How long a copy is kept at all, as the last known good one. */
  keepMs: number;
  /** After a failed fetch, how long reads answer with that failure instead of asking again. */
  retryMs: number;
  fetch(): Promise<T>;
  now: () => number;
}

const KEY = 'all';

export function keptCatalogue<T>(deps: KeptCatalogueDeps<T>): KeptCatalogue<T> {
  const { freshMs, retryMs, now } = deps;
  const store = deps.cache.namespace<T>(deps.namespace, deps.keepMs);
  /** The newest copy this process has seen, so a fresh one costs no store read. */
  let held: { value: T; fetchedAt: number } | undefined;
  let failure: { at: number; error: Error } | undefined;
  let inflight: Promise<Kept<T>> | undefined;

  async function stored(): Promise<{ value: T; fetchedAt: number } | undefined> {
    // Never fetches through the store: a miss is simply nothing kept.
    const [found] = await store.getMany(
      [KEY],
      async () => new Map(),
      () => NOTHING_KEPT,
    );
    return !found || found instanceof Error ? undefined : { value: found.value, fetchedAt: found.fetchedAt };
  }

  function refresh(): Promise<Kept<T>> {
    if (inflight) return inflight;
    const attempt = (async (): Promise<Kept<T>> => {
      try {
        const value = await deps.fetch();
        const fetchedAt = now();
        await store.prime(new Map([[KEY, value]]), fetchedAt);
        held = { value, fetchedAt };
        failure = undefined;
        return { ok: true, value, fetchedAt, stale: false };
      } catch (caught) {
        const error = caught instanceof Error ? caught : new Error(String(caught));
        failure = { at: now(), error };
        return { ok: false, error };
      }
    })();
    // Cleared once settled, after the assignment: a fetch that throws synchronously settles first.
    inflight = attempt;
    void attempt.then(() => {
      if (inflight === attempt) inflight = undefined;
    });
    return attempt;
  }

  return {
    async read() {
      const t = now();
      let copy = held && t - held.fetchedAt < freshMs ? held : undefined;
      if (!copy) {
        const found = await stored();
        copy = found && (!held || found.fetchedAt > held.fetchedAt) ? found : held;
        if (copy) held = copy;
      }
      if (copy && t - copy.fetchedAt < freshMs) {
        return { ok: true, value: copy.value, fetchedAt: copy.fetchedAt, stale: false };
      }
      const backingOff = failure !== undefined && t - failure.at < retryMs;
      if (copy) {
        if (!backingOff) void refresh();
        return {
          ok: true,
          value: copy.value,
          fetchedAt: copy.fetchedAt,
          stale: true,
          ...(failure ? { failed: failure.error } : {}),
        };
      }
      if (backingOff) return { ok: false, error: failure!.error };
      return refresh();
    },
  };
}

const NOTHING_KEPT = new Error('nothing kept');
