import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createBreaker } from '../../src/http/breaker.js';
import type { HttpCall } from '../../src/http/client.js';
import { manualClock } from '../helpers/manual-clock.js';
import { buildConfig, makeHttp, sendJson, startScriptedServer } from './helpers.js';

const call: HttpCall<unknown> = {
  provider: 'mempool',
  endpoint: 'v1/fees/recommended',
  path: '/v1/fees/recommended',
  schema: z.unknown(),
};
const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((thing) => thing.close()));
});

async function setup(respond: { status: number; delayMs?: number }) {
  const server = await startScriptedServer((_req, res) => {
    setTimeout(() => sendJson(res, respond.status, { fastestFee: 12 }), respond.delayMs ?? 0);
  });
  const config = buildConfig(
    {
      MARKETGRAPH_UPSTREAM_RETRIES: '0',
      MARKETGRAPH_BREAKER_THRESHOLD: '3',
      MARKETGRAPH_BREAKER_HALF_OPEN_MS: '300',
    },
    { mempool: server.url },
  );
  // The breaker's half-open wait runs on this clock: the test moves it instead of sleeping.
  const clock = manualClock(Date.now());
  const made = makeHttp(config, { now: clock.now });
  open.push(server, made.http);
  return { server, clock, ...made };
}

describe('circuit breaker (through createHttp)', () => {
  it('opens after N consecutive failures, refuses without touching the network, probes, and closes', async () => {
    const respond = { status: 503 };
    const { server, http, metrics, clock } = await setup(respond);
    for (let i = 0; i < 3; i++)
      await expect(http.get(call)).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect(http.health('mempool').breaker).toBe('open');

    const refused = http.get(call);
    await expect(refused).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', provider: 'mempool' });
    await expect(refused).rejects.toThrow(/circuit open/);
    // Refused without a request reaching the server.
    expect(server.requests).toHaveLength(3);
    expect(await metrics.registry.getSingleMetricAsString('marketgraph_breaker_state')).toContain(
      '{provider="mempool"} 2',
    );

    clock.advance(299);
    expect(http.health('mempool').breaker).toBe('open');
    await expect(http.get(call)).rejects.toThrow(/circuit open/);
    clock.advance(1);
    expect(http.health('mempool').breaker).toBe('half-open');
    respond.status = 200;
    await expect(http.get(call)).resolves.toEqual({ fastestFee: 12 });
    expect(server.requests).toHaveLength(4);
    expect(http.health('mempool').breaker).toBe('closed');
    expect(await metrics.registry.getSingleMetricAsString('marketgraph_breaker_state')).toContain(
      '{provider="mempool"} 0',
    );
    const counter = await metrics.registry.getSingleMetricAsString('marketgraph_upstream_requests_total');
    expect(counter).toContain('outcome="breaker_open"} 2');
  });

  it('re-opens when the half-open probe fails, and lets only one probe through', async () => {
    const respond = { status: 500, delayMs: 50 };
    const { server, http, clock } = await setup(respond);
    for (let i = 0; i < 3; i++) await expect(http.get(call)).rejects.toThrow();
    clock.advance(300);
    const results = await Promise.allSettled([http.get(call), http.get(call), http.get(call)]);
    expect(server.requests).toHaveLength(4);
    const messages = results.map((r) => (r.status === 'rejected' ? String(r.reason.message) : 'ok'));
    expect(messages.filter((m) => m.includes('circuit open'))).toHaveLength(2);
    expect(messages.filter((m) => m.includes('HTTP 500'))).toHaveLength(1);
    expect(http.health('mempool').breaker).toBe('open');
    await expect(http.get(call)).rejects.toThrow(/circuit open/);
    expect(server.requests).toHaveLength(4);
  });

  it('does not count 4xx client errors as failures', async () => {
    const { server, http } = await setup({ status: 404 });
    for (let i = 0; i < 5; i++)
      await expect(http.get(call)).rejects.toMatchObject({ code: 'UPSTREAM_BAD_RESPONSE' });
    expect(http.health('mempool').breaker).toBe('closed');
    expect(server.requests).toHaveLength(5);
  });
});

describe('createBreaker', () => {
  it('needs consecutive failures: a success resets the count', () => {
    let now = 0;
    const states: string[] = [];
    const breaker = createBreaker({
      threshold: 2,
      halfOpenAfterMs: 100,
      now: () => now,
      onChange: (s) => states.push(s),
    });
    const pass = () => breaker.tryPass()!;
    breaker.record(pass(), 'failure');
    breaker.record(pass(), 'success');
    breaker.record(pass(), 'failure');
    breaker.record(pass(), 'neutral');
    expect(breaker.state()).toBe('closed');
    breaker.record(pass(), 'failure');
    expect(breaker.state()).toBe('open');
    expect(breaker.tryPass()).toBeUndefined();
    now = 100;
    expect(breaker.state()).toBe('half-open');
    const probe = breaker.tryPass();
    expect(probe).toEqual({ probe: true });
    expect(breaker.canPass()).toBe(false);
    breaker.record(probe!, 'neutral');
    expect(breaker.canPass()).toBe(true);
    breaker.record(breaker.tryPass()!, 'success');
    expect(breaker.state()).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'half-open', 'closed']);
  });
});
