import type { TracingConfig } from '../config.js';
import type { Tracing } from './types.js';

export type { RequestTrace, Tracing, UpstreamSpan } from './types.js';

// What the gateway sees of tracing. This module loads nothing of OpenTelemetry: with no OTLP endpoint
// configured, loadTracing answers undefined and no SDK, exporter or Envelop plugin is ever imported, so
// tracing costs nothing when off. With one, ./sdk.ts is imported once, at start (src/main.ts).
//
// A request's spans reach the HTTP layer by explicit passing, not through an ambient context manager:
// createContext hands the request's RequestTrace to services.forRequest, next to its upstream budget,
// and http.forRequest opens each provider call's span under the request's operation span.

/** The SDK when an OTLP endpoint is configured, nothing otherwise (nothing is imported then). */
export async function loadTracing(config: TracingConfig): Promise<Tracing | undefined> {
  if (!config.endpoint) return undefined;
  const { createTracing } = await import('./sdk.js');
  return createTracing({ ...config, endpoint: config.endpoint });
}
