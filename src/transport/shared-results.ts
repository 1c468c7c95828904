import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  GraphQLError,
} from 'graphql';
import { isAsyncIterable } from 'graphql-yoga';
import { SourceIterator } from './source-iterator.js';

// Executes each live event once per distinct (document, operation, variables), not once per subscriber,
// and serializes each such result once. graphql-js runs a subscription's selection set for every event
// and every subscriber; here the per-event execution is memoized by the event object (the feeds hand
// every subscriber the same object per event, see price-feed.ts) and the subscription's key, and every
// subscriber with that key gets the same ExecutionResult object. Its JSON text is computed on first use
// and reused by both transports: Yoga's SSE processor through the result's `stringify` hook, graphql-ws
// through `json()` (see ws-transport.ts).
// Contract: only valid where what a field answers depends on no more about the caller than `partition`
// tells (the caller's scope set: a field the caller's scopes do not cover is refused, so subscribers
// with different scopes never share a result; see src/auth/). Results with errors are not shared-
// serialized (Yoga and graphql-ws rewrite errors on their way out); they are still executed once.
// Errors are masked here, once per shared result, with the gateway's mask (Yoga's own masking would wrap
// every subscriber's stream in two more per-event iterator layers; see use-shared-subscription-results.ts).

export interface SharedResultsStats {
  /** Selection-set executions of live events. */
  executions: number;
  /** Results handed to subscribers (executions + reuses). */
  deliveries: number;
  /** JSON serializations of shared results. */
  serializations: number;
}

export interface SharedResults {
  /**
   * Drop-in for graphql's `subscribe` (give it to Envelop's setSubscribeFn). `onOpen` is called when the
   * subscriber's stream opens; what it returns is called once when that stream ends (the source ended
   * or failed, or the consumer returned), so a caller can watch streams without wrapping them.
   */
  subscribe(
    args: ExecutionArgs,
    onOpen?: () => () => void,
  ): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult>;
  /** The JSON text of a shared result (computed once), or undefined for any other value. */
  json(result: unknown): string | undefined;
  stats(): SharedResultsStats;
}

export interface SharedResultsOptions {
  /** Share execution and serialization (default true; off only to measure what it saves). */
  enabled?: boolean;
  /** Masks an error before a subscriber sees it (unexpected errors must not leak their message). */
  maskError?: (error: unknown) => GraphQLError;
  /** What about the subscriber its results depend on ('' when nothing): part of the sharing key. */
  partition?: (args: ExecutionArgs) => string;
}

export function createSharedResults(options: SharedResultsOptions = {}): SharedResults {
  const enabled = options.enabled ?? true;
  const maskError = options.maskError;
  const partition = options.partition;
  const documentIds = new WeakMap<DocumentNode, number>();
  let nextDocumentId = 1;
  /** Per event, per subscription key: the (pending) result. */
  const byEvent = new WeakMap<object, Map<string, ExecutionResult | Promise<ExecutionResult>>>();
  /** Shared results without errors → their JSON text ('' until first asked for). */
  const texts = new WeakMap<object, string>();
  const stats: SharedResultsStats = { executions: 0, deliveries: 0, serializations: 0 };

  function json(result: unknown): string | undefined {
    if (typeof result !== 'object' || result === null) return undefined;
    const text = texts.get(result);
    if (text === undefined) return undefined;
    if (text !== '') return text;
    const computed = JSON.stringify(result);
    stats.serializations += 1;
    texts.set(result, computed);
    return computed;
  }

  function masked(result: ExecutionResult): ExecutionResult {
    if (!maskError || result.errors === undefined || result.errors.length === 0) return result;
    return { ...result, errors: result.errors.map(maskError) };
  }

  function share(executed: ExecutionResult): ExecutionResult {
    const result = masked(executed);
    if (result.errors === undefined || result.errors.length === 0) {
      texts.set(result, '');
      // Yoga's SSE processor stringifies with `result.stringify` when present; it passes a copy when it
      // had to rewrite errors, and that copy is stringified normally.
      Object.defineProperty(result, 'stringify', {
        value: (value: unknown) => (value === result ? json(result)! : JSON.stringify(value)),
      });
    }
    return result;
  }

  function keyOf(args: ExecutionArgs): string {
    let id = documentIds.get(args.document);
    if (id === undefined) {
      id = nextDocumentId++;
      documentIds.set(args.document, id);
    }
    const key = `${id}\u0000${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? null)}`;
    return partition ? `${partition(args)}\u0000${key}` : key;
  }

  function executeOnce(args: ExecutionArgs, key: string, event: unknown) {
    stats.deliveries += 1;
    if (typeof event !== 'object' || event === null) {
      stats.executions += 1;
      return executeMasked(args, event);
    }
    let results = byEvent.get(event);
    if (!results) {
      results = new Map();
      byEvent.set(event, results);
    }
    let result = results.get(key);
    if (result === undefined) {
      stats.executions += 1;
      const executed = execute({ ...args, rootValue: event });
      result = executed instanceof Promise ? executed.then(share) : share(executed);
      results.set(key, result);
    }
    return result;
  }

  return {
    async subscribe(args, onOpen) {
      let stream: Awaited<ReturnType<typeof createSourceEventStream>>;
      try {
        stream = await createSourceEventStream(args);
      } catch (error) {
        // Thrown, not a GraphQL error (arguments graphql-js refuses, a bug): answered as a result, as
        // Envelop skips the subscribe-result hooks of a rejection, and the client-budget hook among
        // them frees the slot it took for this subscription only there.
        const unexpected = maskError
          ? maskError(error)
          : new GraphQLError('Unexpected error.', {
              originalError: error instanceof Error ? error : undefined,
              extensions: { code: 'INTERNAL_SERVER_ERROR' },
            });
        return { errors: [unexpected] };
      }
      if (!isAsyncIterable(stream)) return masked(stream);
      return new EventResults(
        stream[Symbol.asyncIterator](),
        args,
        keyOf(args),
        resultFor,
        maskError,
        onOpen?.(),
      );
    },
    json: (result) => (enabled ? json(result) : undefined),
    stats: () => ({ ...stats }),
  };

  function resultFor(args: ExecutionArgs, key: string, event: unknown) {
    if (enabled) return executeOnce(args, key, event);
    stats.executions += 1;
    stats.deliveries += 1;
    return executeMasked(args, event);
  }

  function executeMasked(args: ExecutionArgs, event: unknown) {
    const executed = execute({ ...args, rootValue: event });
    return executed instanceof Promise ? executed.then(masked) : masked(executed);
  }
}

type ResultFor = (
  args: ExecutionArgs,
  key: string,
  event: unknown,
) => ExecutionResult | Promise<ExecutionResult>;

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/** One subscriber's results: its source events, each mapped to the (shared) result for its key. */
class EventResults extends SourceIterator<ExecutionResult> {
  private readonly onStep: (step: IteratorResult<unknown>) => ReturnType<EventResults['mapStep']>;
  private readonly onSourceError: (error: unknown) => never;

  constructor(
    source: AsyncIterator<unknown>,
    private readonly args: ExecutionArgs,
    private readonly key: string,
    private readonly resultFor: ResultFor,
    private readonly maskError: ((error: unknown) => GraphQLError) | undefined,
    /** Called once when this stream ends, however it ends. */
    private onEnd: (() => void) | undefined,
  ) {
    super(source);
    // Assigned here, not as a field initializer: tsx (esbuild keepNames) tags named closures.
    this.onStep = (step) => this.mapStep(step);
    this.onSourceError = (error) => {
      this.end();
      throw this.maskError ? this.maskError(error) : error;
    };
  }

  override return(): Promise<IteratorResult<ExecutionResult>> {
    this.end();
    return super.return();
  }

  override throw(error?: unknown): Promise<IteratorResult<ExecutionResult>> {
    this.end();
    return super.throw(error);
  }

  private end(): void {
    const onEnd = this.onEnd;
    this.onEnd = undefined;
    onEnd?.();
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    // then() with a per-stream callback rather than async/await: fewer promise hops and no closure per
    // event, which matters at tens of thousands of events a second.
    return this.source.next().then(this.onStep, this.onSourceError);
  }

  private mapStep(
    step: IteratorResult<unknown>,
  ): IteratorResult<ExecutionResult> | Promise<IteratorResult<ExecutionResult>> {
    if (step.done) {
      this.end();
      return DONE;
    }
    const result = this.resultFor(this.args, this.key, step.value);
    return result instanceof Promise
      ? result.then(
          (value) => ({ value, done: false }),
          (error) => this.fail(error),
        )
      : { value: result, done: false };
  }

  private async fail(error: unknown): Promise<never> {
    this.end();
    await this.source.return?.();
    throw this.maskError ? this.maskError(error) : error;
  }
}
