import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type GraphQLError,
  GraphQLFloat,
  GraphQLInt,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
} from 'graphql';
import { createYoga, maskError } from 'graphql-yoga';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { conflate } from '../../src/live/conflate.js';
import { createSharedResults } from '../../src/live/shared-results.js';
import { serveGraphqlWs, type WsTransport } from '../../src/live/ws-transport.js';
import { useSharedSubscriptionResults } from '../../src/plugins/use-shared-subscription-results.js';
import { subscribeWs, waitFor, wsClient } from '../helpers/clients.js';

// The graphql-ws transport over Yoga's Envelop, with a conflated source as the live feeds use: shared
// results are written straight to the socket, results with errors go through graphql-ws (masked), a
// client's `complete` releases the source, and a client that stops reading makes the server stop
// pulling, so its subscription conflates to the newest value instead of queueing every event.

interface Tick {
  n: number;
  /** Padding, to fill socket buffers quickly in the slow-client test. */
  blob: string;
}

function setup(highWaterBytes?: number, keepAliveMs = 0) {
  const listeners = new Set<(tick: Tick) => void>();
  let pulled = 0;
  const Tick = new GraphQLObjectType<Tick>({
    name: 'Tick',
    fields: {
      n: { type: GraphQLInt },
      blob: { type: GraphQLString },
      checked: {
        type: GraphQLFloat,
        resolve: (t) => {
          if (t.n === 13) throw new Error('db password is hunter2');
          return t.n;
        },
      },
    },
  });
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLString } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        ticks: {
          type: Tick,
          subscribe: () =>
            conflate<Tick, Tick>({
              listen(offer) {
                listeners.add(offer);
                return () => listeners.delete(offer);
              },
              keyOf: () => 'only',
              map(tick) {
                pulled += 1;
                return tick;
              },
            }),
          resolve: (t: Tick) => t,
        },
      },
    }),
  });
  const shared = createSharedResults({
    maskError: (error) => maskError(error, 'Unexpected error.') as GraphQLError,
  });
  const yoga = createYoga({ schema, plugins: [useSharedSubscriptionResults(shared)], logging: false });
  const server: Server = createServer(yoga);
  const wss = new WebSocketServer({ server, path: '/graphql' });
  const transport: WsTransport = serveGraphqlWs({
    yoga,
    wss,
    keepAliveMs,
    json: shared.json,
    highWaterBytes,
  });
  return {
    emit(tick: Tick) {
      for (const listener of listeners) listener(tick);
    },
    listeners: () => listeners.size,
    pulled: () => pulled,
    async start() {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
    },
    async close() {
      await transport.dispose();
      wss.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

let current: ReturnType<typeof setup> | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

describe('graphql-ws transport', () => {
  it('sends shared results and masked errors as graphql-ws messages, and releases the source on complete', async () => {
    const t = setup();
    current = t;
    const url = await t.start();
    const client = wsClient(url);
    const sub = subscribeWs(client, 'subscription { ticks { n checked } }');
    await waitFor(() => t.listeners() === 1, 3_000, 'the subscription');
    // One at a time: conflation would merge ticks offered faster than they are sent.
    for (const [i, n] of [1, 13, 2].entries()) {
      t.emit({ n, blob: '' });
      await waitFor(() => sub.events.length === i + 1, 2_000, `event ${i + 1}`);
    }
    expect(sub.events.map((e) => e.data)).toEqual([
      { ticks: { n: 1, checked: 1 } },
      { ticks: { n: 13, checked: null } },
      { ticks: { n: 2, checked: 2 } },
    ]);
    expect(sub.events.map((e) => e.errors?.length ?? 0)).toEqual([0, 1, 0]);
    const error = sub.events[1]!.errors![0] as { message: string; extensions?: { code?: string } };
    expect(error.message).toBe('Unexpected error.');
    expect(error.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(JSON.stringify(sub.events)).not.toContain('hunter2');
    expect(sub.failure()).toBeUndefined();

    sub.stop();
    await waitFor(() => t.listeners() === 0, 2_000, 'the source to be released');
    await client.dispose();
  });

  it('stops pulling for a client that stops reading, then sends it the newest value', async () => {
    const t = setup(16 * 1024);
    current = t;
    const url = await t.start();
    const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    const received: number[] = [];
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as {
        type: string;
        payload?: { data?: { ticks: { n: number } } };
      };
      if (message.type === 'connection_ack') {
        socket.send(
          JSON.stringify({
            id: '1',
            type: 'subscribe',
            payload: { query: 'subscription { ticks { n blob } }' },
          }),
        );
      } else if (message.type === 'next') {
        received.push(message.payload!.data!.ticks.n);
      }
    });
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init' }));
    await waitFor(() => t.listeners() === 1, 3_000, 'the subscription');

    // The client stops reading: its TCP receive window and the server's send buffer fill up.
    const raw = (socket as unknown as { _socket: import('node:net').Socket })._socket;
    raw.pause();
    const blob = 'x'.repeat(64 * 1024);
    const offered = 1_000;
    for (let n = 1; n <= offered; n++) {
      t.emit({ n, blob });
      // Time for a server that is not held back to take every tick.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Far fewer than offered were taken from the source: the rest were conflated away.
    const pulledWhilePaused = t.pulled();
    expect(pulledWhilePaused).toBeLessThan(offered / 2);

    raw.resume();
    await waitFor(() => received.at(-1) === offered, 10_000, 'the newest value');
    expect(received.length).toBeLessThan(offered / 2);
    expect(received).toEqual([...received].sort((a, b) => a - b));
    socket.close();
    await waitFor(() => t.listeners() === 0, 2_000, 'the source to be released');
  });

  it('pings every keepAliveMs, keeps a client that answers, drops one that does not and releases it', async () => {
    // Generous for a loaded CI machine: the answering client has a whole period to pong.
    const t = setup(undefined, 250);
    current = t;
    const url = (await t.start()).replace(/^http/, 'ws');
    const open = (autoPong: boolean) => {
      const socket = new WebSocket(url, 'graphql-transport-ws', { autoPong });
      let pings = 0;
      let closed = false;
      socket.on('ping', () => {
        pings += 1;
      });
      socket.on('close', () => {
        closed = true;
      });
      socket.on('message', (data) => {
        if ((JSON.parse(String(data)) as { type: string }).type === 'connection_ack') {
          socket.send(
            JSON.stringify({
              id: '1',
              type: 'subscribe',
              payload: { query: 'subscription { ticks { n } }' },
            }),
          );
        }
      });
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
      return { socket, pings: () => pings, closed: () => closed };
    };
    const answering = open(true);
    const silent = open(false);
    await waitFor(() => t.listeners() === 2, 3_000, 'both subscriptions');
    // The silent client misses its pong deadline (one period after a ping) and is dropped; its
    // subscription goes with it.
    await waitFor(() => silent.closed(), 3_000, 'the silent client to be dropped');
    await waitFor(() => t.listeners() === 1, 2_000, "the silent client's subscription to be released");
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(answering.closed()).toBe(false);
    expect(answering.pings()).toBeGreaterThanOrEqual(4);
    answering.socket.close();
    await waitFor(() => t.listeners() === 0, 2_000, 'the source to be released');
  });
});
