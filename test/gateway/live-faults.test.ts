import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Received, subscribeSse, subscribeWs, waitFor, wsClient } from '../helpers/clients.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

// Issue #5 acceptance: the sandbox drops the Binance WebSocket and subscribers see no error and resume
// within 5 s; when Binance stays down, prices fail over to polling the REST path and come back to the
// stream when it returns.

const PRICES = 'subscription ($ids: [ID!]!) { priceUpdated(assetIds: $ids) { assetId value asOf source } }';

type PriceEvent = { assetId: string; value: number; asOf: string; source: string };
const price = (e: Received) => e.data?.priceUpdated as PriceEvent;

describe('live prices when the upstream stream fails', () => {
  let t: TestGateway;
  let url: string;
  beforeAll(async () => {
    // Price cache and polling at 1 s, so the REST failover has fresh values to show.
    t = await startTestGateway({ sandbox: { tickMs: 100 }, env: { MARKETGRAPH_TTL_PRICE_MS: '1000' } });
    ({ url } = await t.gateway.start());
  });
  afterAll(async () => {
    await t.close();
  });

  it('resumes within 5 s of a dropped WebSocket, without an error on either transport', async () => {
    const client = wsClient(url);
    const ws = subscribeWs(client, PRICES, { ids: ['bitcoin', 'ethereum'] });
    const sse = subscribeSse(url, PRICES, { ids: ['bitcoin'] });
    await waitFor(() => ws.events.length >= 5 && sse.events.length >= 5, 5_000, 'ticks before the drop');

    for (let round = 0; round < 2; round++) {
      const dropped = Date.now();
      t.sandbox.dropWebSockets('binance');
      const resumed = (events: Received[]) =>
        events.some((e) => e.at > dropped + 50 && price(e)?.source === 'BINANCE');
      await waitFor(() => resumed(ws.events) && resumed(sse.events), 5_000, 'Binance ticks after the drop');
      expect(Date.now() - dropped).toBeLessThan(5_000);
    }
    ws.stop();
    sse.stop();
    await client.dispose();
    for (const events of [ws.events, sse.events]) expect(events.every((e) => !e.errors)).toBe(true);
    expect(ws.failure()).toBeUndefined();
    await waitFor(() => t.sandbox.wsConnections('binance') === 0, 3_000, 'the upstream connection to close');
  });

  it('fails over to polling while Binance is down, then back to the stream', async () => {
    const client = wsClient(url);
    const ws = subscribeWs(client, PRICES, { ids: ['bitcoin'] });
    await waitFor(() => ws.events.filter((e) => price(e).source === 'BINANCE').length >= 3, 5_000, 'ticks');

    t.sandbox.faults.set('binance', '*', { kind: 'down' });
    t.sandbox.dropWebSockets('binance');
    const down = Date.now();
    // Silent for 3 s → polled through REST (CoinGecko: Binance REST is down too), values only on change.
    await waitFor(
      () => ws.events.some((e) => e.at > down && price(e).source !== 'BINANCE'),
      8_000,
      'a polled price while the stream is down',
    );
    expect(t.gateway.services.live.stats().prices.polled).toEqual(['bitcoin']);
    // More polled values, each a change from the one before (never a repeat).
    await waitFor(() => ws.events.filter((e) => e.at > down).length >= 3, 10_000, 'three polled prices');
    const polled = ws.events.filter((e) => e.at > down).map(price);
    expect(polled.every((p) => p.source !== 'BINANCE')).toBe(true);
    for (let i = 1; i < polled.length; i++) expect(polled[i]!.value).not.toBe(polled[i - 1]!.value);

    t.sandbox.faults.clear('binance');
    const up = Date.now();
    await waitFor(
      () => ws.events.some((e) => e.at > up && price(e).source === 'BINANCE'),
      8_000,
      'Binance ticks once it is back',
    );
    await waitFor(() => t.gateway.services.live.stats().prices.polled.length === 0, 2_000, 'polling to stop');
    ws.stop();
    await client.dispose();
    expect(ws.events.every((e) => !e.errors)).toBe(true);
    expect(ws.failure()).toBeUndefined();
  }, 30_000);
});
