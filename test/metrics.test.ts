import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../src/metrics.js';

describe('createMetrics', () => {
  it('registers the documented marketgraph_ metrics in its own registry', async () => {
    const metrics = createMetrics();
    const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name).sort();
    expect(names).toEqual([
      'marketgraph_breaker_state',
      'marketgraph_cache_events_total',
      'marketgraph_cache_memory_bytes',
      'marketgraph_cache_memory_entries',
      'marketgraph_quota_tokens_left',
      'marketgraph_response_cache_bytes',
      'marketgraph_response_cache_entries',
      'marketgraph_response_cache_events_total',
      'marketgraph_upstream_request_duration_seconds',
      'marketgraph_upstream_requests_total',
    ]);
    // Two instances never collide: each has its own registry unless one is passed in.
    expect(() => createMetrics()).not.toThrow();
  });

  it('exposes helpers that land on the right labels', async () => {
    const registry = new Registry();
    const metrics = createMetrics(registry);
    expect(metrics.registry).toBe(registry);
    metrics.cacheEvent('price', 'hit');
    metrics.cacheEvent('price', 'hit');
    metrics.cacheEvent('candles', 'stale');
    metrics.recordUpstream({ provider: 'binance', endpoint: 'klines', outcome: 'ok', seconds: 0.12 });
    metrics.recordUpstream({ provider: 'binance', endpoint: 'klines', outcome: 'breaker_open' });
    metrics.setBreakerState('binance', 'half-open');
    metrics.setQuotaLeft('binance', 1187);
    const text = await registry.metrics();
    expect(text).toContain('marketgraph_cache_events_total{namespace="price",event="hit"} 2');
    expect(text).toContain('marketgraph_cache_events_total{namespace="candles",event="stale"} 1');
    expect(text).toContain(
      'marketgraph_upstream_requests_total{provider="binance",endpoint="klines",outcome="ok"} 1',
    );
    expect(text).toContain(
      'marketgraph_upstream_requests_total{provider="binance",endpoint="klines",outcome="breaker_open"} 1',
    );
    expect(text).toContain(
      'marketgraph_upstream_request_duration_seconds_count{provider="binance",endpoint="klines"} 1',
    );
    expect(text).toContain(
      'marketgraph_upstream_request_duration_seconds_bucket{le="0.25",provider="binance",endpoint="klines"} 1',
    );
    expect(text).toContain('marketgraph_breaker_state{provider="binance"} 1');
    expect(text).toContain('marketgraph_quota_tokens_left{provider="binance"} 1187');
  });

  it('counts response cache events with a reason only for skips, and reads its size when scraped', async () => {
    const metrics = createMetrics();
    metrics.responseCacheEvent('hit');
    metrics.responseCacheEvent('hit');
    metrics.responseCacheEvent('skip', 'stale');
    let bytes = 100;
    metrics.observeResponseCacheSize(() => ({ bytes, entries: 1 }));
    bytes = 250;
    const text = await metrics.registry.metrics();
    expect(text).toContain('marketgraph_response_cache_events_total{event="hit",reason=""} 2');
    expect(text).toContain('marketgraph_response_cache_events_total{event="skip",reason="stale"} 1');
    expect(text).toContain('marketgraph_response_cache_bytes 250');
    expect(text).toContain('marketgraph_response_cache_entries 1');
  });

  it('reports Redis only once it is configured, and the cache tier at each scrape', async () => {
    const metrics = createMetrics();
    expect(await metrics.registry.metrics()).not.toContain('marketgraph_redis_up');
    metrics.setRedisUp(false);
    expect(await metrics.registry.metrics()).toContain('marketgraph_redis_up 0');
    metrics.setRedisUp(true);
    expect(await metrics.registry.metrics()).toContain('marketgraph_redis_up 1');
    let bytes = 1_000;
    metrics.observeCache({ size: () => 3, bytes: () => bytes });
    expect(await metrics.registry.metrics()).toContain('marketgraph_cache_memory_bytes 1000');
    bytes = 2_500;
    const text = await metrics.registry.metrics();
    expect(text).toContain('marketgraph_cache_memory_bytes 2500');
    expect(text).toContain('marketgraph_cache_memory_entries 3');
  });

  it('adds prefixed default process metrics only when asked', async () => {
    const metrics = createMetrics(new Registry(), { defaultMetrics: true });
    const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names).toContain('marketgraph_process_cpu_user_seconds_total');
    expect(names.filter((n) => !n.startsWith('marketgraph_'))).toEqual([]);
  });
});
