import { describe, expect, it } from 'vitest';
import { type Received, subscribeSse, subscribeWs, waitFor, wsClient } from '../helpers/clients.js';
import { startTestGateway, useListeningGateway } from '../helpers/gateway.js';

// Issue #2 acceptance: graphql-ws and SSE subscribers to 3 assets each get an update for every asset at
// least every 2 s, fed by the sandbox's Binance stream; when both leave, the upstream stream closes.

const SUBSCRIPTION = /* GraphQL */ `
  subscription ($ids: [ID!]!) {
    priceUpdated(assetIds: $ids) { assetId value currency asOf source }
  }
`;

/** Per asset, the provider time (asOf, epoch ms) of each event received, in order. */
function ticksByAsset(events: Received[]) {
  const byAsset = new Map<string, number[]>();
  for (const e of events) {
    const price = (e.data as { priceUpdated?: { assetId: string; asOf: string } } | null)?.priceUpdated;
    if (!price) continue;
    byAsset.set(price.assetId, [...(byAsset.get(price.assetId) ?? []), Date.parse(price.asOf)]);
  }
  return byAsset;
}

describe('Subscription.priceUpdated', () => {
  const gateway = useListeningGateway();

  it('delivers every asset at least every 2 s over graphql-ws and SSE, then closes the upstream stream', async () => {
    const wsIds = ['bitcoin', 'ethereum', 'solana'];
    const sseIds = ['bitcoin', 'ripple', 'dogecoin'];
    const client = wsClient(gateway.url);
    const ws = subscribeWs(client, SUBSCRIPTION, { ids: wsIds });
    const sse = subscribeSse(gateway.url, SUBSCRIPTION, { ids: sseIds });
    // The current price, then at least three live ticks, of every asset on both transports.
    const enough = (events: Received[], ids: readonly string[]) => {
      const byAsset = ticksByAsset(events);
      return ids.every((id) => (byAsset.get(id)?.length ?? 0) >= 4);
    };
    await waitFor(
      () => enough(ws.events, wsIds) && enough(sse.events, sseIds),
      20_000,
      'four events per asset on both transports',
    );

    // One upstream stream per asset, shared: bitcoin is wanted by both clients but streamed once.
    const streams = gateway.t.sandbox.streams('binance').sort();
    expect(streams).toEqual([
      'btcusdt@ticker',
      'dogeusdt@ticker',
      'ethusdt@ticker',
      'solusdt@ticker',
      'xrpusdt@ticker',
    ]);

    for (const [events, ids] of [
      [ws.events, wsIds],
      [sse.events, sseIds],
    ] as const) {
      expect(events.every((e) => !e.errors)).toBe(true);
      const byAsset = ticksByAsset(events);
      expect([...byAsset.keys()].sort()).toEqual([...ids].sort());
      // The sandbox ticks every second: consecutive live events are at most 2 s apart in the provider's
      // time, so none was lost or held. (Receive times are not used: a loaded client reads in bursts.)
      for (const id of ids) {
        const live = byAsset.get(id)!.slice(1);
        const gaps = live.slice(1).map((at, i) => at - live[i]!);
        expect(Math.max(...gaps), `longest gap for ${id}`).toBeLessThanOrEqual(2_000);
      }
    }
    const sample = (
      ws.events.at(-1)!.data as { priceUpdated: { value: number; currency: string; source: string } }
    ).priceUpdated;
    expect(sample.currency).toBe('USD');
    expect(sample.value).toBeGreaterThan(0);
    expect(sample.source).toBe('BINANCE');
    expect(ws.failure()).toBeUndefined();

    ws.stop();
    sse.stop();
    await client.dispose();
    await waitFor(
      () => gateway.t.sandbox.streams('binance').length === 0,
      3_000,
      'the upstream streams to close',
    );
    await waitFor(
      () => gateway.t.sandbox.wsConnections('binance') === 0,
      3_000,
      'the upstream connection to close',
    );
    expect(gateway.t.gateway.services.priceFeed).toBeDefined();
  });

  it('rejects unknown ids among known ones up front, over graphql-ws and SSE, with one NOT_FOUND naming all', async () => {
    const ids = ['bitcoin', 'no-such-coin', 'ethereum', 'nope-coin'];
    const client = wsClient(gateway.url);
    const ws = subscribeWs(client, SUBSCRIPTION, { ids });
    const sse = subscribeSse(gateway.url, SUBSCRIPTION, { ids });
    await waitFor(() => ws.events.length > 0 || ws.failure() !== undefined, 5_000, 'a graphql-ws answer');
    await sse.done; // the SSE answer ends after the error
    type Coded = { message: string; extensions?: { code?: string; ids?: string[] } };
    const wsErrors = (ws.events[0]?.errors ?? ws.failure()) as Coded[];
    for (const errors of [wsErrors, sse.events[0]?.errors as Coded[]]) {
      expect(errors).toHaveLength(1);
      expect(errors[0]!.extensions).toEqual({ code: 'NOT_FOUND', ids: ['no-such-coin', 'nope-coin'] });
      expect(errors[0]!.message).toBe('assets "no-such-coin", "nope-coin" were not found');
    }
    // Before any event: no price of the known assets was sent, and no upstream stream opened.
    expect(ws.events.length).toBeLessThanOrEqual(1);
    expect(ws.events.every((e) => e.data === null)).toBe(true);
    expect(sse.events).toHaveLength(1);
    expect(sse.events[0]!.data).toBeNull();
    await client.dispose();
    expect(gateway.t.sandbox.streams('binance')).toEqual([]);
  });

  it('sends the current price first, without waiting for an upstream tick', async () => {
    // An upstream that ticks once a minute: anything within seconds is the gateway's snapshot.
    const quiet = await startTestGateway({ sandbox: { tickMs: 60_000 } });
    try {
      const { url: quietUrl } = await quiet.gateway.start();
      const query = await fetch(quietUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ asset(id: "bitcoin") { price { value } } }' }),
      });
      const rest = ((await query.json()) as { data: { asset: { price: { value: number } } } }).data.asset
        .price;
      const client = wsClient(quietUrl);
      const ws = subscribeWs(client, SUBSCRIPTION, { ids: ['bitcoin'] });
      const sse = subscribeSse(quietUrl, SUBSCRIPTION, { ids: ['bitcoin'] });
      // Well before the first upstream tick (a minute away), whatever the load.
      await waitFor(() => ws.events.length > 0 && sse.events.length > 0, 15_000, 'a first event on both');
      for (const first of [ws.events[0]!, sse.events[0]!]) {
        expect(first.errors).toBeUndefined();
        const price = (first.data as { priceUpdated: { value: number; source: string } }).priceUpdated;
        // The price a query returns right now, from the REST path (no tick has come).
        expect(price.value).toBe(rest.value);
        expect(price.source).not.toBe('BINANCE');
      }
      // No change upstream, so nothing more: the snapshot is not repeated, neither when the upstream
      // stream opens nor just after.
      await waitFor(
        () => quiet.sandbox.streams('binance').includes('btcusdt@ticker'),
        5_000,
        'the upstream stream to open',
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(ws.events).toHaveLength(1);
      expect(sse.events).toHaveLength(1);
      ws.stop();
      sse.stop();
      await client.dispose();
    } finally {
      await quiet.close();
    }
  });
});
