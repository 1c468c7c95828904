import { type Context, type Span, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import type { UpstreamName } from '../config.js';
import { UpstreamError } from '../errors.js';
import type { UpstreamSpan } from './types.js';

// One span per provider call, retries included: a CLIENT span named for the provider and endpoint
// (never the URL, which may hold a key), one event per attempt, and on its end the attempts, the time
// spent waiting to be let out (Retry-After, quota) and the client-facing error code when it failed.

export function startUpstreamSpan(
  tracer: Tracer,
  parent: Context,
  call: { provider: UpstreamName; endpoint: string },
): UpstreamSpan {
  const span: Span = tracer.startSpan(
    `upstream ${call.provider} ${call.endpoint}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'upstream.provider': call.provider,
        'upstream.endpoint': call.endpoint,
        'http.request.method': 'GET',
      },
    },
    parent,
  );
  let attempts = 0;
  let waitedMs = 0;
  return {
    waited(ms) {
      waitedMs += ms;
    },
    attempt({ attempt, status, outcome, latencyMs }) {
      attempts = attempt + 1;
      span.addEvent('attempt', {
        'upstream.attempt': attempt,
        'upstream.outcome': outcome,
        'upstream.latency_ms': latencyMs,
        ...(status !== undefined ? { 'http.response.status_code': status } : {}),
      });
      if (status !== undefined) span.setAttribute('http.response.status_code', status);
    },
    end(error) {
      span.setAttributes({
        'upstream.attempts': attempts,
        'upstream.retries': Math.max(0, attempts - 1),
        'upstream.wait_ms': Math.round(waitedMs),
      });
      if (error) {
        const code = error instanceof UpstreamError ? error.code : 'INTERNAL';
        span.setAttribute('error.type', code);
        // UpstreamError messages name provider, endpoint and status only (src/http.ts).
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: error instanceof UpstreamError ? error.message : code,
        });
      }
      span.end();
    },
  };
}
