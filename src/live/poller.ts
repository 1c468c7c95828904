import type { Producer } from './channels.js';

// A producer for providers without push: polls (the first poll at once) and emits only the items that
// changed since the previous poll (diff-before-emit), so N subscribers of one key cost one poll per
// period and see no repeated values. Polls never overlap: the next is timed from the end of the last,
// every `pollMs` or when `nextPollIn` says (a signal's next candle close). A failing poll is reported
// and the next one runs on schedule, which `nextPollIn` may bring forward for a failed poll.

export interface PollTimers {
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const REAL_TIMERS: PollTimers = {
  now: () => Date.now(),
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface PollerOptions<T extends object> {
  pollMs: number;
  /**
   * The poll's items. `report` takes an error of a part that failed while others answered: it is
   * passed to `onError` and makes the poll count as failed for `nextPollIn`.
   */
  fetch(report: (error: unknown) => void): Promise<readonly T[]>;
  keyOf(item: T): string;
  same(a: T, b: T): boolean;
  /** Delay before the next poll, from `now` (the end of the last), given what it fetched; default `pollMs`. */
  nextPollIn?(now: number, failed: boolean, items: readonly T[]): number;
  onError?: (error: unknown) => void;
  /** After a poll in which nothing failed (ends a failure episode: see telemetry/quiet-repeats.ts). */
  onSuccess?: () => void;
  timers?: PollTimers;
}

export function createPoller<T extends object>(options: PollerOptions<T>): Producer {
  const timers = options.timers ?? REAL_TIMERS;
  const nextPollIn = options.nextPollIn ?? (() => options.pollMs);
  return (emit) => {
    const last = new Map<string, T>();
    let stopped = false;
    let timer: unknown;

    async function poll() {
      let failed = false;
      let items: readonly T[] = [];
      const report = (error: unknown) => {
        failed = true;
        options.onError?.(error);
      };
      try {
        items = await options.fetch(report);
        if (stopped) return;
        for (const item of items) {
          const key = options.keyOf(item);
          const previous = last.get(key);
          if (previous && options.same(previous, item)) continue;
          last.set(key, item);
          emit(item);
        }
      } catch (error) {
        report(error);
      } finally {
        if (!stopped && !failed) options.onSuccess?.();
        if (!stopped) timer = timers.setTimeout(() => void poll(), nextPollIn(timers.now(), failed, items));
      }
    }

    void poll();
    return () => {
      stopped = true;
      if (timer !== undefined) timers.clearTimeout(timer);
    };
  };
}
