import type { Logger } from 'pino';

// Log lines for work that fails over and over outside requests (provider calls, polls, stream
// reconnects), where nothing per request bounds them: a provider down for an hour would otherwise
// write a line per call, poll or reconnect attempt. Each failing thing has a key (a provider's
// endpoint, a poller, a connection); from its first failure to its next success is one episode:
// - each distinct kind of failure (a code, a message) is logged at warn the first time in the episode;
// - a repeat is logged at debug and counted; a warn line with the same message and `repeats` (how many
//   since the last line) and `failingForMs` says it still fails, on the first repeat at least
//   `summaryMs` after the last line, the interval doubling after each such line up to `maxSummaryMs`
//   (a long outage writes a handful of lines per key, not one a minute; no timer, so nothing runs
//   while nothing fails);
// - the success that ends it is logged once at info, with the failure count and how long it lasted;
//   for work that never says it succeeded, `maxSummaryMs` without a failure ends it too (quietly:
//   the next failure is news again).
// A kind is matched exactly, so a failure that changes (500 then a reset, a quota refusal then a
// breaker) is logged as it changes, while one that flaps between kinds already seen stays quiet.

export interface QuietRepeats {
  /**
   * One failure of `key`, of the kind `kind`. Logged at warn (`msg`, `fields`) when new in its
   * episode or when a summary is due; at debug otherwise. Returns whether it was logged at warn.
   */
  failed(key: string, kind: string, fields: object, msg: string): boolean;
  /**
   * A success of `key`: when it was failing, ends the episode with one info line (`msg`, `fields`,
   * `failures`, `failingForMs`) and returns true; otherwise logs nothing and returns false.
   */
  recovered(key: string, fields: object, msg: string): boolean;
  /** Whether `key` is in a failure episode. */
  failing(key: string): boolean;
}

export interface QuietRepeatsOptions {
  logger: Pick<Logger, 'warn' | 'info' | 'debug'>;
  /** The first summary of a key that keeps failing comes this long after its first line (default 5 min). */
  summaryMs?: number;
  /** Summaries are never further apart than this (default 1 h); an episode this quiet is over. */
  maxSummaryMs?: number;
  now?: () => number;
  /** Episodes kept at once; the oldest is forgotten past this (its next failure is logged again). */
  maxKeys?: number;
}

interface Episode {
  since: number;
  lastAt: number;
  failures: number;
  /** Repeats since the last warn line. */
  quiet: number;
  lastWarnAt: number;
  /** The wait before the next summary. */
  summaryEvery: number;
  kinds: Set<string>;
}

export const DEFAULT_SUMMARY_MS = 300_000;
export const DEFAULT_MAX_SUMMARY_MS = 3_600_000;
/** Kinds remembered per episode: a failure whose text varies without end (ids in it) stops being news. */
const MAX_KINDS = 32;

export function createQuietRepeats(options: QuietRepeatsOptions): QuietRepeats {
  const { logger } = options;
  const now = options.now ?? Date.now;
  const summaryMs = options.summaryMs ?? DEFAULT_SUMMARY_MS;
  const maxSummaryMs = Math.max(summaryMs, options.maxSummaryMs ?? DEFAULT_MAX_SUMMARY_MS);
  const maxKeys = options.maxKeys ?? 1_000;
  const episodes = new Map<string, Episode>();
  const start = (t: number, quiet: number): Episode => ({
    since: t,
    lastAt: t,
    failures: 0,
    quiet,
    lastWarnAt: t,
    summaryEvery: summaryMs,
    kinds: new Set(),
  });

  return {
    failed(key, kind, fields, msg) {
      const t = now();
      let episode = episodes.get(key);
      if (episode && t - episode.lastAt >= maxSummaryMs) {
        // Quiet that long: a new episode, which still reports the repeats not yet told.
        episodes.delete(key);
        episode = start(t, episode.quiet);
        episodes.set(key, episode);
      }
      if (!episode) {
        if (episodes.size >= maxKeys) episodes.delete(episodes.keys().next().value as string);
        episode = start(t, 0);
        episodes.set(key, episode);
      }
      episode.failures++;
      episode.lastAt = t;
      const isNew = !episode.kinds.has(kind) && episode.kinds.size < MAX_KINDS;
      if (isNew) {
        episode.kinds.add(kind);
        episode.lastWarnAt = t;
        logger.warn(episode.quiet > 0 ? { ...fields, repeats: episode.quiet } : fields, msg);
        episode.quiet = 0;
        return true;
      }
      episode.quiet++;
      if (t - episode.lastWarnAt >= episode.summaryEvery) {
        logger.warn({ ...fields, repeats: episode.quiet, failingForMs: t - episode.since }, msg);
        episode.lastWarnAt = t;
        episode.quiet = 0;
        episode.summaryEvery = Math.min(episode.summaryEvery * 2, maxSummaryMs);
        return true;
      }
      logger.debug({ ...fields, repeat: true }, msg);
      return false;
    },
    recovered(key, fields, msg) {
      const episode = episodes.get(key);
      if (!episode) return false;
      episodes.delete(key);
      logger.info({ ...fields, failures: episode.failures, failingForMs: now() - episode.since }, msg);
      return true;
    },
    failing: (key) => episodes.has(key),
  };
}

/** The kind of an error for `failed`: its name and message. */
export function kindOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
