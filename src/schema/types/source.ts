import { UPSTREAMS, type UpstreamName } from '../../config.js';
import type { LastFailure } from '../../http/client.js';
import type { Builder } from '../builder.js';

// Query.sources: every provider with its live status, so clients and operators can see why an answer
// came from where it did. A failure is told in the same fixed terms as the error a client got for it
// (code, endpoint, status, our own short message), never in the provider's words.

interface SourceStatus {
  name: UpstreamName;
  enabled: boolean;
  healthy: boolean;
  breaker: 'CLOSED' | 'OPEN' | 'HALF_OPEN';
  quotaLeft: number;
  requestsPerMinute: number;
  lastLatencyMs: number | null;
  lastError: string | null;
  lastFailure: LastFailure | null;
  blockedUntil: Date | null;
}

const UPSTREAM_CODES = [
  'UPSTREAM_RATE_LIMITED',
  'UPSTREAM_UNAVAILABLE',
  'UPSTREAM_TIMEOUT',
  'UPSTREAM_BAD_RESPONSE',
] as const satisfies readonly LastFailure['code'][];

export function addSource(builder: Builder) {
  const Breaker = builder.enumType('BreakerState', {
    description: "A provider's circuit breaker.",
    values: {
      CLOSED: { description: 'Calls go through.' },
      OPEN: { description: 'Too many failures in a row: calls are refused at once until a probe is due.' },
      HALF_OPEN: { description: 'One probe call is allowed; its outcome closes or reopens the breaker.' },
    } as const,
  });
  const UpstreamCode = builder.enumType('UpstreamErrorCode', {
    description: "The `extensions.code` of a provider's failure.",
    values: {
      UPSTREAM_RATE_LIMITED: {
        description:
          'The provider (or our own quota for it) said wait; `extensions.retryAfter` is in seconds.',
      },
      UPSTREAM_UNAVAILABLE: { description: 'Network error, 5xx, geo-block, or the circuit breaker is open.' },
      UPSTREAM_TIMEOUT: { description: 'The provider did not answer within the deadline.' },
      UPSTREAM_BAD_RESPONSE: {
        description: 'HTML instead of JSON, a malformed or unexpected body, or an error envelope.',
      },
    } satisfies Record<(typeof UPSTREAM_CODES)[number], { description: string }>,
  });
  const Failure = builder.objectRef<LastFailure>('SourceFailure').implement({
    description: 'A failed or refused call to a provider, as a client was told it.',
    fields: (t) => ({
      code: t.expose('code', { type: UpstreamCode, description: 'What kind of failure it was.' }),
      message: t.exposeString('message', {
        description: "Provider, endpoint and a short reason of ours; never the provider's own text.",
      }),
      endpoint: t.exposeString('endpoint', {
        nullable: true,
        description:
          'Our name for the provider endpoint, e.g. "simple/price"; null when the failure was not tied to one.',
      }),
      status: t.exposeInt('status', {
        nullable: true,
        description: 'HTTP status, when the provider answered.',
      }),
      at: t.field({
        type: 'DateTime',
        description: 'When the call failed.',
        resolve: (failure) => new Date(failure.at),
      }),
    }),
  });
  const Source = builder.objectRef<SourceStatus>('Source').implement({
    description: 'An upstream provider and how this gateway process sees it right now.',
    fields: (t) => ({
      name: t.exposeString('name', {
        description: 'Provider name in lower case, e.g. "coingecko" (the Provider value, lower-cased).',
      }),
      enabled: t.exposeBoolean('enabled', {
        description: 'False for keyed providers without a key, or when turned off.',
      }),
      healthy: t.exposeBoolean('healthy', {
        description: 'Enabled, breaker closed and not asked to back off.',
      }),
      breaker: t.expose('breaker', { type: Breaker, description: 'State of its circuit breaker.' }),
      quotaLeft: t.exposeInt('quotaLeft', { description: 'Requests left in the current quota window.' }),
      requestsPerMinute: t.exposeInt('requestsPerMinute', {
        description: 'The quota this gateway keeps to.',
      }),
      lastLatencyMs: t.exposeFloat('lastLatencyMs', {
        nullable: true,
        description:
          'Duration of the last attempt (answered or not), in milliseconds; null before the first.',
      }),
      lastError: t.exposeString('lastError', {
        authScopes: { sourcesDetail: true },
        nullable: true,
        description: 'Message of the last failure; null when none.',
        deprecationReason: 'Use lastFailure { code message at }.',
      }),
      lastFailure: t.expose('lastFailure', {
        authScopes: { sourcesDetail: true },
        type: Failure,
        nullable: true,
        description: 'The last failed or refused call this process made to the provider; null when none.',
      }),
      blockedUntil: t.expose('blockedUntil', {
        authScopes: { sourcesDetail: true },
        type: 'DateTime',
        nullable: true,
        description: 'Until when the provider asked us (Retry-After) to wait; null when it did not.',
      }),
    }),
  });

  builder.queryField('sources', (t) =>
    t.field({
      type: [Source],
      description: 'Every upstream provider with its state in this gateway process.',
      resolve: (_root, _args, ctx) =>
        UPSTREAMS.map((name) => {
          const config = ctx.services.config.providers[name];
          const health = ctx.services.http.health(name);
          const breaker =
            health.breaker === 'half-open' ? 'HALF_OPEN' : health.breaker === 'open' ? 'OPEN' : 'CLOSED';
          // health() reports 0 unless blocked on the upstream client's own clock.
          const blocked = health.blockedUntil > 0;
          return {
            name,
            enabled: config.enabled,
            healthy: config.enabled && breaker === 'CLOSED' && !blocked,
            breaker,
            quotaLeft: Math.max(0, Math.floor(health.quotaLeft)),
            requestsPerMinute: config.rpm,
            lastLatencyMs: health.lastLatencyMs,
            lastError: health.lastFailure?.message ?? null,
            lastFailure: health.lastFailure,
            blockedUntil: blocked ? new Date(health.blockedUntil) : null,
          };
        }),
    }),
  );
}
