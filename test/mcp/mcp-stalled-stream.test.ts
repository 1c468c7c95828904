import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

// The MCP SDK queues a session's notifications for its GET stream without a bound: an agent that kept
// its session and stopped reading grew the gateway by megabytes a minute (with a fast feed and no
// throttle) for as long as it liked. A stream whose socket does not drain within
// MARKETGRAPH_MCP_STALLED_STREAM_MS is closed; the session stays. A hundred resources with a fast feed
// fill the loopback socket's buffers in seconds, so the stall is reached soon.

const PROTOCOL = '2025-03-26';

describe('an MCP notification stream whose client stops reading', () => {
  let t: TestGateway;
  let port: number;
  beforeAll(async () => {
    t = await startTestGateway({
      sandbox: { tickMs: 5 },
      env: {
        MARKETGRAPH_MCP_NOTIFY_THROTTLE_MS: '0',
        MARKETGRAPH_MCP_STALLED_STREAM_MS: '1000',
        MARKETGRAPH_MCP_MAX_SUBSCRIPTIONS: '200',
      },
    });
    ({ port } = await t.gateway.start());
  });
  afterAll(() => t?.close());

  const rpc = async (session: string | undefined, body: object) => {
    const response = await fetch(`http://127.0.0.1:${port}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...(session ? { 'mcp-session-id': session, 'mcp-protocol-version': PROTOCOL } : {}),
      },
      body: JSON.stringify({ jsonrpc: '2.0', ...body }),
    });
    await response.text();
    return { status: response.status, session: response.headers.get('mcp-session-id') ?? session };
  };

  it('is closed once its socket has not drained for the configured time; the session goes on', async () => {
    const { session } = await rpc(undefined, {
      id: 1,
      method: 'initialize',
      params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'stall', version: '1' } },
    });
    await rpc(session!, { method: 'notifications/initialized' });
    // The notification stream, on a socket that is never read.
    const socket = connect(port, '127.0.0.1');
    socket.pause();
    socket.write(
      `GET /mcp HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nmcp-session-id: ${session}\r\nmcp-protocol-version: ${PROTOCOL}\r\n\r\n`,
    );
    const ids = t.sandbox.market.assets.slice(0, 100).map((asset) => asset.id);
    const subscribed = await Promise.all(
      ids.map((id, i) =>
        rpc(session!, { id: 10 + i, method: 'resources/subscribe', params: { uri: `price://${id}/USD` } }),
      ),
    );
    expect(subscribed.map((answer) => answer.status)).toEqual(ids.map(() => 200));

    // The session allows one notification stream: a second one is refused while the first is open.
    const second = () =>
      fetch(`http://127.0.0.1:${port}/mcp`, {
        headers: {
          accept: 'text/event-stream',
          'mcp-session-id': session!,
          'mcp-protocol-version': PROTOCOL,
        },
      });
    const refused = await second();
    expect(refused.status).toBe(409);
    await refused.body?.cancel();
    // Polled until the stalled stream is closed (the test's timeout bounds it).
    let reopened = await second();
    while (reopened.status === 409) {
      await reopened.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, 100));
      reopened = await second();
    }
    expect(reopened.status).toBe(200);
    socket.destroy();
    expect((await rpc(session!, { id: 99, method: 'ping' })).status).toBe(200);
    await reopened.body?.cancel();
  }, 60_000);
});
