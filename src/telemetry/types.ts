import type { Plugin } from 'graphql-yoga';
import type { Cache } from '../cache.js';
import type { UpstreamName } from '../config.js';

// What the gateway sees of tracing, as types only: the SDK side (./sdk.ts) implements them and
// ./tracing.ts loads it, so neither imports the other's module for them.

/** One provider call (with its retries), as seen by its span. */
export interface UpstreamSpan {
  /** Time an attempt waited to be let out: Retry-After block, quota token. */
  waited(ms: number): void;
  /** One attempt that left the process. */
  attempt(result: { attempt: number; status: number | undefined; outcome: string; latencyMs: number }): void;
  /** The call's end; `error` is what the caller gets (an UpstreamError), none on success. */
  end(error?: unknown): void;
}

/** One request's place in its trace: where its upstream calls and cache lookups hang. */
export interface RequestTrace {
  upstream(call: { provider: UpstreamName; endpoint: string }): UpstreamSpan;
  /** The cache as this request reads it: one span per lookup, with hits and misses. */
  cache(cache: Cache): Cache;
}

export interface Tracing {
  /**
   * For Yoga, in this order: the client's W3C traceparent and the parse and validate spans, then
   * Envelop's OpenTelemetry plugin (the operation span).
   */
  plugins: Plugin[];
  /** The trace of the request whose Yoga context this is (the same object through parse and execute). */
  forRequest(yogaContext: object): RequestTrace;
  /** Exports every ended span now. */
  flush(): Promise<void>;
  /** Exports what is left and stops. */
  shutdown(): Promise<void>;
}
