// Backpressure for one graphql-sse single-connection stream. graphql-sse's handler takes every result
// its operations yield and queues it for the stream without a bound, pulling the next one at once; so
// behind a client that stopped reading, a live subscription was drained as fast as it produced (its
// conflation defeated) into a queue that only grew. Each posted operation's results are wrapped here:
// while `highWater` of the stream's results are queued and not yet taken by its reader, the wrapper
// does not pull the next one, so the source conflates and memory stays bounded by the mark.
// A result is counted when the handler writes it to the queue (its `onNext`), not when an operation
// produces it: the handler drops one produced for an operation stopped meanwhile, and such a result,
// never taken by the reader, would stay counted for good (enough of them and every operation waits).

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

export interface StreamPacing {
  /** Wraps an operation's results so they are pulled only while the stream has room. */
  pace<T>(source: AsyncIterable<T>): AsyncGenerator<T, undefined, undefined>;
  /** The handler wrote one result to the stream's queue. */
  written(): void;
  /**
   * Whether the stream holds `highWater` results its reader has not taken, and the reader has taken
   * none for `stalledMs`: a reader that is slow but reading is not stalled (a busy subscription keeps
   * its stream at the mark).
   */
  stalled(): boolean;
  /** The stream's reader took one result off the queue. */
  delivered(): void;
  /** The stream ended: nothing waits for room any more. */
  end(): void;
}

export function createStreamPacing(
  highWater: number,
  stall: { stalledMs: number; now: () => number },
): StreamPacing {
  let queued = 0;
  let lastTaken = stall.now();
  let ended = false;
  let waiters: Array<() => void> = [];
  const wake = () => {
    const woken = waiters;
    waiters = [];
    for (const resolve of woken) resolve();
  };
  const full = () => !ended && queued >= highWater;

  return {
    pace<T>(source: AsyncIterable<T>) {
      const iterator = source[Symbol.asyncIterator]();
      let finished = false;
      const paced: AsyncGenerator<T, undefined, undefined> = {
        async next() {
          while (full() && !finished) await new Promise<void>((resolve) => waiters.push(resolve));
          if (finished) return DONE;
          const step = await iterator.next();
          return step.done ? DONE : step;
        },
        async return() {
          finished = true;
          // A next() waiting for room ends now, not when the stream does.
          wake();
          await iterator.return?.();
          return DONE;
        },
        async throw(error?: unknown) {
          finished = true;
          wake();
          await iterator.return?.();
          throw error;
        },
        [Symbol.asyncIterator]() {
          return paced;
        },
        // Node 20 types ask for it on AsyncGenerator; it is never called here.
        [Symbol.asyncDispose]: async () => {
          await paced.return(undefined);
        },
      } as AsyncGenerator<T, undefined, undefined>;
      return paced;
    },
    written() {
      queued += 1;
    },
    stalled: () => full() && stall.now() - lastTaken >= stall.stalledMs,
    delivered() {
      lastTaken = stall.now();
      if (queued > 0) queued -= 1;
      if (queued < highWater) wake();
    },
    end() {
      ended = true;
      wake();
    },
  };
}

const NEXT_EVENT = new TextEncoder().encode('event: next');

/** Whether a chunk of the stream (graphql-sse writes one message per chunk) is an operation's result. */
export function isResultChunk(chunk: Uint8Array): boolean {
  if (chunk.length < NEXT_EVENT.length) return false;
  for (let i = 0; i < NEXT_EVENT.length; i++) if (chunk[i] !== NEXT_EVENT[i]) return false;
  return true;
}
