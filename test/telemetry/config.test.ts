import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { collectConfigSecrets } from '../../src/http/redact.js';

// config.tracing from the standard OpenTelemetry variables (src/config.ts tracingSettings).

const tracing = (env: Record<string, string>) => loadConfig({ env }).tracing;

describe('tracing settings', () => {
  it('is off without an OTLP endpoint, with the SDK defaults otherwise', () => {
    expect(tracing({})).toEqual({
      endpoint: undefined,
      serviceName: 'marketgraph',
      headers: {},
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
      timeoutMs: 10_000,
      compression: 'none',
    });
  });

  it('sends to <OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces, or to the traces endpoint as given', () => {
    expect(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).endpoint).toBe(
      'http://collector:4318/v1/traces',
    );
    expect(
      tracing({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/otlp',
      }).endpoint,
    ).toBe('https://traces.example/otlp');
  });

  it('stays off when the SDK is disabled or the traces exporter is none', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    expect(tracing({ ...endpoint, OTEL_SDK_DISABLED: 'true' }).endpoint).toBeUndefined();
    expect(tracing({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' }).endpoint).toBeUndefined();
  });

  it('reads the service name, sampler and headers (traces headers win, values percent-decoded)', () => {
    expect(
      tracing({
        OTEL_SERVICE_NAME: 'gateway-eu',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
        OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20abc,x-team=markets',
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-team=traces',
        OTEL_EXPORTER_OTLP_TIMEOUT: '3000',
        OTEL_EXPORTER_OTLP_COMPRESSION: 'none',
        OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'gzip',
      }),
    ).toMatchObject({
      serviceName: 'gateway-eu',
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.25,
      headers: { authorization: 'Bearer abc', 'x-team': 'traces' },
      timeoutMs: 3000,
      compression: 'gzip',
    });
  });

  it.each([
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' },
      /^OTEL_EXPORTER_OTLP_ENDPOINT: must be an http\(s\) URL/,
    ],
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, /^OTEL_EXPORTER_OTLP_PROTOCOL: only http\/json is supported/],
    [
      { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' },
      /^OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: only http\/json is supported/,
    ],
    [{ OTEL_TRACES_EXPORTER: 'zipkin' }, /^OTEL_TRACES_EXPORTER: must be otlp or none/],
    [{ OTEL_TRACES_SAMPLER: 'sometimes' }, /^OTEL_TRACES_SAMPLER: must be one of always_on/],
    [{ OTEL_TRACES_SAMPLER_ARG: '1.5' }, /^OTEL_TRACES_SAMPLER_ARG: must be a number from 0 to 1/],
    [{ OTEL_TRACES_SAMPLER_ARG: 'half' }, /^OTEL_TRACES_SAMPLER_ARG: must be a number from 0 to 1/],
    [
      { OTEL_EXPORTER_OTLP_HEADERS: 'no-equals-sign' },
      /^OTEL_EXPORTER_OTLP_HEADERS: must be name=value pairs/,
    ],
  ])('refuses %o', (env, message) => {
    expect(() => loadConfig({ env })).toThrow(ConfigError);
    expect(() => loadConfig({ env })).toThrow(message);
  });

  it('treats the exporter headers as secrets, so no log line can show them', () => {
    const config = loadConfig({
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20collector-secret',
      },
    });
    expect(collectConfigSecrets(config)).toEqual(
      expect.arrayContaining(['Bearer collector-secret', 'collector-secret']),
    );
    expect(collectConfigSecrets(config)).not.toContain('Bearer');
  });
});
