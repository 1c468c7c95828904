// One subscriber's event stream with conflation: events are keyed (an asset, a metric kind, ...) and
// only the newest undelivered event per key is kept, so a consumer that stops reading for a while gets
// the latest value of each key next, never a backlog; memory is bounded by the number of keys.
// `throttleMs` spaces deliveries per key; `same` drops an event equal to the last one delivered for its
// key (per-subscriber diff, e.g. when the first live event repeats the initial snapshot).
// Contract: listening starts when the stream is created (events that arrive while `initial` loads are
// kept, and win over the snapshot); `return()` (a client leaving) stops listening at once and settles
// a pending `next()`. One consumer, reading sequentially (as graphql-js and graphql-ws do).
// A class on purpose: thousands of these live at once, and prototype methods cost nothing per stream
// (closures cost a function object each, more under tsx, whose keepNames tags every named closure).

export interface ConflateOptions<E, R> {
  /** Starts delivery of raw events to `offer`; returns the stop function. */
  listen(offer: (event: E) => void): () => void;
  /** The current state, delivered first (keys a live event already filled are skipped). */
  initial?(): Promise<readonly E[]>;
  keyOf(event: E): string;
  /** Maps an event for delivery; called once per delivered event. */
  map(event: E): R;
  throttleMs?: number;
  same?(a: E, b: E): boolean;
  now?: () => number;
  onError?: (error: unknown) => void;
}

export function conflate<E, R>(options: ConflateOptions<E, R>): AsyncIterableIterator<R> {
  return new ConflatedStream(options);
}

interface Sent<E> {
  at: number;
  event: E;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });
const RESOLVED = Promise.resolve();

class ConflatedStream<E, R> implements AsyncIterableIterator<R> {
  private readonly latest = new Map<string, E>();
  private readonly sent = new Map<string, Sent<E>>();
  private waiting: Array<(result: IteratorResult<R>) => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Number.POSITIVE_INFINITY;
  private done = false;
  private drainQueued = false;
  private readonly stop: () => void;
  /** One function per stream (not one per event) for the deferred drain. */
  private readonly queuedDrain: () => void;

  constructor(private readonly options: ConflateOptions<E, R>) {
    // Assigned here, not as a field initializer: tsx (esbuild keepNames) tags named closures with a
    // name property, which costs a property array per stream.
    this.queuedDrain = () => {
      this.drainQueued = false;
      this.drain();
    };
    this.stop = options.listen((event) => this.offer(event));
    options.initial?.().then(
      (events) => this.seed(events),
      (error) => options.onError?.(error),
    );
  }

  next(): Promise<IteratorResult<R>> {
    if (this.done) return Promise.resolve(DONE);
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.drain();
    });
  }

  return(): Promise<IteratorResult<R>> {
    this.finish();
    return Promise.resolve(DONE);
  }

  throw(error?: unknown): Promise<IteratorResult<R>> {
    this.finish();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  private offer(event: E) {
    if (this.done) return;
    this.latest.set(this.options.keyOf(event), event);
    // Deliver after the current synchronous run: events that arrive together (one socket read can
    // carry many upstream frames when the process is behind) collapse into the newest one per key.
    // (A resolved promise, not queueMicrotask: Node wraps each queueMicrotask in an async resource.)
    if (this.waiting.length > 0 && !this.drainQueued) {
      this.drainQueued = true;
      void RESOLVED.then(this.queuedDrain);
    }
  }

  private seed(events: readonly E[]) {
    if (this.done) return;
    for (const event of events) {
      const key = this.options.keyOf(event);
      if (!this.latest.has(key) && !this.sent.has(key)) this.latest.set(key, event);
    }
    this.drain();
  }

  /** Takes the next deliverable event, or undefined; sets the throttle timer when one is due later. */
  private take(): E | undefined {
    const { same, throttleMs = 0, now = Date.now } = this.options;
    const t = now();
    let nextDue = Number.POSITIVE_INFINITY;
    for (const [key, event] of this.latest) {
      const last = this.sent.get(key);
      if (last && same?.(last.event, event)) {
        this.latest.delete(key);
        continue;
      }
      const due = last ? last.at + throttleMs : t;
      if (due > t) {
        nextDue = Math.min(nextDue, due);
        continue;
      }
      this.latest.delete(key);
      if (last) {
        last.at = t;
        last.event = event;
      } else this.sent.set(key, { at: t, event });
      return event;
    }
    if (nextDue < this.timerDue) {
      clearTimeout(this.timer);
      this.timerDue = nextDue;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.timerDue = Number.POSITIVE_INFINITY;
        this.drain();
      }, nextDue - t);
    }
    return undefined;
  }

  private drain() {
    while (this.waiting.length > 0 && !this.done) {
      const event = this.take();
      if (event === undefined) return;
      let value: R;
      try {
        value = this.options.map(event);
      } catch (error) {
        this.options.onError?.(error);
        continue;
      }
      this.waiting.shift()!({ value, done: false });
    }
  }

  private finish() {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.latest.clear();
    this.sent.clear();
    this.stop();
    for (const resolve of this.waiting.splice(0)) resolve(DONE);
  }
}
