// A clock that moves only when a test moves it, for the factories that take `now` (the cache, the
// price feed, the candle service, quote ordering): ages are exact, and a loaded machine changes nothing.

export interface ManualClock {
  now: () => number;
  advance(ms: number): number;
}

export function manualClock(start = 1_000_000): ManualClock {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => (t += ms),
  };
}

/** A promise and the functions that settle it, for fakes that answer only when a test says so. */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every callback already queued (promise jobs and I/O-free immediates) run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Wall-clock time plus the jumps a test makes, for a whole gateway (GatewayDeps.now): real sockets
 * and timers keep working, and "past 2 × TTL" or "after the half-open wait" is a jump, not a sleep.
 */
export function shiftedClock(): ManualClock {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    advance: (ms) => {
      offset += ms;
      return Date.now() + offset;
    },
  };
}
