// One subscriber's event stream with conflation: events are keyed (an asset, a metric kind, ...) and
// only the newest undelivered event per key is kept, so a consumer that stops reading for a while gets
// the latest value of each key next, never a backlog; memory is bounded by the number of keys.
// `throttleMs` spaces deliveries per key; `same` drops an event equal to the last one delivered for its
// key (per-subscriber diff, e.g. when the first live event repeats the initial snapshot), and `timeOf`
// drops an event older than the newest one already taken for its key (a live tick older than the
// snapshot the subscriber was sent first, say), so a subscriber never sees a key go back in time.
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
  /** The time the event's data is from (epoch ms); events older than the key's newest are dropped. */
  timeOf?(event: E): number;
  now?: () => number;
  onError?: (error: unknown) => void;
}

export function conflate<E, R>(options: ConflateOptions<E, R>): AsyncIterableIterator<R> {
  return new ConflatedStream(options);
}

/**
 * One key's state. Created when the key is first seen and kept for the stream's life (a subscription's
 * keys are fixed by its arguments), so an event costs no Map insert or delete: V8 reallocates a Map's
 * table when it shrinks to empty and grows again, and with one key per subscription that was a fresh
 * table per event per subscriber, living until the next tick — long enough to be promoted, which made
 * it the largest source of old-generation garbage in the fan-out (docs/benchmarks-live.md).
 */
interface Slot<E> {
  /** The newest event not yet delivered. */
  pending: E | undefined;
  /** The last event delivered, and when (0 when not throttling). */
  sent: E | undefined;
  at: number;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

class ConflatedStream<E, R> implements AsyncIterableIterator<R> {
  private readonly slots = new Map<string, Slot<E>>();
  /** The slots in first-seen order; `take` scans round-robin from `cursor` so no key starves. */
  private readonly order: Slot<E>[] = [];
  private cursor = 0;
  private pendingCount = 0;
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

  private slot(key: string): Slot<E> {
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = { pending: undefined, sent: undefined, at: 0 };
      this.slots.set(key, slot);
      this.order.push(slot);
    }
    return slot;
  }

  private offer(event: E) {
    if (this.done) return;
    const slot = this.slot(this.options.keyOf(event));
    const { timeOf } = this.options;
    const newest = slot.pending ?? slot.sent;
    if (timeOf && newest !== undefined && timeOf(event) < timeOf(newest)) return;
    if (slot.pending === undefined) this.pendingCount += 1;
    slot.pending = event;
    if (this.waiting.length > 0) this.drain();
  }

  private seed(events: readonly E[]) {
    if (this.done) return;
    for (const event of events) {
      const slot = this.slot(this.options.keyOf(event));
      if (slot.pending === undefined && slot.sent === undefined) {
        slot.pending = event;
        this.pendingCount += 1;
      }
    }
    this.drain();
  }

  /** Takes the next deliverable event, or undefined; sets the throttle timer when one is due later. */
  private take(): E | undefined {
    if (this.pendingCount === 0) return undefined;
    const { same, throttleMs = 0, now = Date.now } = this.options;
    // The clock is only needed to throttle (0 = every event at once, the common case).
    const t = throttleMs > 0 ? now() : 0;
    const n = this.order.length;
    let nextDue = Number.POSITIVE_INFINITY;
    for (let k = 0; k < n; k++) {
      const i = (this.cursor + k) % n;
      const slot = this.order[i]!;
      const event = slot.pending;
      if (event === undefined) continue;
      if (slot.sent !== undefined && same?.(slot.sent, event)) {
        slot.pending = undefined;
        this.pendingCount -= 1;
        continue;
      }
      const due = slot.sent !== undefined ? slot.at + throttleMs : t;
      if (due > t) {
        nextDue = Math.min(nextDue, due);
        continue;
      }
      slot.pending = undefined;
      this.pendingCount -= 1;
      slot.sent = event;
      slot.at = t;
      this.cursor = (i + 1) % n;
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
    this.slots.clear();
    this.order.length = 0;
    this.pendingCount = 0;
    this.stop();
    for (const resolve of this.waiting.splice(0)) resolve(DONE);
  }
}
