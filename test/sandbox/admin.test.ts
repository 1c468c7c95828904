import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';

// The sandbox admin HTTP endpoint: what a person (or another process, e.g. the benchmark) uses to
// read request counts and inject faults while the gateway runs.

describe('sandbox admin endpoint', () => {
  let sandbox: Sandbox;
  let coingecko: string;
  beforeAll(async () => {
    sandbox = await startSandbox({ providers: ['coingecko', 'binance'], quotas: false });
    coingecko = sandbox.endpoints.coingecko!.url;
  });
  afterAll(async () => {
    await sandbox.close();
  });

  const admin = async (method: string, path: string, body?: string) => {
    const response = await fetch(`${sandbox.adminUrl}${path}`, {
      method,
      ...(body !== undefined ? { body, headers: { 'content-type': 'application/json' } } : {}),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };
  const price = () => fetch(`${coingecko}/simple/price?ids=bitcoin&vs_currencies=usd`);

  it('GET /counts reports requests per provider and endpoint; POST /counts/reset clears them', async () => {
    await admin('POST', '/counts/reset');
    expect((await admin('GET', '/counts')).json).toEqual({});
    await (await fetch(`${coingecko}/ping`)).text();
    await (await price()).text();
    await (await price()).text();
    expect(await admin('GET', '/counts')).toEqual({
      status: 200,
      json: { coingecko: { ping: 1, 'simple/price': 2 } },
    });
    expect(await admin('POST', '/counts/reset')).toEqual({ status: 200, json: { ok: true } });
    expect((await admin('GET', '/counts')).json).toEqual({});
    expect(sandbox.count('coingecko')).toBe(0);
  });

  it('PUT /faults/:provider/:endpoint injects a fault that the next requests show, DELETE removes it', async () => {
    const put = await admin(
      'PUT',
      '/faults/coingecko/simple/price',
      JSON.stringify({ kind: 'rate-limit', retryAfter: 7, times: 2 }),
    );
    expect(put).toEqual({
      status: 200,
      json: {
        ok: true,
        provider: 'coingecko',
        endpoint: 'simple/price',
        fault: { kind: 'rate-limit', retryAfter: 7, times: 2 },
      },
    });
    expect((await admin('GET', '/faults')).json).toEqual([
      {
        provider: 'coingecko',
        endpoint: 'simple/price',
        fault: { kind: 'rate-limit', retryAfter: 7, times: 2 },
      },
    ]);
    const limited = await price();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    await limited.text();
    // Other endpoints are untouched.
    expect((await fetch(`${coingecko}/ping`)).status).toBe(200);

    expect(await admin('DELETE', '/faults/coingecko/simple/price')).toEqual({
      status: 200,
      json: { ok: true },
    });
    expect((await admin('GET', '/faults')).json).toEqual([]);
    const ok = await price();
    expect(ok.status).toBe(200);
    expect(await ok.json()).toHaveProperty('bitcoin');
  });

  it("applies a '*' fault to every endpoint until DELETE /faults clears them all", async () => {
    await admin('PUT', '/faults/coingecko/*', JSON.stringify({ kind: 'server-error', status: 502 }));
    expect((await price()).status).toBe(502);
    expect((await fetch(`${coingecko}/ping`)).status).toBe(502);
    expect(await admin('DELETE', '/faults')).toEqual({ status: 200, json: { ok: true } });
    expect((await price()).status).toBe(200);
  });

  it("a 'down' fault on one endpoint takes that endpoint down and only it", async () => {
    await admin('PUT', '/faults/coingecko/simple/price', JSON.stringify({ kind: 'down' }));
    try {
      sandbox.resetCounts();
      await expect(price()).rejects.toThrow(/fetch failed/);
      // Its other endpoints, and the other providers, keep answering.
      expect((await fetch(`${coingecko}/ping`)).status).toBe(200);
      expect((await fetch(`${sandbox.endpoints.binance!.url}/api/v3/ping`)).status).toBe(200);
      // Unreachable, like a provider that is down: the request is never served nor counted.
      expect(sandbox.counts()).toEqual({ coingecko: { ping: 1 }, binance: { ping: 1 } });
      // It holds for every request until cleared, not only the first.
      await expect(price()).rejects.toThrow(/fetch failed/);
    } finally {
      await admin('DELETE', '/faults/coingecko/simple/price');
    }
    expect((await price()).status).toBe(200);
  });

  it("a 'down' fault on Binance's stream endpoint refuses the WebSocket while REST answers", async () => {
    sandbox.faults.set('binance', 'ws/stream', { kind: 'down' });
    try {
      const ws = new WebSocket(`${sandbox.endpoints.binance!.wsUrl}/stream?streams=btcusdt@ticker`);
      const outcome = await new Promise<string>((resolve) => {
        ws.once('open', () => resolve('open'));
        ws.once('error', () => resolve('refused'));
      });
      ws.terminate();
      expect(outcome).toBe('refused');
      expect((await fetch(`${sandbox.endpoints.binance!.url}/api/v3/ping`)).status).toBe(200);
    } finally {
      sandbox.faults.clear('binance', 'ws/stream');
    }
  });

  it('answers a bad fault body with 400 and a message naming the problem', async () => {
    const unknownKind = await admin('PUT', '/faults/coingecko/simple/price', '{"kind":"explode"}');
    expect(unknownKind.status).toBe(400);
    expect(unknownKind.json.error).toMatch(/fault\.kind must be one of .*latency.*"explode"/);

    const negative = await admin('PUT', '/faults/coingecko/ping', '{"kind":"latency","latencyMs":-5}');
    expect(negative.status).toBe(400);
    expect(negative.json.error).toMatch(/fault\.latencyMs must be a non-negative number, got -5/);

    const notJson = await admin('PUT', '/faults/coingecko/ping', 'kind=hang');
    expect(notJson.status).toBe(400);
    expect(String(notJson.json.error)).not.toBe('');

    const notObject = await admin('PUT', '/faults/coingecko/ping', '[]');
    expect(notObject.status).toBe(400);
    expect(notObject.json.error).toMatch(/fault/);

    expect((await admin('GET', '/faults')).json).toEqual([]);
    expect((await admin('PUT', '/faults/nosuch/ping', '{"kind":"hang"}')).status).toBe(404);
  });

  it('lists its routes on an unknown path, and serves /endpoints', async () => {
    const unknown = await admin('GET', '/nope');
    expect(unknown.status).toBe(404);
    expect(unknown.json.routes).toContain('PUT|DELETE /faults/:provider/:endpoint');
    const endpoints = await admin('GET', '/endpoints');
    expect(endpoints.json).toMatchObject({ coingecko: { url: coingecko }, binance: { provider: 'binance' } });
  });

  it('POST /websockets/binance/drop closes every Binance stream connection', async () => {
    const ws = new WebSocket(`${sandbox.endpoints.binance!.wsUrl}/stream?streams=btcusdt@ticker`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await waitUntil(() => sandbox.wsConnections('binance') === 1);
    expect((await admin('GET', '/streams')).json).toEqual({ coingecko: [], binance: ['btcusdt@ticker'] });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

    expect(await admin('POST', '/websockets/binance/drop')).toEqual({ status: 200, json: { ok: true } });
    await closed;
    await waitUntil(() => sandbox.wsConnections('binance') === 0);
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
