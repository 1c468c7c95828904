import { UPSTREAMS, type UpstreamName } from '../../config.js';
import type { LastFailure } from '../../http.js';
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
  const Breaker = builder.enumType('BreakerState', { values: ['CLOSED', 'OPEN', 'HALF_OPEN'] as const });
  const UpstreamCode = builder.enumType('UpstreamErrorCode', {
    description: "The `extensions.code` of a provider's failure.",
    values: UPSTREAM_CODES,
  });
  const Failure = builder.objectRef<LastFailure>('SourceFailure').implement({
    description: 'A failed or refused call to a provider, as a client was told it.',
    fields: (t) => ({
      code: t.expose('code', { type: UpstreamCode }),
      message: t.exposeString('message', {
        description: "Provider, endpoint and a short reason of ours; never the provider's own text.",
      }),
      endpoint: t.exposeString('endpoint', { nullable: true }),
      status: t.exposeInt('status', {
        nullable: true,
        description: 'HTTP status, when the provider answered.',
      }),
      at: t.field({ type: 'DateTime', resolve: (failure) => new Date(failure.at) }),
    }),
  });
  const Source = builder.objectRef<SourceStatus>('Source').implement({
    description: 'An upstream provider and how this gateway process sees it right now.',
    fields: (t) => ({
      name: t.exposeString('name'),
      enabled: t.exposeBoolean('enabled', {
        description: 'False for keyed providers without a key, or when turned off.',
      }),
      healthy: t.exposeBoolean('healthy', {
        description: 'Enabled, breaker closed and not asked to back off.',
      }),
      breaker: t.expose('breaker', { type: Breaker }),
      quotaLeft: t.exposeInt('quotaLeft', { description: 'Requests left in the current quota window.' }),
      requestsPerMinute: t.exposeInt('requestsPerMinute', {
        description: 'The quota this gateway keeps to.',
      }),
      lastLatencyMs: t.exposeFloat('lastLatencyMs', { nullable: true }),
      lastError: t.exposeString('lastError', {
        nullable: true,
        deprecationReason: 'Use lastFailure { code message at }.',
      }),
      lastFailure: t.expose('lastFailure', {
        type: Failure,
        nullable: true,
        description: 'The last failed or refused call this process made to the provider.',
      }),
      blockedUntil: t.expose('blockedUntil', {
        type: 'DateTime',
        nullable: true,
        description: 'Set while the provider asked us (Retry-After) to wait.',
      }),
    }),
  });

  builder.queryField('sources', (t) =>
    t.field({
      type: [Source],
      resolve: (_root, _args, ctx) =>
        UPSTREAMS.map((name) => {
          const config = ctx.services.config.providers[name];
          const health = ctx.services.http.health(name);
          const breaker =
            health.breaker === 'half-open' ? 'HALF_OPEN' : health.breaker === 'open' ? 'OPEN' : 'CLOSED';
          const blocked = health.blockedUntil > Date.now();
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
