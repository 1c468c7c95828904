import { UPSTREAMS, type UpstreamName } from '../../config.js';
import type { Builder } from '../builder.js';

// Query.sources: every provider with its live status, so clients and operators can see why an answer
// came from where it did.

interface SourceStatus {
  name: UpstreamName;
  enabled: boolean;
  healthy: boolean;
  breaker: 'CLOSED' | 'OPEN' | 'HALF_OPEN';
  quotaLeft: number;
  requestsPerMinute: number;
  lastLatencyMs: number | null;
  lastError: string | null;
  blockedUntil: Date | null;
}

export function addSource(builder: Builder) {
  const Breaker = builder.enumType('BreakerState', { values: ['CLOSED', 'OPEN', 'HALF_OPEN'] as const });
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
      lastError: t.exposeString('lastError', { nullable: true }),
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
            lastError: health.lastError,
            blockedUntil: blocked ? new Date(health.blockedUntil) : null,
          };
        }),
    }),
  );
}
