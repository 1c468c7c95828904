import type { ZodType } from 'zod';
import type { Http, HttpCall } from '../http/types.js';

// One upstream call per distinct request: a call identical to one still in flight (same provider,
// path, query, headers, parse and schema) joins it instead of sending its own. The sources of one set
// (src/sources/index.ts) share it: the process's own set, and each request's over http.forRequest,
// whose calls spend that request's budget, so a joined call is always one the same budget paid for.
// (Two quote batches in different currencies ask Binance for the same USD tickers, say.) The HTTP
// client below stays literal: one get, one call, which its quota and breaker tests rely on.

export function shareIdentical(http: Http): Http {
  const inflight = new Map<ZodType<unknown>, Map<string, Promise<unknown>>>();
  const get = <T>(call: HttpCall<T>): Promise<T> => {
    const id = identity(call);
    const joined = inflight.get(call.schema)?.get(id);
    if (joined) return joined as Promise<T>;
    const promise = http.get(call);
    const bySchema = inflight.get(call.schema) ?? new Map<string, Promise<unknown>>();
    inflight.set(call.schema, bySchema);
    bySchema.set(id, promise);
    const done = () => {
      bySchema.delete(id);
      if (bySchema.size === 0 && inflight.get(call.schema) === bySchema) inflight.delete(call.schema);
    };
    promise.then(done, done);
    return promise;
  };
  return { get, health: (provider) => http.health(provider), close: () => http.close() };
}

function identity(call: HttpCall<unknown>): string {
  const query = Object.entries(call.query ?? {})
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const headers = Object.entries(call.headers ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([
    call.provider,
    call.endpoint,
    call.path,
    query,
    headers,
    call.parse ?? 'json',
    call.deadlineMs ?? null,
    call.cost ?? 1,
    call.envelopeError ? 'envelope' : '',
  ]);
}
