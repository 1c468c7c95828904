import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Received, subscribeSse, subscribeWs, waitFor, wsClient } from '../helpers/clients.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

// Issue #5: the live Subscription fields over both transports with real clients, against the sandbox
// (Binance ticking every 100 ms; on-chain metrics polled every 250 ms): throttle, first events,
// changes only, one upstream poller per key, shared execution, keep-alive, and release on disconnect.

const PRICES = /* GraphQL */ `
  subscription ($ids: [ID!]!, $throttle: Int) {
    priceUpdated(assetIds: $ids, throttleMs: $throttle) { assetId value asOf source }
  }
`;
const METRICS = /* GraphQL */ `
  subscription ($kinds: [OnChainMetricKind!]) {
    onChainMetricUpdated(chain: "bitcoin", kinds: $kinds) { chain kind value unit asOf source }
  }
`;
const SIGNALS = /* GraphQL */ `
  subscription ($ids: [ID!]!) {
    signalChanged(assetIds: $ids, interval: H1) { assetId kind direction strength interval source }
  }
`;

function payloads<T>(events: Received[], field: string): T[] {
  return events.flatMap((e) => {
    const value = e.data?.[field];
    return value ? [value as T] : [];
  });
}

describe('live subscriptions', () => {
  let t: TestGateway;
  let url: string;
  beforeAll(async () => {
    t = await startTestGateway({
      sandbox: { tickMs: 100 },
      env: { MARKETGRAPH_TTL_ONCHAIN_MS: '250' },
    });
    ({ url } = await t.gateway.start());
  });
  afterAll(async () => {
    await t.close();
  });

  const stats = () => t.gateway.services.live.stats();

  async function expectReleased() {
    await waitFor(() => stats().channels.topics.length === 0, 3_000, 'every live topic to be released');
    expect(stats().channels).toEqual({ topics: [], listeners: 0, producing: [] });
    expect(stats().prices).toEqual({ listened: [], producing: [], polled: [] });
    await waitFor(() => t.sandbox.streams('binance').length === 0, 3_000, 'the upstream streams to close');
  }

  it('honours throttleMs per asset over graphql-ws while an unthrottled SSE client gets every tick', async () => {
    const client = wsClient(url);
    // Taken before subscribing: the server cannot deliver an event before this instant.
    const started = Date.now();
    const slow = subscribeWs(client, PRICES, { ids: ['bitcoin', 'ethereum'], throttle: 500 });
    const fast = subscribeSse(url, PRICES, { ids: ['bitcoin'] });
    const slowOf = (id: string) =>
      slow.events.filter((e) => (e.data?.priceUpdated as { assetId?: string } | undefined)?.assetId === id);
    await waitFor(
      () => slowOf('bitcoin').length >= 4 && slowOf('ethereum').length >= 4 && fast.events.length >= 15,
      20_000,
      'four throttled events per asset and fifteen unthrottled ones',
    );
    slow.stop();
    fast.stop();
    // Taken after the last event counted below was received, so after the server sent it.
    const stopped = Date.now();
    const counts = { bitcoin: slowOf('bitcoin').length, ethereum: slowOf('ethereum').length };
    const fastCount = fast.events.length;
    await client.dispose();

    expect(slow.failure()).toBeUndefined();
    // The server spaces one asset's events by at least 500 ms, and sent all of them between `started`
    // and `stopped`; receive times are not used, since a loaded client reads queued events together.
    const mostAllowed = 1 + Math.floor((stopped - started) / 500);
    for (const n of Object.values(counts)) expect(n).toBeLessThanOrEqual(mostAllowed);
    // 10 ticks/s upstream: over the same span the unthrottled client saw more of bitcoin's ticks.
    expect(fastCount).toBeGreaterThan(counts.bitcoin);
    // Every tick in order.
    const asOf = payloads<{ asOf: string }>(fast.events, 'priceUpdated').map((p) => Date.parse(p.asOf));
    expect(asOf.every((v, i) => i === 0 || v >= asOf[i - 1]!)).toBe(true);
    await expectReleased();
  });

  it('streams on-chain metrics: current values first, then changes only, from one poller for all subscribers', async () => {
    const client = wsClient(url);
    const kinds = ['MEMPOOL_SIZE', 'FEE_FASTEST', 'BLOCK_HEIGHT'];
    const ws = subscribeWs(client, METRICS, { kinds });
    const sse = subscribeSse(url, METRICS, { kinds: ['FEE_FASTEST', 'BLOCK_HEIGHT', 'MEMPOOL_SIZE'] });
    await waitFor(() => ws.events.length >= 5 && sse.events.length >= 5, 5_000, 'metric events');
    // One topic and one poller for both (the order of kinds does not matter), and nothing else.
    expect(stats().channels.producing).toEqual(['onchain:bitcoin:BLOCK_HEIGHT,FEE_FASTEST,MEMPOOL_SIZE']);
    const mempoolEvents = (events: Received[]) =>
      payloads<{ kind: string }>(events, 'onChainMetricUpdated').filter((m) => m.kind === 'MEMPOOL_SIZE');
    await waitFor(
      () => mempoolEvents(ws.events).length >= 3 && mempoolEvents(sse.events).length >= 3,
      10_000,
      'three mempool sizes on each transport',
    );
    ws.stop();
    sse.stop();
    await client.dispose();

    for (const events of [ws.events, sse.events]) {
      expect(events.every((e) => !e.errors)).toBe(true);
      const metrics = payloads<{ kind: string; value: number; chain: string; source: string }>(
        events,
        'onChainMetricUpdated',
      );
      expect(new Set(metrics.slice(0, 3).map((m) => m.kind))).toEqual(new Set(kinds));
      expect(metrics.every((m) => m.chain === 'bitcoin' && m.source === 'MEMPOOL')).toBe(true);
      // The mempool moves every poll; the fee and height rarely do: never the same value twice in a row.
      for (const kind of kinds) {
        const values = metrics.filter((m) => m.kind === kind).map((m) => m.value);
        for (let i = 1; i < values.length; i++) expect(values[i]).not.toBe(values[i - 1]);
      }
      expect(metrics.filter((m) => m.kind === 'MEMPOOL_SIZE').length).toBeGreaterThanOrEqual(3);
    }
    await expectReleased();
  });

  it('rejects a chain without metrics with NOT_FOUND', async () => {
    const client = wsClient(url);
    // Bitcoin has no gas price.
    const sub = subscribeWs(client, METRICS, { kinds: ['GAS_PROPOSE'] });
    await waitFor(() => sub.events.length > 0 || sub.failure() !== undefined, 5_000, 'an answer');
    const errors = (sub.events[0]?.errors ?? sub.failure()) as Array<{ extensions?: { code?: string } }>;
    expect(errors[0]?.extensions?.code).toBe('NOT_FOUND');
    await client.dispose();
    await expectReleased();
  });

  it('streams signals: every signal of every asset first, one poller per asset and interval', async () => {
    const client = wsClient(url);
    const a = subscribeWs(client, SIGNALS, { ids: ['bitcoin', 'ethereum'] });
    const b = subscribeSse(url, SIGNALS, { ids: ['bitcoin'] });
    await waitFor(
      () => a.events.length >= 10 && b.events.length >= 5,
      8_000,
      'the current signals of each asset',
    );
    expect(stats().channels.producing.sort()).toEqual(['signal:bitcoin:1h', 'signal:ethereum:1h']);
    const signals = payloads<{ assetId: string; kind: string; interval: string; source: string }>(
      a.events,
      'signalChanged',
    );
    expect(new Set(signals.map((s) => s.assetId))).toEqual(new Set(['bitcoin', 'ethereum']));
    expect(signals.every((s) => s.interval === '1h' && s.source === 'COMPUTED')).toBe(true);
    const kinds = signals.filter((s) => s.assetId === 'bitcoin').map((s) => s.kind);
    expect(kinds).toEqual(expect.arrayContaining(['SMA_CROSSOVER', 'RSI', 'MACD_CROSSOVER']));
    a.stop();
    b.stop();
    await client.dispose();
    await expectReleased();
  });

  it('executes each tick once for all subscribers of the same document and variables', async () => {
    const client = wsClient(url);
    const before = stats().shared;
    const subs = Array.from({ length: 20 }, () => subscribeWs(client, PRICES, { ids: ['bitcoin'] }));
    const sse = Array.from({ length: 5 }, () => subscribeSse(url, PRICES, { ids: ['bitcoin'] }));
    await waitFor(() => [...subs, ...sse].every((s) => s.events.length >= 10), 8_000, '10 ticks each');
    for (const s of [...subs, ...sse]) s.stop();
    await client.dispose();
    const after = stats().shared;
    const executions = after.executions - before.executions;
    const deliveries = after.deliveries - before.deliveries;
    expect(deliveries).toBeGreaterThanOrEqual(250);
    // Every subscriber had the same document and variables: ~1 execution per tick, not 25.
    expect(executions * 10).toBeLessThan(deliveries);
    expect(after.serializations - before.serializations).toBeLessThanOrEqual(executions);
    // Both transports carried the same bytes.
    const lastWs = payloads<{ asOf: string; value: number }>(subs[0]!.events, 'priceUpdated').at(-1)!;
    expect(lastWs.value).toBeGreaterThan(0);
    await expectReleased();
  });

  it('keeps an idle SSE stream alive with comment pings', async () => {
    const controller = new AbortController();
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: PRICES, variables: { ids: ['bitcoin'], throttle: 3_600_000 } }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    let text = '';
    const started = Date.now();
    // Yoga pings every 12 s, every 300 ms under NODE_ENV=test (vitest).
    while (Date.now() - started < 1_500) {
      const { value } = await reader.read();
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    const pings = text.split('\n\n').filter((block) => block === ':').length;
    expect(pings).toBeGreaterThanOrEqual(3);
    expect(text.match(/event: next/g)).toHaveLength(1); // the first price, then only pings
    await expectReleased();
  });

  it('releases everything a client held when its socket dies without a goodbye', async () => {
    const client = wsClient(url);
    const subs = [
      subscribeWs(client, PRICES, { ids: ['bitcoin', 'solana'] }),
      subscribeWs(client, METRICS, { kinds: ['MEMPOOL_SIZE'] }),
      subscribeWs(client, SIGNALS, { ids: ['ethereum'] }),
    ];
    await waitFor(() => subs.every((s) => s.events.length > 0), 8_000, 'events on every subscription');
    expect(stats().channels.listeners).toBe(4);
    client.terminate(); // closes the socket abruptly, no Complete messages
    await expectReleased();
    await waitFor(() => t.sandbox.wsConnections('binance') === 0, 3_000, 'the upstream connection to close');
  });
});
