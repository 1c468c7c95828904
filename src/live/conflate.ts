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

class ConflatedStream<E, R> implements AsyncIterableIterator<R> {
  private readonly latest = new Map<string, E>();
  private readonly sent = new Map<string, Sent<E>>();
  private waiting: Array<(result: IteratorResult<R>) => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Number.POSITIVE_INFINITY;
  private done = false;
  private readonly stop: () => void;

  constructor(private readonly options: ConflateOptions<E, R>) {
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
    if (this.waiting.length > 0) this.drain();
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
    if (this.latest.size === 0) return undefined;
    const { same, throttleMs = 0, now = Date.now } = this.options;
    // The clock is only needed to throttle (0 = every event at once, the common case).
    const t = throttleMs > 0 ? now() : 0;
    let nextDue = Number.POSITIVE_INFINITY;
    for (const key of this.latest.keys()) {
      const event = this.latest.get(key)!;
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
