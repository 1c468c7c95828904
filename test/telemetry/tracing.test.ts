import { randomBytes } from 'node:crypto';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config.js';
import { loadTracing, type Tracing } from '../../src/telemetry/tracing.js';
import { onlyUpstreams, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../helpers/otlp-receiver.js';
import { firstSseEvents } from '../helpers/yoga-stream.js';

// Issue #13 part 2, end to end: a gateway with tracing loaded from the standard OTEL_* variables
// exports to an OTLP/HTTP receiver on loopback; a client's traceparent makes the operation's spans
// part of the client's trace, and each provider call is a child span of the operation's span.

function traceparent(): { header: string; traceId: string; spanId: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { header: `00-${traceId}-${spanId}-01`, traceId, spanId };
}

async function until<T>(read: () => T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('tracing over OTLP/HTTP', () => {
  let receiver: OtlpReceiver;
  let tracing: Tracing;
  let t: TestGateway;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    const env = {
      ...onlyUpstreams('coingecko'),
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: 'marketgraph-under-test',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20collector-token',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    };
    const loaded = await loadTracing(loadConfig({ env }).tracing);
    if (!loaded) throw new Error('tracing did not load with OTEL_EXPORTER_OTLP_ENDPOINT set');
    tracing = loaded;
    t = await startTestGateway({ env, sandbox: { providers: ['coingecko'] }, tracing });
    // The asset catalogue is the process's (fetched once, for no request): load it before the traces.
    await t.query('{ asset(id: "ethereum") { id } }');
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  /** POSTs `query` as a client in trace `parent` would, and waits for its spans to be exported. */
  async function tracedQuery(query: string, parent = traceparent()) {
    const response = await t.gateway.yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', traceparent: parent.header },
      body: JSON.stringify({ query }),
    });
    const body = (await response.json()) as { data?: unknown; errors?: unknown[] };
    await tracing.flush();
    const spans = () => receiver.spans.filter((s) => s.traceId === parent.traceId);
    const execute = await until(
      () => spans().find((s) => s.name.startsWith('query.')),
      `the operation span of trace ${parent.traceId}`,
    );
    return { body, parent, execute, spans: spans() };
  }

  const named = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);

  it("puts parse, validate and execute in the client's trace, with the provider call under the operation", async () => {
    const { body, parent, execute, spans } = await tracedQuery(
      'query EthPrice { asset(id: "ethereum") { price(currency: EUR) { value } } }',
    );
    expect(body.errors).toBeUndefined();

    // The operation span is Envelop's plugin's, named for the operation, a child of the client's span.
    expect(execute.name).toBe('query.EthPrice');
    expect(execute.parentSpanId).toBe(parent.spanId);
    expect(execute.attributes['graphql.execute.operationName']).toBe('EthPrice');
    for (const phase of ['graphql.parse', 'graphql.validate']) {
      const [span] = named(spans, phase);
      expect(span, `${phase} span`).toBeDefined();
      expect(span!.parentSpanId, `${phase} parent`).toBe(parent.spanId);
    }

    const upstream = spans.filter((s) => s.name.startsWith('upstream '));
    expect(upstream.length).toBeGreaterThan(0);
    const price = upstream.find((s) => s.attributes['upstream.endpoint'] === 'simple/price');
    expect(price, `upstream spans: ${upstream.map((s) => s.name).join(', ')}`).toBeDefined();
    expect(price!.parentSpanId).toBe(execute.spanId);
    expect(price!.kind).toBe(3); // SPAN_KIND_CLIENT
    expect(price!.attributes).toMatchObject({
      'upstream.provider': 'coingecko',
      'upstream.endpoint': 'simple/price',
      'upstream.attempts': 1,
      'upstream.retries': 0,
      'http.response.status_code': 200,
    });
    expect(price!.attributes['upstream.wait_ms']).toEqual(expect.any(Number));

    // The lookup that missed the cache and led to that call.
    const lookup = named(spans, 'cache quote').find((s) => Number(s.attributes['cache.misses']) > 0);
    expect(lookup, 'a cache span with a miss').toBeDefined();
    expect(lookup!.parentSpanId).toBe(execute.spanId);

    // Every span of the trace came from this gateway, under its OTEL_SERVICE_NAME.
    expect(new Set(spans.map((s) => s.resource['service.name']))).toEqual(
      new Set(['marketgraph-under-test']),
    );
    const exported = receiver.requests.find((r) => r.path === '/v1/traces');
    expect(exported?.headers).toMatchObject({
      authorization: 'Bearer collector-token',
      'content-encoding': 'gzip',
    });
  });

  it("follows the client's sampling decision: nothing is exported for an unsampled traceparent", async () => {
    const unsampled = traceparent();
    const response = await t.gateway.yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        traceparent: unsampled.header.replace(/-01$/, '-00'),
      },
      body: JSON.stringify({ query: '{ asset(id: "ethereum") { price(currency: JPY) { value } } }' }),
    });
    expect(response.status).toBe(200);
    // A sampled query after it: once its spans are in, the unsampled one's would have been too.
    await tracedQuery('query Later { asset(id: "ethereum") { id } }');
    expect(receiver.spans.filter((s) => s.traceId === unsampled.traceId)).toEqual([]);
  });

  it('records retries on the call span, and a cache hit as a lookup with no provider call', async () => {
    t.sandbox.faults.set('coingecko', 'simple/price', { kind: 'server-error', status: 503, times: 1 });
    const query = '{ asset(id: "ethereum") { price(currency: GBP) { value } } }';
    const first = await tracedQuery(query);
    expect(first.body.errors).toBeUndefined();
    const call = first.spans.find((s) => s.attributes['upstream.endpoint'] === 'simple/price');
    expect(call, 'the simple/price call span').toBeDefined();
    expect(call!.attributes).toMatchObject({ 'upstream.attempts': 2, 'upstream.retries': 1 });
    const attempts = call!.events.filter((e) => e.name === 'attempt');
    expect(attempts.map((e) => e.attributes['http.response.status_code'])).toEqual([503, 200]);
    expect(attempts.map((e) => e.attributes['upstream.outcome'])).toEqual([
      expect.not.stringMatching(/^ok$/),
      'ok',
    ]);

    const again = await tracedQuery(query);
    expect(again.body.errors).toBeUndefined();
    expect(again.spans.filter((s) => s.name.startsWith('upstream '))).toEqual([]);
    const hit = named(again.spans, 'cache quote');
    expect(hit.length).toBeGreaterThan(0);
    expect(
      hit.every((s) => s.attributes['cache.misses'] === 0 && Number(s.attributes['cache.hits']) > 0),
    ).toBe(true);
  });

  it("takes a graphql-ws operation's traceparent from the WebSocket upgrade request", async () => {
    const { url } = await t.gateway.start();
    const parent = traceparent();
    class WithTraceparent extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { headers: { traceparent: parent.header } });
      }
    }
    const client = createClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: WithTraceparent,
      retryAttempts: 0,
    });
    try {
      const result = await new Promise<unknown>((resolve, reject) => {
        let value: unknown;
        client.subscribe(
          { query: 'query OverWs { asset(id: "ethereum") { price(currency: CHF) { value } } }' },
          { next: (v) => (value = v), error: reject, complete: () => resolve(value) },
        );
      });
      expect(result).toMatchObject({ data: { asset: { price: { value: expect.any(Number) } } } });
    } finally {
      await client.dispose();
    }
    await tracing.flush();
    const execute = await until(
      () => receiver.spans.find((s) => s.traceId === parent.traceId && s.name === 'query.OverWs'),
      'the graphql-ws operation span',
    );
    expect(execute.parentSpanId).toBe(parent.spanId);
    const call = receiver.spans.find(
      (s) => s.traceId === parent.traceId && s.attributes['upstream.endpoint'] === 'simple/price',
    );
    expect(call?.parentSpanId).toBe(execute.spanId);
  });

  it('delivers subscriptions as before, with no span held open for their lifetime', async () => {
    const events = await firstSseEvents(
      t.gateway,
      { query: 'subscription Ticks { priceUpdated(assetIds: ["ethereum"]) { assetId value } }' },
      1,
    );
    expect(events[0]?.data).toMatchObject({ priceUpdated: { assetId: 'ethereum' } });
    await tracing.flush();
    expect(receiver.spans.filter((s) => s.name.startsWith('subscription.'))).toEqual([]);
  });

  it('marks a failed provider call with its error code', async () => {
    t.sandbox.faults.set('coingecko', 'simple/price', { kind: 'malformed-json' });
    try {
      const { spans } = await tracedQuery('{ asset(id: "ethereum") { price(currency: AUD) { value } } }');
      const call = spans.find((s) => s.attributes['upstream.endpoint'] === 'simple/price');
      expect(call, 'the simple/price call span').toBeDefined();
      expect(call!.status.code).toBe(2); // STATUS_CODE_ERROR
      expect(call!.attributes['error.type']).toBe('UPSTREAM_BAD_RESPONSE');
    } finally {
      t.sandbox.faults.clear();
    }
  });
});
