// Records every call of a batch dependency (an upstream fetch behind a loader), the way DataLoader's own
// tests record the keys each batch function received: a test asserts which batches were sent, not
// only what came back.

export interface Recorded<A extends unknown[], R> {
  fn: (...args: A) => Promise<R>;
  /** The arguments of every call, in call order. */
  calls: A[];
}

export function recordCalls<A extends unknown[], R>(fn: (...args: A) => Promise<R> | R): Recorded<A, R> {
  const calls: A[] = [];
  return {
    calls,
    fn: async (...args: A) => {
      calls.push(args.map((a) => (Array.isArray(a) ? [...a] : a)) as A);
      return fn(...args);
    },
  };
}
