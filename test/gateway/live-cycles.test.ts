import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscribeSse, subscribeWs, waitFor, wsClient } from '../helpers/clients.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

// Issue #5 acceptance: 1000 subscribe/unsubscribe cycles (graphql-ws, plus SSE) leave no upstream
// stream, connection, listener, timer-holding feed or heap growth behind.

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const PRICES = 'subscription ($ids: [ID!]!) { priceUpdated(assetIds: $ids) { assetId value asOf } }';
const METRICS = 'subscription { onChainMetricUpdated(chain: "bitcoin", kinds: [FEE_FASTEST]) { value } }';
const ASSET_SETS = [['bitcoin'], ['ethereum', 'solana'], ['bitcoin', 'ripple', 'dogecoin'], ['cardano']];

async function heapAfterGc(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  return process.memoryUsage().heapUsed;
}

describe('1000 subscribe/unsubscribe cycles', () => {
  let t: TestGateway;
  let url: string;
  beforeAll(async () => {
    t = await startTestGateway({ sandbox: { tickMs: 100 } });
    ({ url } = await t.gateway.start());
  });
  afterAll(async () => {
    await t.close();
  });

  /** `count` cycles in waves of 50 concurrent subscriptions on one graphql-ws client. */
  async function cycleWs(count: number) {
    const client = wsClient(url);
    for (let done = 0; done < count; done += 50) {
      const subs = Array.from({ length: Math.min(50, count - done) }, (_, i) =>
        (done + i) % 10 === 9
          ? subscribeWs(client, METRICS)
          : subscribeWs(client, PRICES, { ids: ASSET_SETS[(done + i) % ASSET_SETS.length] }),
      );
      await waitFor(
        () => subs.every((s) => s.events.length > 0),
        10_000,
        'a first event on every subscription',
      );
      expect(subs.every((s) => !s.failure() && !s.events[0]!.errors)).toBe(true);
      for (const s of subs) s.stop();
    }
    await client.dispose();
  }

  async function cycleSse(count: number) {
    for (let done = 0; done < count; done += 25) {
      const subs = Array.from({ length: 25 }, (_, i) =>
        subscribeSse(url, PRICES, { ids: ASSET_SETS[(done + i) % ASSET_SETS.length] }),
      );
      await waitFor(
        () => subs.every((s) => s.events.length > 0),
        10_000,
        'a first SSE event on every stream',
      );
      for (const s of subs) s.stop();
      await Promise.all(subs.map((s) => s.done));
    }
  }

  async function expectNothingHeld() {
    const live = t.gateway.services.live;
    await waitFor(() => live.stats().channels.topics.length === 0, 5_000, 'every live topic to be released');
    await waitFor(() => t.sandbox.streams('binance').length === 0, 5_000, 'the upstream streams to close');
    await waitFor(() => t.sandbox.wsConnections('binance') === 0, 5_000, 'the upstream connection to close');
    const stats = live.stats();
    expect(stats.channels).toEqual({ topics: [], listeners: 0, producing: [] });
    expect(stats.prices).toEqual({ listened: [], producing: [], polled: [] });
    expect(stats.upstream).toEqual({ streams: [], connections: 0 });
    expect(stats.leases).toEqual([]);
  }

  it('leaves 0 upstream streams, 0 listeners and a flat heap', async () => {
    // Warm-up: caches, compiled code, parser cache, pools.
    await cycleWs(200);
    await cycleSse(50);
    await expectNothingHeld();
    const before = await heapAfterGc();

    await cycleWs(1000);
    await cycleSse(200);
    await expectNothingHeld();
    const after = await heapAfterGc();

    const growthKb = (after - before) / 1024;
    console.log(
      `heapUsed after GC: before ${Math.round(before / 1024)} KB, after ${Math.round(after / 1024)} KB`,
    );
    // 1200 cycles; a leak of even 2 KB per cycle would show as > 2.3 MB.
    expect(growthKb).toBeLessThan(2_000);
  }, 60_000);
});
