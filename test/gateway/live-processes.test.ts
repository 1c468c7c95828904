import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, sandboxProviderEnv, spawnGateway } from '../../scripts/lib/gateway-process.js';
import { UPSTREAMS } from '../../src/config.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';
import { type Received, subscribeSse, subscribeWs, waitFor, wsClient } from '../helpers/clients.js';
import { deleteKeys, keysUnder, redisTestUrl, testPrefix } from '../helpers/redis.js';

// Issue #5 acceptance: two gateway processes over the real Redis (REDIS_TEST_URL, default
// 127.0.0.1:6379) under a key prefix of this run, whose keys it deletes at the end. Both
// processes' subscribers get the same ticks, the sandbox sees one upstream connection with one stream
// per asset, and killing the process that holds the streams' lease moves them to the other within 5 s
// while its subscribers keep receiving. Every provider points at the sandbox (nothing leaves loopback).

const REDIS_URL = redisTestUrl();
const PREFIX = testPrefix('live-processes');
/** Lease keys carry the database (channels are server-wide); see src/live/live.ts. */
const LEASE_PREFIX = `${PREFIX}${Number(new URL(REDIS_URL).pathname.slice(1) || '0') || 0}:live:lease:`;
const PRICES = 'subscription ($ids: [ID!]!) { priceUpdated(assetIds: $ids) { assetId value asOf source } }';
const IDS = ['bitcoin', 'ethereum'];

type PriceEvent = { assetId: string; value: number; asOf: string; source: string };
const price = (e: Received) => e.data?.priceUpdated as PriceEvent;

const LEASES = IDS.map((id) => `${LEASE_PREFIX}price:${id}`);

/** Binance ticks (asset@asOf → value) received after `from`. */
function ticks(events: Received[], from = 0) {
  const out = new Map<string, number>();
  for (const e of events) {
    const p = price(e);
    if (e.at >= from && p?.source === 'BINANCE') out.set(`${p.assetId}@${p.asOf}`, p.value);
  }
  return out;
}

describe('live prices across two gateway processes', () => {
  let sandbox: Sandbox;
  let redis: Redis;
  let procs: GatewayProcess[] = [];
  const stops: Array<() => void> = [];

  /** The pid in each asset's lease (the owner is `${host}:${pid}:${random}`). */
  async function leaseHolders(): Promise<Array<number | undefined>> {
    const owners = await redis.mget(...LEASES);
    return owners.map((o) => (o ? Number(o.split(':')[1]) : undefined));
  }

  beforeAll(async () => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    sandbox = await startSandbox({ quotas: false, tickMs: 200 });
    const env = { ...sandboxProviderEnv(sandbox, UPSTREAMS), REDIS_URL, MARKETGRAPH_REDIS_PREFIX: PREFIX };
    procs = await Promise.all([spawnGateway({ env }), spawnGateway({ env })]);
  }, 40_000);

  afterAll(async () => {
    for (const stop of stops) stop();
    await Promise.all(procs.map((p) => p.stop()));
    await sandbox?.close();
    if (redis) await deleteKeys(redis, PREFIX);
    redis?.disconnect();
  });

  it('shares one upstream stream per asset and moves it within 5 s when its process dies', async () => {
    const [a, b] = procs as [GatewayProcess, GatewayProcess];
    // A subscribes first, so it takes both leases; B's subscribers then ride on A's upstream stream.
    const clientA = wsClient(a.url);
    const subA = subscribeWs(clientA, PRICES, { ids: IDS });
    stops.push(subA.stop);
    await waitFor(() => ticks(subA.events).size >= 2, 10_000, 'Binance ticks in process A');
    const subB = subscribeSse(b.url, PRICES, { ids: IDS });
    const clientB = wsClient(b.url);
    const subB2 = subscribeWs(clientB, PRICES, { ids: IDS });
    stops.push(subB.stop, subB2.stop);
    const started = Date.now();
    await waitFor(
      () => [subA, subB, subB2].every((s) => ticks(s.events).size >= 10),
      10_000,
      'Binance ticks in both processes',
    );

    // One upstream connection carrying one stream per asset, each lease held by A alone.
    expect(sandbox.wsConnections('binance')).toBe(1);
    expect(sandbox.streams('binance').sort()).toEqual(['btcusdt@ticker', 'ethusdt@ticker']);
    expect(await leaseHolders()).toEqual([a.pid, a.pid]);

    // The same ticks reached both processes' subscribers (compare a window all three saw in full).
    await new Promise((r) => setTimeout(r, Math.max(0, started + 4_500 - Date.now())));
    const until = Date.now() - 1_000;
    const window = (events: Received[]) =>
      [...ticks(events)].filter(([key]) => {
        const at = Date.parse(key.slice(key.indexOf('@') + 1));
        return at >= started + 1_000 && at <= until;
      });
    const seenA = window(subA.events);
    expect(seenA.length).toBeGreaterThanOrEqual(10);
    expect(window(subB.events)).toEqual(seenA);
    expect(window(subB2.events)).toEqual(seenA);

    // Kill the holder (no goodbye: its lease must run out) and watch the survivor's subscribers.
    const killed = Date.now();
    process.kill(-a.pid, 'SIGKILL');
    await waitFor(
      () => [subB, subB2].every((s) => ticks(s.events, killed + 100).size > 0),
      8_000,
      'ticks on the survivor after the kill',
    );
    const resumedAfter = Date.now() - killed;
    console.log(`survivor's subscribers received Binance ticks again ${resumedAfter} ms after the kill`);
    expect(resumedAfter).toBeLessThan(5_000);
    expect(await leaseHolders()).toEqual([b.pid, b.pid]);
    await waitFor(() => sandbox.wsConnections('binance') === 1, 3_000, 'one upstream connection again');
    expect(sandbox.streams('binance').sort()).toEqual(['btcusdt@ticker', 'ethusdt@ticker']);
    for (const s of [subB, subB2]) expect(s.events.every((e) => !e.errors)).toBe(true);
    expect(subB2.failure()).toBeUndefined();

    subA.stop();
    subB.stop();
    subB2.stop();
    await Promise.all([clientA.dispose(), clientB.dispose()]);
    await waitFor(() => sandbox.wsConnections('binance') === 0, 5_000, 'the upstream connection to close');
    expect(await keysUnder(redis, LEASE_PREFIX)).toEqual([]);
  }, 40_000);
});
