import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { shiftedClock } from '../helpers/manual-clock.js';

// GET /health and GET /metrics through the gateway (yoga.fetch, as over a socket): the Prometheus
// series issue #3 names are present, carry their labels, and move as queries run and faults happen.

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text exposition format → samples (comments and blank lines skipped). */
function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key!] = value!;
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

describe('GET /health and GET /metrics', () => {
  // Market pages age on the gateway's clock, which the test jumps; the TTL is long beside the real
  // time the test takes, so "past the TTL, inside 2 × TTL" holds however slow the machine is.
  const MARKET_TTL_MS = 60_000;
  const clock = shiftedClock();
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({
      env: {
        MARKETGRAPH_TTL_MARKET_MS: String(MARKET_TTL_MS),
        MARKETGRAPH_BREAKER_THRESHOLD: '2',
        MARKETGRAPH_UPSTREAM_RETRIES: '0',
      },
      now: clock.now,
    });
  });
  afterAll(async () => {
    await t.close();
  });

  const get = (path: string) => t.gateway.yoga.fetch(`http://gateway.test${path}`, { method: 'GET' });
  const scrape = async () => {
    const response = await get('/metrics');
    expect(response.status).toBe(200);
    const samples = parsePrometheus(await response.text());
    return (name: string, labels: Record<string, string> = {}) =>
      samples
        .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((sum, s) => sum + s.value, 0);
  };

  it('answers /health with 200', async () => {
    expect((await get('/health')).status).toBe(200);
  });

  // Yoga's own health check would answer /health with an empty 200 before our plugin; it lives at
  // /health/live instead (src/server.ts).
  it('answers /health with a JSON body (status, profile)', async () => {
    const response = await get('/health');
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    expect(await response.json()).toMatchObject({ status: 'ok', profile: 'sandbox' });
  });

  it('serves /metrics as Prometheus text with every documented series', async () => {
    await t.query('{ assets(first: 5) { edges { node { id } } } }');
    const response = await get('/metrics');
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    for (const [name, type] of [
      ['marketgraph_upstream_requests_total', 'counter'],
      ['marketgraph_upstream_request_duration_seconds', 'histogram'],
      ['marketgraph_cache_events_total', 'counter'],
      ['marketgraph_breaker_state', 'gauge'],
      ['marketgraph_quota_tokens_left', 'gauge'],
    ]) {
      expect(text).toContain(`# TYPE ${name} ${type}`);
    }
    expect(() => parsePrometheus(text)).not.toThrow();
  });

  it('moves the upstream counters, latency histogram, cache events and quota gauge as queries run', async () => {
    const initial = await scrape();
    const ok = { provider: 'coingecko', endpoint: 'coins/markets', outcome: 'ok' };
    const page = { namespace: 'markets-page' };
    const query = '{ assets(first: 20, orderBy: VOLUME_DESC) { edges { node { id } } } }';

    const first = await t.query(query);
    expect(first.body.errors).toBeUndefined();
    const onMiss = await scrape();
    expect(onMiss('marketgraph_upstream_requests_total', ok)).toBe(
      initial('marketgraph_upstream_requests_total', ok) + 1,
    );
    const histogram = { provider: 'coingecko', endpoint: 'coins/markets' };
    expect(onMiss('marketgraph_upstream_request_duration_seconds_count', histogram)).toBe(
      initial('marketgraph_upstream_request_duration_seconds_count', histogram) + 1,
    );
    expect(onMiss('marketgraph_upstream_request_duration_seconds_sum', histogram)).toBeGreaterThan(
      initial('marketgraph_upstream_request_duration_seconds_sum', histogram),
    );
    expect(onMiss('marketgraph_upstream_request_duration_seconds_bucket', { ...histogram, le: '+Inf' })).toBe(
      onMiss('marketgraph_upstream_request_duration_seconds_count', histogram),
    );
    expect(onMiss('marketgraph_cache_events_total', { ...page, event: 'miss' })).toBe(
      initial('marketgraph_cache_events_total', { ...page, event: 'miss' }) + 1,
    );
    const quota = { provider: 'coingecko' };
    const rpm = t.config.providers.coingecko.rpm;
    expect(onMiss('marketgraph_quota_tokens_left', quota)).toBeLessThan(rpm);

    await t.query(query);
    const onHit = await scrape();
    expect(onHit('marketgraph_cache_events_total', { ...page, event: 'hit' })).toBe(
      onMiss('marketgraph_cache_events_total', { ...page, event: 'hit' }) + 1,
    );
    expect(onHit('marketgraph_upstream_requests_total', ok)).toBe(
      onMiss('marketgraph_upstream_requests_total', ok),
    );

    // Past its TTL (but inside 2 × TTL) the page is served stale and refreshed in the background.
    clock.advance(1.5 * MARKET_TTL_MS);
    await t.query(query);
    // The refresh runs in the background: wait for its call to be counted.
    for (let waited = 0; waited < 3000; waited += 50) {
      const now = await scrape();
      if (now('marketgraph_upstream_requests_total', ok) > onHit('marketgraph_upstream_requests_total', ok))
        break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const onStale = await scrape();
    expect(onStale('marketgraph_cache_events_total', { ...page, event: 'stale' })).toBe(
      onHit('marketgraph_cache_events_total', { ...page, event: 'stale' }) + 1,
    );
    expect(onStale('marketgraph_cache_events_total', { ...page, event: 'refresh' })).toBe(
      onHit('marketgraph_cache_events_total', { ...page, event: 'refresh' }) + 1,
    );
    expect(onStale('marketgraph_upstream_requests_total', ok)).toBe(
      onHit('marketgraph_upstream_requests_total', ok) + 1,
    );
    expect(onStale('marketgraph_quota_tokens_left', quota)).toBe(
      onMiss('marketgraph_quota_tokens_left', quota) - 1,
    );
  });

  it('reports failures by outcome and the breaker state per provider', async () => {
    const mempool = { provider: 'mempool' };
    const initial = await scrape();
    expect(initial('marketgraph_breaker_state', mempool)).toBe(0);
    t.sandbox.faults.set('mempool', 'blocks/tip/height', { kind: 'server-error', status: 503 });
    try {
      const query = '{ onChainMetrics(chain: "bitcoin", kinds: [BLOCK_HEIGHT]) { value } }';
      for (let i = 0; i < 3; i++) await t.query(query);
      const failing = await scrape();
      const labels = { provider: 'mempool', endpoint: 'blocks/tip/height' };
      expect(failing('marketgraph_upstream_requests_total', { ...labels, outcome: 'unavailable' })).toBe(
        initial('marketgraph_upstream_requests_total', { ...labels, outcome: 'unavailable' }) + 2,
      );
      expect(failing('marketgraph_upstream_requests_total', { ...labels, outcome: 'breaker_open' })).toBe(
        initial('marketgraph_upstream_requests_total', { ...labels, outcome: 'breaker_open' }) + 1,
      );
      expect(failing('marketgraph_breaker_state', mempool)).toBe(2);
      expect(failing('marketgraph_breaker_state', { provider: 'coingecko' })).toBe(0);
    } finally {
      t.sandbox.faults.clear();
    }
  });
});
