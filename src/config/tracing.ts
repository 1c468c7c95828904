import { z } from 'zod';
import { bool, type GroupValues, httpUrl, nonEmpty, setting, wholeNumber } from './setting.js';

// The OpenTelemetry SDK's standard variables, one row each, and the TracingConfig derived from them.
// They are rows like every other setting (README's table, --help, one readable error); what the SDK
// means by them (a traces endpoint wins over the base one plus /v1/traces, an exporter of `none` or
// OTEL_SDK_DISABLED turns tracing off) is applied once, by tracingConfig below.

export type TracesSampler =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

export interface TracingConfig {
  /** Where spans are POSTed (OTLP/HTTP JSON, the traces URL itself); undefined = tracing off. */
  endpoint: string | undefined;
  serviceName: string;
  /** Sent with every export (e.g. a collector's auth token); treated as secrets. */
  headers: Readonly<Record<string, string>>;
  sampler: TracesSampler;
  /** The ratio of the traceidratio samplers, 0 to 1. */
  samplerRatio: number;
  /** One export's timeout, ms. */
  timeoutMs: number;
  compression: 'none' | 'gzip';
}

const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

const compression = z.enum(['none', 'gzip'], { message: 'must be none or gzip' });
const onlyJson = z.literal('http/json', { message: 'only http/json is supported' });
const ratio = z
  .string()
  .transform(Number)
  .pipe(
    z
      .number({ message: 'must be a number from 0 to 1' })
      .min(0, { message: 'must be a number from 0 to 1' })
      .max(1, { message: 'must be a number from 0 to 1' }),
  );

/** `name=value,name=value`, values percent-encoded (the OTLP exporter's format). */
const otlpHeaders = z.string().transform((raw, ctx) => {
  const headers: Record<string, string> = {};
  for (const pair of raw.split(',')) {
    if (pair.trim() === '') continue;
    const at = pair.indexOf('=');
    const name = at > 0 ? pair.slice(0, at).trim() : '';
    let value: string | undefined;
    try {
      value = at > 0 ? decodeURIComponent(pair.slice(at + 1).trim()) : undefined;
    } catch {
      value = undefined;
    }
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || value === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must be name=value pairs separated by commas' });
      return z.NEVER;
    }
    headers[name.toLowerCase()] = value;
  }
  return headers;
});

export const OTEL_SETTINGS = {
  endpoint: setting<string | undefined>({
    env: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    parse: httpUrl,
    default: undefined,
    shown: 'off',
    doc: 'OTLP/HTTP collector base URL; spans go to `<url>/v1/traces`. Setting it turns tracing on (see Tracing)',
  }),
  tracesEndpoint: setting<string | undefined>({
    env: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    parse: httpUrl,
    default: undefined,
    shown: '—',
    doc: 'the traces URL itself, used as given; wins over `OTEL_EXPORTER_OTLP_ENDPOINT`',
  }),
  headers: setting<Record<string, string>>({
    env: 'OTEL_EXPORTER_OTLP_HEADERS',
    parse: otlpHeaders,
    default: {},
    shown: '—',
    doc: 'headers sent with every export, `name=value,…` percent-encoded',
    secret: true,
  }),
  tracesHeaders: setting<Record<string, string>>({
    env: 'OTEL_EXPORTER_OTLP_TRACES_HEADERS',
    parse: otlpHeaders,
    default: {},
    shown: '—',
    doc: 'as `OTEL_EXPORTER_OTLP_HEADERS`, for traces only; wins name by name',
    secret: true,
  }),
  protocol: setting<'http/json' | undefined>({
    env: 'OTEL_EXPORTER_OTLP_PROTOCOL',
    parse: onlyJson,
    default: undefined,
    shown: '`http/json`',
    doc: 'only `http/json` is exported; any other value stops start-up rather than being ignored',
  }),
  tracesProtocol: setting<'http/json' | undefined>({
    env: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
    parse: onlyJson,
    default: undefined,
    shown: '`http/json`',
    doc: 'as `OTEL_EXPORTER_OTLP_PROTOCOL`, for traces only',
  }),
  timeoutMs: setting({
    env: 'OTEL_EXPORTER_OTLP_TIMEOUT',
    parse: wholeNumber(1, 600_000),
    default: 10_000,
    doc: "one export's timeout, ms",
  }),
  tracesTimeoutMs: setting<number | undefined>({
    env: 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT',
    parse: wholeNumber(1, 600_000),
    default: undefined,
    shown: '`OTEL_EXPORTER_OTLP_TIMEOUT`',
    doc: "one traces export's timeout, ms",
  }),
  compression: setting({
    env: 'OTEL_EXPORTER_OTLP_COMPRESSION',
    parse: compression,
    default: 'none',
    doc: 'export body compression: `none` or `gzip`',
  }),
  tracesCompression: setting<'none' | 'gzip' | undefined>({
    env: 'OTEL_EXPORTER_OTLP_TRACES_COMPRESSION',
    parse: compression,
    default: undefined,
    shown: '`OTEL_EXPORTER_OTLP_COMPRESSION`',
    doc: 'as `OTEL_EXPORTER_OTLP_COMPRESSION`, for traces only',
  }),
  serviceName: setting({
    env: 'OTEL_SERVICE_NAME',
    parse: nonEmpty,
    default: 'marketgraph',
    doc: '`service.name` of every span',
  }),
  sampler: setting({
    env: 'OTEL_TRACES_SAMPLER',
    parse: z.enum(SAMPLERS, { message: `must be one of ${SAMPLERS.join(', ')}` }),
    default: 'parentbased_always_on',
    doc: `sampler: ${SAMPLERS.map((s) => `\`${s}\``).join(', ')}`,
  }),
  samplerRatio: setting({
    env: 'OTEL_TRACES_SAMPLER_ARG',
    parse: ratio,
    default: 1,
    doc: 'ratio of the `traceidratio` samplers, 0 to 1',
  }),
  exporter: setting({
    env: 'OTEL_TRACES_EXPORTER',
    parse: z.enum(['otlp', 'none'], { message: 'must be otlp or none' }),
    default: 'otlp',
    doc: '`none` turns tracing off',
  }),
  disabled: setting({
    env: 'OTEL_SDK_DISABLED',
    parse: bool,
    default: false,
    doc: '`true` turns tracing off',
  }),
};

type OtelValues = GroupValues<typeof OTEL_SETTINGS>;

/** What the SDK makes of the variables: the traces endpoint (or none), headers and limits merged. */
export function tracingConfig(otel: OtelValues): TracingConfig {
  const endpoint = otel.tracesEndpoint ?? (otel.endpoint ? `${otel.endpoint}/v1/traces` : undefined);
  return {
    endpoint: otel.disabled || otel.exporter === 'none' ? undefined : endpoint,
    serviceName: otel.serviceName,
    headers: { ...otel.headers, ...otel.tracesHeaders },
    sampler: otel.sampler,
    samplerRatio: otel.samplerRatio,
    timeoutMs: otel.tracesTimeoutMs ?? otel.timeoutMs,
    compression: otel.tracesCompression ?? otel.compression,
  };
}
