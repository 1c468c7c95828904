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
      'marketgraph_operation_duration_seconds',
      'marketgraph_operation_errors_total',
      'marketgraph_quota_tokens_left',
      'marketgraph_quota_tokens_limit',
      'marketgraph_response_cache_bytes',
      'marketgraph_response_cache_entries',
      'marketgraph_response_cache_events_total',
      'marketgraph_subscriptions_active',
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
    metrics.setQuotaLimit('binance', 1200);
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
    expect(text).toContain('marketgraph_quota_tokens_limit{provider="binance"} 1200');
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

  it('adds the default process metrics under their standard names (no prefix) only when asked', async () => {
    const metrics = createMetrics(new Registry(), { defaultMetrics: true });
    const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
    // The names stock Node.js dashboards and alerts key on.
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_gc_duration_seconds',
    ]) {
      expect(names).toContain(name);
    }
    expect(
      names.filter((n) => n.startsWith('marketgraph_process_') || n.startsWith('marketgraph_nodejs_')),
    ).toEqual([]);
    const without = (await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name);
    expect(without.filter((n) => !n.startsWith('marketgraph_'))).toEqual([]);
  });

  it('records operations by name, type and status, and errors by code', async () => {
    const metrics = createMetrics();
    metrics.recordOperation({ name: 'Prices', type: 'query', status: 'ok', seconds: 0.02, errorCodes: [] });
    metrics.recordOperation({
      name: 'Prices',
      type: 'query',
      status: 'partial',
      seconds: 0.3,
      errorCodes: ['UPSTREAM_TIMEOUT', 'UPSTREAM_TIMEOUT', 'NOT_FOUND'],
    });
    metrics.recordOperation({
      name: undefined,
      type: 'unknown',
      status: 'error',
      seconds: 0.001,
      errorCodes: [],
    });
    metrics.addActiveSubscriptions('sse', 1);
    metrics.addActiveSubscriptions('sse', 1);
    metrics.addActiveSubscriptions('sse', -1);
    const text = await metrics.registry.metrics();
    expect(text).toContain(
      'marketgraph_operation_duration_seconds_bucket{le="0.025",operation="Prices",type="query",status="ok"} 1',
    );
    expect(text).toContain(
      'marketgraph_operation_duration_seconds_count{operation="Prices",type="query",status="partial"} 1',
    );
    expect(text).toContain(
      'marketgraph_operation_duration_seconds_count{operation="unnamed",type="unknown",status="error"} 1',
    );
    expect(text).toContain('marketgraph_operation_errors_total{code="UPSTREAM_TIMEOUT"} 2');
    expect(text).toContain('marketgraph_operation_errors_total{code="NOT_FOUND"} 1');
    expect(text).toContain('marketgraph_subscriptions_active{transport="sse"} 1');
    // Both transports are reported from the start, at 0, so a dashboard shows a line, not "no data".
    expect(text).toContain('marketgraph_subscriptions_active{transport="graphql-ws"} 0');
  });

  it('keeps operation names as label values only up to maxOperationNames, then counts them as other', async () => {
    const metrics = createMetrics(new Registry(), { maxOperationNames: 2 });
    for (const name of ['A', 'B', 'C', 'D', 'A']) {
      metrics.recordOperation({ name, type: 'query', status: 'ok', seconds: 0.01, errorCodes: [] });
    }
    const [histogram] = (await metrics.registry.getMetricsAsJSON()).filter(
      (m) => m.name === 'marketgraph_operation_duration_seconds',
    );
    const count = (operation: string) =>
      histogram!.values
        .filter(
          (v) =>
            (v as { metricName?: string }).metricName?.endsWith('_count') && v.labels.operation === operation,
        )
        .reduce((sum, v) => sum + v.value, 0);
    expect([count('A'), count('B'), count('C'), count('D'), count('other')]).toEqual([2, 1, 0, 0, 2]);
  });
});
