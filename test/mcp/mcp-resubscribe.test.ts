import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { GraphqlFetch } from '../../src/mcp/execute.js';
import { createMcp, type Mcp } from '../../src/mcp/index.js';
import { buildSchema } from '../../src/schema/index.js';
import { waitFor } from '../helpers/clients.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { manualTimers } from '../helpers/manual-timers.js';

// A live price subscription whose stream is cut after its first event, seen by the SDK's own client
// over Streamable HTTP: it is told (resources/updated), its reads answer the error, and once the
// (manual) backoff has run it is live again, told again, and reads a fresh price. Unsubscribing or
// ending the session during the backoff leaves no timer.

const URI = 'price://bitcoin/usd';

/** yoga.fetch with the SSE answers wrapped so the test can cut them as a broken connection would. */
function cuttableFetch(t: TestGateway) {
  const open = new Map<
    ReadableStreamDefaultController<Uint8Array>,
    ReadableStreamDefaultReader<Uint8Array>
  >();
  let streams = 0;
  const fetch: GraphqlFetch = async (url, init) => {
    const response = await t.gateway.yoga.fetch(url, init);
    const accept = new Headers(init.headers).get('accept');
    if (accept !== 'text/event-stream' || !response.ok || !response.body) return response;
    streams += 1;
    const reader = response.body.getReader();
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
        open.set(c, reader);
      },
      async pull(c) {
        const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (!open.has(c)) return;
        if (done) {
          open.delete(c);
          c.close();
        } else c.enqueue(value);
      },
      cancel(reason) {
        open.delete(controller);
        return reader.cancel(reason);
      },
    });
    return new Response(body, { status: response.status, headers: response.headers });
  };
  return {
    fetch,
    streams: () => streams,
    open: () => open.size,
    cut() {
      for (const [c, reader] of open) {
        open.delete(c);
        c.error(new TypeError('terminated'));
        void reader.cancel().catch(() => undefined);
      }
    },
  };
}

describe('MCP price resources over Streamable HTTP when the stream is cut', () => {
  let t: TestGateway;
  let mcp: Mcp;
  let server: Server;
  let url: URL;
  let link: ReturnType<typeof cuttableFetch>;
  const timers = manualTimers();
  const warnings: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    t = await startTestGateway({ sandbox: { tickMs: 50 } });
    link = cuttableFetch(t);
    mcp = createMcp({
      // Price changes are throttled out of the way: every notification here is a failure or a recovery.
      config: loadConfig({ env: { MARKETGRAPH_MCP_NOTIFY_THROTTLE_MS: '3600000' } }),
      schema: buildSchema(),
      fetch: link.fetch,
      version: 'test',
      timers,
      random: () => 0.5,
      log: (level, fields) => {
        if (level === 'warn') warnings.push(fields);
      },
    });
    server = createServer((req, res) => void mcp.http.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`);
  });
  afterAll(async () => {
    await mcp?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await t?.close();
  });

  const connect = async () => {
    const transport = new StreamableHTTPClientTransport(url);
    const client = new Client({ name: 'test', version: '1' });
    const updates: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
    await client.connect(transport);
    return { client, transport, updates };
  };
  const readPrice = async (client: Client) =>
    JSON.parse(((await client.readResource({ uri: URI })).contents[0] as { text: string }).text);

  it('told, the read answers the error, then re-subscribed after the backoff, told again and reading a price', async () => {
    const { client, transport, updates } = await connect();
    await client.subscribeResource({ uri: URI });
    expect(await readPrice(client)).toMatchObject({ assetId: 'bitcoin', stale: false });
    expect(link.streams()).toBe(1);

    link.cut();
    await waitFor(() => updates.length === 1, 5_000, 'resources/updated after the cut');
    expect(updates).toEqual([URI]);
    await expect(client.readResource({ uri: URI })).rejects.toThrow(
      /SUBSCRIPTION_ENDED: the live price stream failed: terminated — the live price stream stopped: the server subscribes again by itself/,
    );
    const error = await client.readResource({ uri: URI }).catch((e: { data?: unknown }) => e);
    expect((error as { data?: unknown }).data).toMatchObject({
      code: 'SUBSCRIPTION_ENDED',
      resubscribing: true,
    });
    expect(warnings).toEqual([{ uri: URI, code: 'SUBSCRIPTION_ENDED', resubscribeInMs: 500 }]);
    expect(timers.pending()).toEqual([500]);
    expect((await client.listResources()).resources.map((r) => r.uri)).toEqual([URI]);

    expect(timers.fire()).toBe(1);
    await waitFor(() => updates.length === 2, 5_000, 'resources/updated once live again');
    expect(link.streams()).toBe(2);
    const fresh = await readPrice(client);
    expect(fresh).toMatchObject({ assetId: 'bitcoin', currency: 'USD', stale: false });
    const truth = t.sandbox.market.priceUsd('bitcoin', Date.parse(fresh.asOf));
    expect(Math.abs(fresh.value / truth - 1)).toBeLessThan(0.02);
    expect(timers.pending()).toEqual([]);

    // Cut again and unsubscribe during the backoff: no timer, and nothing subscribes again.
    link.cut();
    await waitFor(() => updates.length === 3, 5_000, 'resources/updated after the second cut');
    expect(timers.pending()).toHaveLength(1);
    await client.unsubscribeResource({ uri: URI });
    expect(timers.pending()).toEqual([]);
    expect(timers.fire()).toBe(0);
    expect(link.streams()).toBe(2);
    await transport.terminateSession();
    await client.close();
  });

  it('ending the session during the backoff leaves no timer and no stream', async () => {
    const { client, transport, updates } = await connect();
    await client.subscribeResource({ uri: URI });
    const before = link.streams();
    link.cut();
    await waitFor(() => updates.length === 1, 5_000, 'resources/updated after the cut');
    expect(timers.pending()).toHaveLength(1);
    await transport.terminateSession();
    await waitFor(() => mcp.http.sessions() === 0, 5_000, 'the session to close');
    expect(timers.pending()).toEqual([]);
    expect(link.open()).toBe(0);
    expect(link.streams()).toBe(before);
    await client.close();
  });
});
