import type { Config } from './config.js';
import type { Http } from './http/client.js';
import { QUOTE_PROVIDERS } from './market/quotes.js';

// What GET /ready answers: whether this process can serve, and each dependency's state. Not ready when
// Redis is configured but unusable (not connected, or marked late by its users, or no answer to a PING
// within `redisTimeoutMs`), or when no price provider could take a call (each one disabled, its breaker open,
// or held by a Retry-After). A half-open breaker counts as available: its probe is how it recovers.
// /health stays the cheap liveness probe; this one may cost one Redis round trip.

export interface RedisProbe {
  /** Whether Redis is usable now, as its users see it (no I/O). */
  ready(): boolean;
  ping(): Promise<unknown>;
}

export interface ReadinessDeps {
  config: Config;
  http: Pick<Http, 'health'>;
  /** Present in Redis mode. */
  redis?: RedisProbe;
  /** Budget of the Redis PING, ms (default 250; the gateway passes MARKETGRAPH_REDIS_TIMEOUT_MS). */
  redisTimeoutMs?: number;
  now?: () => number;
}

export type ProviderReadiness =
  | { available: true; breaker: 'closed' | 'half-open'; quotaLeft: number }
  | { available: false; reason: 'disabled' | 'breaker open' | 'rate limited'; until?: string };

export interface ReadinessReport {
  ready: boolean;
  /** Names of the dependencies that make it unready, each with what is wrong. */
  failing: Array<{ dependency: 'redis' | 'prices'; reason: string }>;
  redis: { state: 'off' | 'up' | 'down'; error?: string };
  prices: Record<string, ProviderReadiness>;
}

export function createReadiness(deps: ReadinessDeps): () => Promise<ReadinessReport> {
  const { config, http } = deps;
  const now = deps.now ?? Date.now;
  const redisTimeoutMs = deps.redisTimeoutMs ?? 250;

  const providerState = (provider: (typeof QUOTE_PROVIDERS)[number]): ProviderReadiness => {
    const settings = config.providers[provider];
    if (!settings.enabled || !settings.url) return { available: false, reason: 'disabled' };
    const health = http.health(provider);
    if (health.breaker === 'open') return { available: false, reason: 'breaker open' };
    if (health.blockedUntil > now()) {
      return { available: false, reason: 'rate limited', until: new Date(health.blockedUntil).toISOString() };
    }
    return { available: true, breaker: health.breaker, quotaLeft: health.quotaLeft };
  };

  const redisState = async (): Promise<ReadinessReport['redis']> => {
    const redis = deps.redis;
    if (!redis) return { state: 'off' };
    if (!redis.ready()) return { state: 'down', error: 'not connected, or not answering in time' };
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        redis.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no PING answer within ${redisTimeoutMs} ms`)),
            redisTimeoutMs,
          );
        }),
      ]);
      return { state: 'up' };
    } catch (error) {
      // A fixed text: Redis errors can name hosts, and this body is served to anyone who asks.
      const timedOut = error instanceof Error && error.message.startsWith('no PING answer');
      return { state: 'down', error: timedOut ? error.message : 'PING failed' };
    } finally {
      clearTimeout(timer);
    }
  };

  return async () => {
    const redis = await redisState();
    const prices = Object.fromEntries(QUOTE_PROVIDERS.map((p) => [p, providerState(p)]));
    const failing: ReadinessReport['failing'] = [];
    if (redis.state === 'down')
      failing.push({ dependency: 'redis', reason: `redis is down: ${redis.error}` });
    const unavailable = Object.entries(prices).filter(([, s]) => !s.available);
    if (unavailable.length === QUOTE_PROVIDERS.length) {
      const why = unavailable.map(([p, s]) => `${p}: ${(s as { reason: string }).reason}`).join(', ');
      failing.push({ dependency: 'prices', reason: `no price provider can take a call (${why})` });
    }
    return { ready: failing.length === 0, failing, redis, prices };
  };
}
