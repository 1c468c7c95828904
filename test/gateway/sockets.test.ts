import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ConfigError, loadConfig } from '../../src/config.js';
import { CONNECTION_LIMIT_EXCEEDED } from '../../src/connection-cap.js';
import type { Sandbox } from '../../src/sandbox/server.js';
import { startSandbox } from '../../src/sandbox/server.js';
import { SUBSCRIPTION_LIMIT_EXCEEDED } from '../../src/transport/ws-transport.js';
import { subscribeSse, subscribeWs, waitFor, wsClient } from '../helpers/clients.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { openRaw, type Raw } from '../helpers/raw-socket.js';

// Issue #15, sockets: a gateway on a real port with small socket limits. Connections that send
// nothing, trickle their headers (slowloris) or their body, or idle after a response are closed within
// the configured timeouts, while a streaming SSE response and a graphql-ws socket outlive them. Over
// the connection cap a client is answered 503 with a code, and admitted again once a place frees up.
// graphql-ws: a bad `subscribe` is answered on its own id and the socket's other subscription streams
// on; operations per socket are capped with a code; silent and oversized sockets are closed.

const HEADERS_TIMEOUT_MS = 300;
const REQUEST_TIMEOUT_MS = 500;

const PRICES = 'subscription ($ids: [ID!]!) { priceUpdated(assetIds: $ids) { assetId value asOf } }';

/** Writes `text` one byte at a time, one every 25 ms, then keeps going with header bytes. */
function trickle(raw: Raw, text: string): () => number {
  let sent = 0;
  const timer = setInterval(() => {
    if (raw.closed() || raw.socket.destroyed) return clearInterval(timer);
    raw.socket.write(sent < text.length ? text[sent]! : 'a');
    sent += 1;
  }, 25);
  raw.socket.once('close', () => clearInterval(timer));
  return () => sent;
}

function statusLine(raw: Raw): string {
  return raw.received().split('\r\n')[0] ?? '';
}

describe('socket settings', () => {
  it('default to bounds for production', () => {
    const config = loadConfig({ env: {} });
    expect(config.server).toEqual({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5_000,
      maxConnections: 10_000,
      maxConnectionsPerAddress: 0,
    });
    expect(config.ws).toEqual({ initTimeoutMs: 3_000, maxSubscriptions: 100, maxMessageBytes: 1_048_576 });
  });

  it('refuse a headers timeout longer than the request timeout, and a zero cap', () => {
    const env = { MARKETGRAPH_HEADERS_TIMEOUT_MS: '20000', MARKETGRAPH_REQUEST_TIMEOUT_MS: '10000' };
    expect(() => loadConfig({ env })).toThrow(ConfigError);
    expect(() => loadConfig({ env })).toThrow(
      /^MARKETGRAPH_HEADERS_TIMEOUT_MS: must not exceed MARKETGRAPH_REQUEST_TIMEOUT_MS \(10000\), got "20000"$/,
    );
    expect(() => loadConfig({ env: { MARKETGRAPH_MAX_CONNECTIONS: '0' } })).toThrow(
      /^MARKETGRAPH_MAX_CONNECTIONS: must be a whole number from 1 to 1000000/,
    );
  });
});

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ quotas: false, tickMs: 100 });
});
afterAll(async () => {
  await sandbox.close();
});

describe('HTTP and graphql-ws sockets under small limits', () => {
  let t: TestGateway;
  let url: string;
  let port: number;
  beforeAll(async () => {
    t = await startTestGateway({
      sandboxInstance: sandbox,
      env: {
        MARKETGRAPH_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
        MARKETGRAPH_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
        MARKETGRAPH_KEEP_ALIVE_TIMEOUT_MS: '200',
        MARKETGRAPH_WS_INIT_TIMEOUT_MS: '300',
        MARKETGRAPH_WS_MAX_SUBSCRIPTIONS: '3',
        MARKETGRAPH_WS_MAX_MESSAGE_BYTES: '65536',
        MARKETGRAPH_MAX_COST: '5',
      },
    });
    ({ url, port } = await t.gateway.start());
  });
  afterAll(async () => {
    await t.close();
  });

  it('closes connections that send nothing, and a slowloris, with 408 within the headers timeout', async () => {
    const silent = Array.from({ length: 20 }, () => openRaw(port));
    const slow = openRaw(port);
    const sent = trickle(slow, 'GET /graphql HTTP/1.1\r\nHost: gateway\r\nX-Slow: ');
    await waitFor(() => silent.every((raw) => raw.closed()) && slow.closed(), 5_000, 'the sockets to close');
    for (const raw of [...silent, slow]) {
      expect(statusLine(raw)).toBe('HTTP/1.1 408 Request Timeout');
      expect(raw.received()).toContain('"code":"REQUEST_TIMEOUT"');
    }
    // The slowloris kept sending until it was cut off.
    expect(sent()).toBeGreaterThan(3);
  });

  it('closes a request whose body trickles in past the request timeout', async () => {
    const slow = openRaw(port);
    const body = JSON.stringify({ query: '{ __typename }' }).padEnd(2_000, ' ');
    trickle(
      slow,
      `POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    await waitFor(() => slow.closed(), 5_000, 'the slow request to be cut off');
    expect(statusLine(slow)).toBe('HTTP/1.1 408 Request Timeout');
  });

  it("answers what Node's parser refuses with a coded error: headers too large (431), not HTTP (400)", async () => {
    const big = openRaw(port);
    big.socket.write(`GET /graphql HTTP/1.1\r\nHost: gateway\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    const garbage = openRaw(port);
    garbage.socket.write('NOT HTTP AT ALL\r\n\r\n');
    await waitFor(() => big.closed() && garbage.closed(), 3_000, 'the refusals');
    expect(statusLine(big)).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(JSON.parse(big.received().split('\r\n\r\n')[1]!).errors[0].extensions.code).toBe(
      'REQUEST_HEADERS_TOO_LARGE',
    );
    expect(statusLine(garbage)).toBe('HTTP/1.1 400 Bad Request');
    expect(garbage.received()).toContain('"code":"BAD_REQUEST"');

    // After an answer on a kept-alive connection, garbage is not answered (it could be read as part of
    // that answer): the connection is closed.
    const kept = openRaw(port);
    kept.socket.write('GET /health/live HTTP/1.1\r\nHost: gateway\r\n\r\n');
    await waitFor(() => kept.received().length > 0, 3_000, 'the first answer');
    const first = kept.received();
    kept.socket.write('NOT HTTP AT ALL\r\n\r\n');
    await waitFor(() => kept.closed(), 3_000, 'the connection to close');
    expect(kept.received()).toBe(first);
  });

  it('answers a request and then closes the idle keep-alive connection', async () => {
    const raw = openRaw(port);
    raw.socket.write('GET /health/live HTTP/1.1\r\nHost: gateway\r\n\r\n');
    await waitFor(() => raw.received().length > 0, 3_000, 'the answer');
    expect(statusLine(raw)).toBe('HTTP/1.1 200 OK');
    expect(raw.received()).toMatch(/connection: keep-alive/i);
    await waitFor(() => raw.closed(), 5_000, 'the idle connection to close');
  });

  it('keeps an SSE subscription streaming long past the request timeout', async () => {
    const sse = subscribeSse(url, PRICES, { ids: ['bitcoin'] });
    let ended = false;
    void sse.done.finally(() => {
      ended = true;
    });
    const started = Date.now();
    const later = started + 4 * REQUEST_TIMEOUT_MS;
    await waitFor(() => sse.events.some((e) => e.at > later) || ended, 10_000, 'an event after the timeouts');
    expect(ended).toBe(false);
    expect(sse.events.every((e) => !e.errors)).toBe(true);
    sse.stop();
  });

  it('closes a graphql-ws socket that sends no connection_init within its wait (4408)', async () => {
    const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    let code: number | undefined;
    socket.on('close', (c) => {
      code = c;
    });
    await waitFor(() => code !== undefined, 5_000, 'the silent socket to close');
    expect(code).toBe(4408);
  });

  it('closes a graphql-ws socket that sends a message over the size limit (1009)', async () => {
    const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    let code: number | undefined;
    let acked = false;
    socket.on('message', (data) => {
      if ((JSON.parse(String(data)) as { type: string }).type !== 'connection_ack') return;
      acked = true;
      const query = `subscription { priceUpdated(assetIds: ["bitcoin"]) { value } } # ${'x'.repeat(70_000)}`;
      socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
    });
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
    socket.on('close', (c) => {
      code = c;
    });
    await waitFor(() => code !== undefined, 5_000, 'the socket to close');
    expect(acked).toBe(true);
    expect(code).toBe(1009);
  });

  it("answers each bad subscribe with a coded error and keeps the socket's other subscription streaming", async () => {
    const client = wsClient(url);
    let closes = 0;
    client.on('closed', () => {
      closes += 1;
    });
    const good = subscribeWs(client, PRICES, { ids: ['bitcoin'] });
    await waitFor(() => good.events.length > 0, 5_000, 'the first event');
    const started = Date.now();

    const deep = 'asset { price { '.repeat(6);
    const ids = ['bitcoin', 'ethereum', 'solana', 'ripple', 'dogecoin', 'cardano', 'tron', 'polkadot'];
    const cases: Array<{
      query: string;
      variables?: Record<string, unknown>;
      code?: string;
      message?: RegExp;
    }> = [
      { query: 'subscription { priceUpdated(assetIds: ["bitcoin"]) { value }', code: 'GRAPHQL_PARSE_FAILED' },
      {
        query: 'subscription { priceUpdated(assetIds: ["bitcoin"]) { nope } }',
        code: 'GRAPHQL_VALIDATION_FAILED',
      },
      // Its depth limit throws from validation: graphql-ws alone would close the socket (4500).
      {
        query: `subscription { priceUpdated(assetIds: ["bitcoin"]) { ${deep} value ${'} } '.repeat(6)} } }`,
        message: /depth/i,
      },
      {
        query: `subscription { signalChanged(assetIds: ${JSON.stringify(ids)}) { id direction } }`,
        code: 'COST_LIMIT_EXCEEDED',
      },
      { query: PRICES, variables: {}, code: 'BAD_USER_INPUT' },
    ];
    for (const { query, variables, code, message } of cases) {
      const bad = subscribeWs(client, query, variables);
      await waitFor(() => bad.failure() !== undefined, 5_000, `the error for ${query}`);
      const errors = bad.failure() as Array<{ message: string; extensions?: { code?: unknown } }>;
      expect(errors.length, query).toBeGreaterThan(0);
      for (const error of errors) expect(typeof error.extensions?.code, query).toBe('string');
      if (code) expect(errors[0]!.extensions!.code, query).toBe(code);
      if (message) expect(errors[0]!.message, query).toMatch(message);
      expect(bad.events).toEqual([]);
    }

    // Still streaming, on the same socket, past the HTTP request timeout.
    const later = Math.max(Date.now(), started + 4 * REQUEST_TIMEOUT_MS);
    await waitFor(() => good.events.some((e) => e.at > later), 5_000, 'events after the bad subscribes');
    expect(good.failure()).toBeUndefined();
    expect(good.events.every((e) => !e.errors)).toBe(true);
    expect(closes).toBe(0);
    good.stop();
    await client.dispose();
  });

  it("answers a subscribe with a malformed payload on its id (BAD_REQUEST); the socket's other subscription streams on", async () => {
    const socket = await protocolSocket(url);
    socket.send({
      id: 'good',
      type: 'subscribe',
      payload: { query: PRICES, variables: { ids: ['bitcoin'] } },
    });
    await waitFor(() => socket.of('good').length > 0, 5_000, 'the first event');
    const query = 'subscription { priceUpdated(assetIds: ["bitcoin"]) { value } }';
    const malformed: Record<string, unknown> = {
      noPayload: undefined,
      payloadString: 'subscription { x }',
      payloadArray: [query],
      payloadNull: null,
      noQuery: { variables: {} },
      queryNumber: { query: 42 },
      queryObject: { query: { kind: 'Document' } },
      variablesString: { query, variables: 'secret-looking-variables' },
      variablesArray: { query, variables: ['a'] },
      operationNameNumber: { query, operationName: 7 },
      extensionsString: { query, extensions: 'x' },
    };
    for (const [id, payload] of Object.entries(malformed)) socket.send({ id, type: 'subscribe', payload });
    await waitFor(
      () => Object.keys(malformed).every((id) => socket.of(id).length > 0),
      5_000,
      'an answer for each malformed subscribe',
    );
    for (const id of Object.keys(malformed)) {
      const answers = socket.of(id);
      expect(answers, id).toHaveLength(1);
      expect(answers[0]!.type, id).toBe('error');
      const errors = answers[0]!.payload as Array<{ message: string; extensions: { code: string } }>;
      expect(
        errors.map((e) => e.extensions.code),
        id,
      ).toEqual(['BAD_REQUEST']);
      // Short, and nothing of the payload is echoed.
      expect(errors[0]!.message.length, id).toBeLessThan(200);
      expect(errors[0]!.message, id).not.toMatch(/secret-looking|subscription \{/);
    }
    // An id answered so is free: a good subscribe with it streams.
    socket.send({
      id: 'noQuery',
      type: 'subscribe',
      payload: { query: PRICES, variables: { ids: ['ethereum'] } },
    });
    await waitFor(
      () => socket.of('noQuery').some((m) => m.type === 'next'),
      5_000,
      'the reused id to stream',
    );
    const seen = socket.of('good').length;
    await waitFor(() => socket.of('good').length > seen, 5_000, 'the good subscription to stream on');
    expect(socket.of('good').every((m) => m.type === 'next')).toBe(true);
    expect(socket.closed()).toBeUndefined();
    socket.close();
  });

  it('still closes the socket on a message that breaks the protocol itself', async () => {
    const bad = { query: 42 };
    const cases: Array<{ what: string; messages: (s: ProtocolSocket) => void; code: number }> = [
      { what: 'not JSON', messages: (s) => s.raw.send('{"id":"1","type":"subscribe"'), code: 4400 },
      {
        what: 'an id that is not a string',
        messages: (s) => s.send({ id: 1, type: 'subscribe', payload: bad }),
        code: 4400,
      },
      {
        what: 'an empty id',
        messages: (s) => s.send({ id: '', type: 'subscribe', payload: bad }),
        code: 4400,
      },
      {
        what: 'the id of a running subscription',
        messages: (s) => {
          s.send({ id: 'a', type: 'subscribe', payload: { query: PRICES, variables: { ids: ['bitcoin'] } } });
          s.send({ id: 'a', type: 'subscribe', payload: bad });
        },
        // graphql-ws checks the message before the id, so its code is 4400 here, not 4409.
        code: 4400,
      },
    ];
    for (const { what, messages, code } of cases) {
      const socket = await protocolSocket(url);
      messages(socket);
      await waitFor(() => socket.closed() !== undefined, 5_000, `the socket to close on ${what}`);
      expect(socket.closed(), what).toBe(code);
    }
    // Before connection_ack (here: before connection_init), the library's own answer.
    const early = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    let code: number | undefined;
    early.on('open', () => early.send(JSON.stringify({ id: '1', type: 'subscribe', payload: bad })));
    early.on('close', (c) => {
      code = c;
    });
    await waitFor(() => code !== undefined, 5_000, 'the early socket to close');
    expect(code).toBe(4400);
  });

  it('refuses a subscription over the per-socket cap with SUBSCRIPTION_LIMIT_EXCEEDED; the others stream on', async () => {
    const client = wsClient(url);
    const subs = ['bitcoin', 'ethereum', 'solana'].map((id) => subscribeWs(client, PRICES, { ids: [id] }));
    await waitFor(() => subs.every((s) => s.events.length > 0), 5_000, 'three streaming subscriptions');
    const extra = subscribeWs(client, PRICES, { ids: ['ripple'] });
    await waitFor(() => extra.failure() !== undefined, 5_000, 'the fourth to be refused');
    const errors = extra.failure() as Array<{ extensions?: Record<string, unknown> }>;
    expect(errors[0]?.extensions).toEqual({ code: SUBSCRIPTION_LIMIT_EXCEEDED, maxSubscriptions: 3 });

    const counts = subs.map((s) => s.events.length);
    await waitFor(() => subs.every((s, i) => s.events.length > counts[i]!), 5_000, 'the three to stream on');
    expect(subs.map((s) => s.failure())).toEqual([undefined, undefined, undefined]);
    for (const s of subs) s.stop();
    await client.dispose();
  });
});

describe('the connection cap', () => {
  let t: TestGateway;
  let url: string;
  let port: number;
  beforeAll(async () => {
    t = await startTestGateway({
      sandboxInstance: sandbox,
      env: { MARKETGRAPH_MAX_CONNECTIONS: '3', MARKETGRAPH_KEEP_ALIVE_TIMEOUT_MS: '30000' },
    });
    ({ url, port } = await t.gateway.start());
  });
  afterAll(async () => {
    await t.close();
  });

  const post = () =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });

  it('answers connections over the cap 503 with a code, and admits again once one closes', async () => {
    // Three kept-alive connections, each answered, fill the cap.
    const held = Array.from({ length: 3 }, () => openRaw(port));
    for (const raw of held) raw.socket.write('GET /health/live HTTP/1.1\r\nHost: gateway\r\n\r\n');
    await waitFor(() => held.every((raw) => raw.received().length > 0), 5_000, 'three answers');
    expect(held.map(statusLine)).toEqual(Array(3).fill('HTTP/1.1 200 OK'));

    const refused = await post();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    const body = (await refused.json()) as { errors: Array<{ extensions: { code: string } }> };
    expect(body.errors[0]!.extensions.code).toBe(CONNECTION_LIMIT_EXCEEDED);

    const upgrade = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    upgrade.on('error', () => undefined);
    const upgradeStatus = await new Promise<number | undefined>((resolve) => {
      upgrade.on('unexpected-response', (_req, res) => resolve(res.statusCode));
      upgrade.on('open', () => resolve(undefined));
    });
    expect(upgradeStatus).toBe(503);

    // A refused connection that sends nothing is not kept either.
    const silent = openRaw(port);
    await waitFor(() => silent.closed(), 5_000, 'the refused silent connection to be dropped');
    expect(silent.received()).toBe('');
    // The held connections were never disturbed.
    expect(held.some((raw) => raw.closed())).toBe(false);

    // One place frees up: the next connection is admitted (once the server has seen the close).
    held[0]!.socket.destroy();
    let answer: { status: number; body: unknown } | undefined;
    for (const deadline = Date.now() + 5_000; answer?.status !== 200 && Date.now() < deadline; ) {
      const response = await post();
      answer = { status: response.status, body: await response.json() };
      if (answer.status !== 200) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(answer).toMatchObject({ status: 200, body: { data: { __typename: 'Query' } } });
    for (const raw of held) raw.socket.destroy();
  });
});

interface ProtocolMessage {
  id?: string;
  type: string;
  payload?: unknown;
}

interface ProtocolSocket {
  raw: WebSocket;
  send(message: Record<string, unknown>): void;
  /** The messages received for one operation id. */
  of(id: string): ProtocolMessage[];
  /** The close code, once closed. */
  closed(): number | undefined;
  close(): void;
}

/** A graphql-transport-ws socket spoken by hand (the client library never sends a malformed message), acknowledged. */
async function protocolSocket(url: string): Promise<ProtocolSocket> {
  const raw = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const received: ProtocolMessage[] = [];
  let code: number | undefined;
  raw.on('message', (data) => received.push(JSON.parse(String(data)) as ProtocolMessage));
  raw.on('close', (c) => {
    code = c;
  });
  raw.on('open', () => raw.send(JSON.stringify({ type: 'connection_init' })));
  await waitFor(() => received.some((m) => m.type === 'connection_ack'), 5_000, 'connection_ack');
  return {
    raw,
    send: (message) => raw.send(JSON.stringify(message)),
    of: (id) => received.filter((m) => m.id === id),
    closed: () => code,
    close: () => raw.close(),
  };
}
