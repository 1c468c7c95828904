import { getCurrentOtelContext, useOpenTelemetry } from '@envelop/opentelemetry';
import { SpanKind } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import type { Plugin } from 'graphql-yoga';
import type { TracesSampler, TracingConfig } from '../config.js';
import { tracedCache } from './traced-cache.js';
import type { Tracing } from './types.js';
import { startUpstreamSpan } from './upstream-span.js';
import { usePhaseSpans } from './use-phase-spans.js';

// The OpenTelemetry SDK, built from config (never from process.env: src/main.ts read the OTEL_*
// variables into config.tracing). Loaded only by loadTracing (./tracing.ts), so only when tracing is on.
// No global tracer provider or context manager is registered: the operation's context is kept per
// Yoga context by Envelop's plugin (getCurrentOtelContext), which is where upstream spans read it.

const TRACER = 'marketgraph';

export function createTracing(config: TracingConfig & { endpoint: string }): Tracing {
  // Every setting is passed, so the exporter's own reading of the environment (which it merges under
  // what it is given) can add only the TLS certificate variables, which config does not carry.
  const exporter = new OTLPTraceExporter({
    url: config.endpoint,
    headers: { ...config.headers },
    timeoutMillis: config.timeoutMs,
    compression: config.compression === 'gzip' ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE,
  });
  const processor = new BatchSpanProcessor({ exporter });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.serviceName }),
    sampler: samplerFor(config.sampler, config.samplerRatio),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer(TRACER);
  const propagator = new W3CTraceContextPropagator();
  // Per-resolver spans would outnumber everything else; variables and results may carry what clients
  // would not want exported; documents with inline arguments are left out by the plugin.
  // Its context type names a symbol of its own that Yoga's context lacks; it reads nothing of it.
  const operationSpans = useOpenTelemetry(
    { resolvers: false, variables: false, result: false },
    provider,
    SpanKind.SERVER,
    {},
    TRACER,
  ) as Plugin;
  // Its subscription span would wrap every subscriber's stream in a per-event layer, which the shared
  // subscription results exist to avoid (plugins/use-shared-subscription-results.ts): subscriptions
  // get the parse and validate spans only.
  const { onSubscribe: _perEventLayer, ...queryAndMutationSpans } = operationSpans;
  const plugins: Plugin[] = [usePhaseSpans({ tracer, propagator }), queryAndMutationSpans];
  return {
    plugins,
    forRequest(yogaContext) {
      return {
        upstream: (call) => startUpstreamSpan(tracer, getCurrentOtelContext(yogaContext), call),
        cache: (cache) => tracedCache(cache, tracer, () => getCurrentOtelContext(yogaContext)),
      };
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

function samplerFor(name: TracesSampler, ratio: number): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}
