import type { Producer } from './channels.js';

// A producer for providers without push: polls every `pollMs` (the first poll at once), and emits only
// the items that changed since the previous poll (diff-before-emit), so N subscribers of one key cost
// one poll per period and see no repeated values. Polls never overlap; a failing poll is reported and
// the next one runs on schedule.

export interface PollerOptions<T extends object> {
  pollMs: number;
  fetch(): Promise<readonly T[]>;
  keyOf(item: T): string;
  same(a: T, b: T): boolean;
  onError?: (error: unknown) => void;
}

export function createPoller<T extends object>(options: PollerOptions<T>): Producer {
  return (emit) => {
    const last = new Map<string, T>();
    let running = false;
    let stopped = false;

    async function poll() {
      if (running || stopped) return;
      running = true;
      try {
        const items = await options.fetch();
        if (stopped) return;
        for (const item of items) {
          const key = options.keyOf(item);
          const previous = last.get(key);
          if (previous && options.same(previous, item)) continue;
          last.set(key, item);
          emit(item);
        }
      } catch (error) {
        options.onError?.(error);
      } finally {
        running = false;
      }
    }

    void poll();
    const timer = setInterval(() => void poll(), options.pollMs);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  };
}
