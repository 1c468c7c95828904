// The part every per-subscriber stream wrapper shares: it reads from a source iterator and, when its
// consumer leaves (return, or throw), ends the source so the source's listeners are released.

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

export abstract class SourceIterator<T> implements AsyncIterableIterator<T> {
  constructor(protected readonly source: AsyncIterator<unknown>) {}

  abstract next(): Promise<IteratorResult<T>>;

  async return(): Promise<IteratorResult<T>> {
    await this.source.return?.();
    return DONE;
  }

  async throw(error?: unknown): Promise<IteratorResult<T>> {
    await this.source.return?.();
    throw error;
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}
