import { getCurrentOtelContext, setCurrentOtelContext } from '@envelop/opentelemetry';
import {
  ROOT_CONTEXT,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapPropagator,
  type Tracer,
} from '@opentelemetry/api';
import type { Plugin } from 'graphql-yoga';

// What Envelop's OpenTelemetry plugin does not do: it opens the operation (execute) span under whatever
// context it holds for the Yoga context, and names no parent of its own. This plugin, before it, gives
// that context the client's W3C traceparent (and tracestate) and opens the parse and validate spans
// under it, so all three phases, and every upstream call below the operation, share the client's trace.

type HeaderBag = { get(name: string): string | null } | Record<string, string | string[] | undefined>;

/** Reads Fetch Headers (HTTP, SSE) and node's header objects (a graphql-ws upgrade request) alike. */
const headerGetter: TextMapGetter<HeaderBag> = {
  get(carrier, key) {
    if (typeof carrier.get === 'function')
      return (carrier.get as (name: string) => string | null)(key) ?? undefined;
    return (carrier as Record<string, string | string[] | undefined>)[key];
  },
  keys(carrier) {
    if (typeof carrier.get === 'function') return [...(carrier as unknown as Headers).keys()];
    return Object.keys(carrier);
  },
};

export function usePhaseSpans(deps: { tracer: Tracer; propagator: TextMapPropagator }): Plugin {
  const { tracer, propagator } = deps;
  return {
    onParse({ context }) {
      // HTTP and SSE contexts carry the Fetch request; graphql-ws ones the upgrade request as `req`.
      const { request, req } = context as {
        request?: { headers?: HeaderBag };
        req?: { headers?: HeaderBag };
      };
      const headers = request?.headers ?? req?.headers;
      const parent = headers ? propagator.extract(ROOT_CONTEXT, headers, headerGetter) : ROOT_CONTEXT;
      const span = tracer.startSpan('graphql.parse', {}, setCurrentOtelContext(context, parent));
      return ({ result }) => {
        if (result instanceof Error) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: result.message });
        }
        span.end();
      };
    },
    onValidate({ context }) {
      const span = tracer.startSpan('graphql.validate', {}, getCurrentOtelContext(context));
      return ({ valid, result }) => {
        if (!valid) {
          span.setAttribute('graphql.validation.errors', result.length);
          span.setStatus({ code: SpanStatusCode.ERROR, message: result[0]?.message });
        }
        span.end();
      };
    },
  };
}
