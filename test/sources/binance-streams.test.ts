import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';
import { type BinanceStreams, createBinanceStreams } from '../../src/sources/binance-streams.js';

// The combined-stream client against the sandbox's Binance stream server (ticking every 100 ms), plus a
// bare WebSocket server where the test must see exactly what the client sent.

let sandbox: Sandbox;
let wsUrl: string;
const opened: BinanceStreams[] = [];

function open(overrides: Partial<Parameters<typeof createBinanceStreams>[0]> = {}) {
  const warnings: Array<{ obj: object; msg?: string }> = [];
  const streams = createBinanceStreams({
    wsUrl,
    logger: { warn: (obj, msg) => warnings.push({ obj, msg }), info: () => {} },
    ...overrides,
  });
  opened.push(streams);
  return { streams, warnings };
}

async function until(check: () => boolean, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sorted = (items: string[]) => [...items].sort();
const upstreamConnections = () => sandbox.count('binance', 'ws/stream');

/** A WebSocket server that records what clients send and never answers unless told to. */
async function startRecorder() {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const urls: string[] = [];
  const messages: Array<{ method: string; params: string[]; id: number }> = [];
  const clients: WebSocket[] = [];
  server.on('connection', (socket, request) => {
    urls.push(request.url ?? '');
    clients.push(socket);
    socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
  });
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    urls,
    messages,
    clients,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}

beforeAll(async () => {
  sandbox = await startSandbox({ providers: ['binance'], quotas: false, tickMs: 100 });
  wsUrl = sandbox.endpoints.binance!.wsUrl!;
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
  await until(() => sandbox.wsConnections('binance') === 0);
});

afterAll(async () => {
  await sandbox?.close();
});

describe('binance streams: reference counting', () => {
  it('shares one upstream stream between subscribers and closes it after the last leaves', async () => {
    const { streams } = open();
    const before = upstreamConnections();
    const a: unknown[] = [];
    const b: unknown[] = [];
    const stopA = streams.subscribe('btcusdt@ticker', (data) => a.push(data));
    const stopB = streams.subscribe('btcusdt@ticker', (data) => b.push(data));
    await until(() => a.length >= 2 && b.length >= 2);
    expect(sandbox.streams('binance')).toEqual(['btcusdt@ticker']);
    expect(sandbox.wsConnections('binance')).toBe(1);
    expect(upstreamConnections() - before).toBe(1);
    expect(streams.streams()).toEqual(['btcusdt@ticker']);
    expect(streams.connections()).toBe(1);
    expect(a[0]).toMatchObject({ e: '24hrTicker', s: 'BTCUSDT' });
    expect(a[0]).toBe(b[0]); // the raw `data` object, shared

    stopA();
    stopA(); // idempotent: must not take B's reference
    const seen = b.length;
    await until(() => b.length >= seen + 2);
    expect(sandbox.streams('binance')).toEqual(['btcusdt@ticker']);

    stopB();
    await until(() => sandbox.wsConnections('binance') === 0);
    expect(sandbox.streams('binance')).toEqual([]);
    expect(streams.streams()).toEqual([]);
    expect(streams.connections()).toBe(0);
  });

  it('adds and removes streams on a live connection with SUBSCRIBE / UNSUBSCRIBE', async () => {
    const { streams } = open();
    const before = upstreamConnections();
    const stopBtc = streams.subscribe('btcusdt@ticker', () => {});
    await until(() => sandbox.streams('binance').length === 1);
    const eth: unknown[] = [];
    const stopEth = streams.subscribe('ethusdt@miniTicker', (data) => eth.push(data));
    await until(() => eth.length >= 1);
    expect(sorted(sandbox.streams('binance'))).toEqual(['btcusdt@ticker', 'ethusdt@miniTicker']);
    stopBtc();
    await until(() => sandbox.streams('binance').length === 1);
    expect(sandbox.streams('binance')).toEqual(['ethusdt@miniTicker']);
    expect(upstreamConnections() - before).toBe(1);
    stopEth();
  });

  it('spreads streams over connections of at most maxStreamsPerConnection', async () => {
    const { streams } = open({ maxStreamsPerConnection: 2 });
    const names = [
      'btcusdt@ticker',
      'ethusdt@ticker',
      'btcusdt@miniTicker',
      'ethusdt@miniTicker',
      'btcusdt@kline_1m',
    ];
    const got = new Map<string, number>();
    const stops = names.map((name) => streams.subscribe(name, () => got.set(name, (got.get(name) ?? 0) + 1)));
    await until(() => names.every((n) => (got.get(n) ?? 0) >= 1));
    expect(streams.connections()).toBe(3);
    expect(sandbox.wsConnections('binance')).toBe(3);
    expect(sorted(sandbox.streams('binance'))).toEqual(sorted(names));
    for (const stop of stops) stop();
    await until(() => sandbox.wsConnections('binance') === 0);
    expect(streams.connections()).toBe(0);
  });
});

describe('binance streams: contract edges', () => {
  it('refuses a base URL that is not ws(s)://', () => {
    expect(() => createBinanceStreams({ wsUrl: '' })).toThrow(
      /wsUrl must be a ws:\/\/ or wss:\/\/ URL, got ""/,
    );
  });

  it('keeps delivering to the others when one subscriber throws', async () => {
    const { streams, warnings } = open();
    const calm: unknown[] = [];
    streams.subscribe('btcusdt@ticker', () => {
      throw new Error('subscriber bug');
    });
    streams.subscribe('btcusdt@ticker', (data) => calm.push(data));
    await until(() => calm.length >= 3);
    expect(warnings.some((w) => /subscriber threw/.test(w.msg ?? ''))).toBe(true);
  });
});

describe('binance streams: what goes on the wire', () => {
  it('puts same-tick subscriptions in the URL or in one SUBSCRIBE, and paces messages', async () => {
    const recorder = await startRecorder();
    try {
      const { streams } = open({ wsUrl: recorder.url });
      streams.subscribe('btcusdt@ticker', () => {});
      streams.subscribe('ethusdt@ticker', () => {});
      await until(() => recorder.urls.length === 1);
      expect(recorder.urls[0]).toBe('/stream?streams=btcusdt@ticker/ethusdt@ticker');

      for (const name of ['a@ticker', 'b@ticker', 'c@ticker']) streams.subscribe(name, () => {});
      await until(() => recorder.messages.length === 1);
      expect(recorder.messages[0]).toEqual({
        method: 'SUBSCRIBE',
        params: ['a@ticker', 'b@ticker', 'c@ticker'],
        id: 1,
      });

      // Ten changes in ten turns of the event loop: never more than 4 messages in any second.
      const started = Date.now();
      const times: number[] = [];
      recorder.clients[0]!.on('message', () => times.push(Date.now()));
      for (let i = 0; i < 10; i++) {
        streams.subscribe(`s${i}@ticker`, () => {});
        await new Promise((r) => setTimeout(r, 5));
      }
      await until(() => recorder.messages.flatMap((m) => m.params).length === 13, 5000);
      for (let i = 4; i < times.length; i++) expect(times[i]! - times[i - 4]!).toBeGreaterThanOrEqual(990);
      expect(Date.now() - started).toBeLessThan(4000);
      expect(recorder.urls).toHaveLength(1);
    } finally {
      await recorder.close();
    }
  });

  it('treats a silent connection as dead and reconnects', async () => {
    const recorder = await startRecorder();
    try {
      const { streams, warnings } = open({
        wsUrl: recorder.url,
        deadAfterMs: 300,
        reconnect: { initialMs: 50, maxMs: 100 },
      });
      streams.subscribe('btcusdt@ticker', () => {});
      await until(() => recorder.urls.length >= 3, 3000);
      expect(recorder.urls.every((u) => u === '/stream?streams=btcusdt@ticker')).toBe(true);
      expect(warnings.some((w) => /silent/.test(w.msg ?? ''))).toBe(true);
    } finally {
      await recorder.close();
    }
  });
});

describe('binance streams: failures and rotation', () => {
  it('reconnects after a drop and resumes within 5 s, without surfacing an error', async () => {
    const { streams, warnings } = open();
    const events: number[] = [];
    const stop = streams.subscribe('ethusdt@ticker', () => events.push(Date.now()));
    await until(() => events.length >= 2);
    const before = upstreamConnections();
    const droppedAt = Date.now();
    sandbox.dropWebSockets('binance');
    await until(() => events.some((t) => t > droppedAt + 50) && upstreamConnections() > before, 5000);
    expect(Date.now() - droppedAt).toBeLessThan(5000);
    expect(sandbox.streams('binance')).toEqual(['ethusdt@ticker']);
    expect(streams.connections()).toBe(1);
    expect(warnings.some((w) => /reconnecting/.test(w.msg ?? ''))).toBe(true);

    // And again while the server refuses connections for a while: backoff, then recovery.
    const reconnecting = () => warnings.filter((w) => /reconnecting/.test(w.msg ?? '')).length;
    const lostBefore = reconnecting();
    sandbox.faults.set('binance', '*', { kind: 'down' });
    sandbox.dropWebSockets('binance');
    // The drop, then at least two refused attempts, each followed by another backoff.
    await until(() => reconnecting() >= lostBefore + 3, 5000);
    sandbox.faults.clear('binance');
    const recoveredFrom = Date.now();
    await until(() => events.some((t) => t > recoveredFrom), 5000);
    stop();
  });

  it('rotates connections before they expire without a gap in events', async () => {
    const { streams, warnings } = open({ rotateAfterMs: 400 });
    const before = upstreamConnections();
    const events: number[] = [];
    const stop = streams.subscribe('btcusdt@miniTicker', () => events.push(Date.now()));
    await until(() => events.length >= 1);
    // From the first event on, some connection is always up: the old one closes only after the new
    // one delivered, so the server holds both when it accepts the new one (its peak, counted there:
    // a sampler could miss a short overlap on a loaded machine). A drop-and-reconnect would show a
    // moment with none.
    sandbox.resetWsConnectionsPeak('binance');
    let minConnections = Number.POSITIVE_INFINITY;
    const sampler = setInterval(() => {
      minConnections = Math.min(minConnections, sandbox.wsConnections('binance'));
    }, 5);
    // Three connections: the first and two rotations (one every 400 ms).
    await until(() => upstreamConnections() - before >= 3, 5000);
    clearInterval(sampler);
    expect(sandbox.wsConnectionsPeak('binance')).toBe(2);
    expect(minConnections).toBe(1);
    expect(warnings.filter((w) => /reconnecting|silent/.test(w.msg ?? ''))).toEqual([]);
    const gaps = events.slice(1).map((t, i) => t - events[i]!);
    // Ticks are 100 ms apart; the bound leaves room for a loaded machine, the checks above prove overlap.
    expect(Math.max(...gaps)).toBeLessThan(600);
    // Rotation goes on (every 400 ms), so a later one may be opening when the server's count first
    // reads 1: stop the subscription, then both sides must settle on no connection at all.
    stop();
    await until(() => sandbox.wsConnections('binance') === 0 && streams.connections() === 0, 5000);
  });

  it('close() ends every connection and refuses new subscribers', async () => {
    const { streams } = open({ maxStreamsPerConnection: 1 });
    streams.subscribe('btcusdt@ticker', () => {});
    streams.subscribe('ethusdt@ticker', () => {});
    await until(() => sandbox.wsConnections('binance') === 2);
    await streams.close();
    await until(() => sandbox.wsConnections('binance') === 0);
    expect(streams.connections()).toBe(0);
    expect(() => streams.subscribe('btcusdt@ticker', () => {})).toThrow(/after close/);
  });
});
