import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import {
  type GraphQLError,
  GraphQLFloat,
  GraphQLInt,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
} from 'graphql';
import { createYoga, maskError, type Plugin } from 'graphql-yoga';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { conflate } from '../../src/live/conflate.js';
import { createSharedResults } from '../../src/transport/shared-results.js';
import { useSharedSubscriptionResults } from '../../src/transport/use-shared-subscription-results.js';
import {
  SUBSCRIPTION_LIMIT_EXCEEDED,
  serveGraphqlWs,
  type WsTransport,
} from '../../src/transport/ws-transport.js';
import { subscribeWs, waitFor, wsClient } from '../helpers/clients.js';

// The graphql-ws transport over Yoga's Envelop, with a conflated source as the live feeds use: shared
// results are written straight to the socket, results with errors go through graphql-ws (masked), a
// client's `complete` releases the source, and a client that stops reading makes the server stop
// pulling, so its subscription conflates to the newest value instead of queueing every event. An
// operation refused before it runs is answered with an `error` message and leaves the socket alone.

interface Tick {
  n: number;
  /** Padding, to fill socket buffers quickly in the slow-client test. */
  blob: string;
}

interface SetupOptions {
  highWaterBytes?: number;
  keepAliveMs?: number;
  maxSubscriptions?: number;
  plugins?: Plugin[];
}

function setup({ highWaterBytes, keepAliveMs = 0, maxSubscriptions, plugins = [] }: SetupOptions = {}) {
  const listeners = new Set<(tick: Tick) => void>();
  let pulled = 0;
  const unexpected: unknown[] = [];
  const Tick: GraphQLObjectType<Tick> = new GraphQLObjectType<Tick>({
    name: 'Tick',
    fields: () => ({
      n: { type: GraphQLInt },
      /** The same tick again: lets a test nest a document as deep as it likes. */
      again: { type: Tick, resolve: (t) => t },
      blob: { type: GraphQLString },
      checked: {
        type: GraphQLFloat,
        resolve: (t) => {
          if (t.n === 13) throw new Error('db password is hunter2');
          return t.n;
        },
      },
    }),
  });
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({
      name: 'Query',
      fields: {
        ok: { type: GraphQLString },
        double: {
          type: GraphQLInt,
          args: { x: { type: new GraphQLNonNull(GraphQLInt) } },
          resolve: (_root, args: { x: number }) => args.x * 2,
        },
      },
    }),
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
        broken: {
          type: Tick,
          subscribe: () => {
            throw new Error('db password is hunter2');
          },
        },
      },
    }),
  });
  const shared = createSharedResults({
    // As the gateway's: what is masked is logged.
    maskError: (error) => {
      const masked = maskError(error, 'Unexpected error.') as GraphQLError;
      if (masked !== error) unexpected.push(error);
      return masked;
    },
  });
  const yoga = createYoga({
    schema,
    plugins: [...plugins, useSharedSubscriptionResults(shared)],
    // Yoga logs what it masks; the transport reports what it masks itself.
    logging: {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (...args: unknown[]) => unexpected.push(...args),
    },
  });
  const server: Server = createServer(yoga);
  const wss = new WebSocketServer({ server, path: '/graphql' });
  const transport: WsTransport = serveGraphqlWs({
    yoga,
    wss,
    keepAliveMs,
    maxSubscriptions,
    json: shared.json,
    highWaterBytes,
    onUnexpectedError: (error) => unexpected.push(error),
  });
  return {
    emit(tick: Tick) {
      for (const listener of listeners) listener(tick);
    },
    listeners: () => listeners.size,
    pulled: () => pulled,
    unexpected,
    sockets: () => wss.clients.size,
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
    const t = setup({ highWaterBytes: 16 * 1024 });
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
    // Until the server stops taking ticks (the same count over four polls, 25 ms apart).
    let seen = -1;
    let same = 0;
    await waitFor(
      () => {
        same = t.pulled() === seen ? same + 1 : 0;
        seen = t.pulled();
        return same >= 4;
      },
      5_000,
      'the server to stop pulling',
    );
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
    const t = setup({ keepAliveMs: 250 });
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
    // Kept through four more pings (each answered), where the silent one was dropped after one.
    const pingsThen = answering.pings();
    await waitFor(() => answering.pings() >= pingsThen + 4 || answering.closed(), 5_000, 'four more pings');
    expect(answering.closed()).toBe(false);
    answering.socket.close();
    await waitFor(() => t.listeners() === 0, 2_000, 'the source to be released');
  });

  it('answers each bad operation with a coded error message and keeps the socket and its other subscription', async () => {
    const throwingContext: Plugin = {
      onContextBuilding({ context }) {
        if ((context as { params?: { query?: string } }).params?.query?.includes('needsContext')) {
          throw new Error('context backend password is hunter2');
        }
      },
    };
    const t = setup({ plugins: [maxDepthPlugin({ n: 4 }) as Plugin, throwingContext] });
    current = t;
    const client = wsClient(await t.start());
    let closes = 0;
    client.on('closed', () => {
      closes += 1;
    });
    const good = subscribeWs(client, 'subscription { ticks { n } }');
    await waitFor(() => t.listeners() === 1, 3_000, 'the subscription');
    t.emit({ n: 1, blob: '' });
    await waitFor(() => good.events.length === 1, 2_000, 'the first event');

    const cases: Array<[string, string, Record<string, unknown>?]> = [
      ['subscription { ticks { n }', 'GRAPHQL_PARSE_FAILED'],
      ['subscription { ticks { nope } }', 'GRAPHQL_VALIDATION_FAILED'],
      // The depth limit throws from validation, which graphql-ws answers by closing the socket (4500).
      ['subscription { ticks { again { again { again { again { n } } } } } }', 'GRAPHQL_VALIDATION_FAILED'],
      ['query ($x: Int!) { double(x: $x) }', 'BAD_USER_INPUT', {}],
      ['subscription { broken { n } }', 'INTERNAL_SERVER_ERROR'],
      ['subscription needsContext { ticks { n } }', 'INTERNAL_SERVER_ERROR'],
    ];
    const answers: unknown[] = [];
    for (const [query, code, variables] of cases) {
      const bad = subscribeWs(client, query, variables);
      await waitFor(() => bad.failure() !== undefined, 2_000, `the error for ${query}`);
      const errors = bad.failure() as Array<{ message: string; extensions?: Record<string, unknown> }>;
      expect(Array.isArray(errors), query).toBe(true);
      expect(errors[0]?.extensions?.code, query).toBe(code);
      expect(errors[0]?.extensions).not.toHaveProperty('http');
      expect(bad.events).toEqual([]);
      answers.push(errors);
    }
    expect(JSON.stringify(answers)).not.toContain('hunter2');
    // Both masked errors were logged on the server, with their real cause.
    expect(t.unexpected.map(String).join(' ')).toMatch(/db password[\s\S]*context backend password/);

    // A query that runs is still answered normally on the same socket.
    const fine = subscribeWs(client, 'query ($x: Int!) { double(x: $x) }', { x: 21 });
    await waitFor(() => fine.events.length === 1, 2_000, 'the query result');
    expect(fine.events[0]!.data).toEqual({ double: 42 });

    t.emit({ n: 2, blob: '' });
    await waitFor(() => good.events.length === 2, 2_000, 'an event after the bad operations');
    expect(good.events.map((e) => e.data)).toEqual([{ ticks: { n: 1 } }, { ticks: { n: 2 } }]);
    expect(good.failure()).toBeUndefined();
    expect(closes).toBe(0);
    expect(t.sockets()).toBe(1);
    good.stop();
    await waitFor(() => t.listeners() === 0, 2_000, 'the source to be released');
    await client.dispose();
  });

  it('refuses an operation over maxSubscriptions on a socket with a coded error, and admits one after a complete', async () => {
    const t = setup({ maxSubscriptions: 2 });
    current = t;
    const client = wsClient(await t.start());
    const first = subscribeWs(client, 'subscription { ticks { n } }');
    const second = subscribeWs(client, 'subscription { ticks { n } }');
    await waitFor(() => t.listeners() === 2, 3_000, 'two subscriptions');
    const third = subscribeWs(client, 'subscription { ticks { n } }');
    await waitFor(() => third.failure() !== undefined, 2_000, 'the third to be refused');
    const errors = third.failure() as Array<{ extensions?: Record<string, unknown> }>;
    expect(errors[0]?.extensions).toEqual({ code: SUBSCRIPTION_LIMIT_EXCEEDED, maxSubscriptions: 2 });
    expect(t.listeners()).toBe(2);

    t.emit({ n: 1, blob: '' });
    await waitFor(() => first.events.length === 1 && second.events.length === 1, 2_000, 'both to stream on');
    first.stop();
    await waitFor(() => t.listeners() === 1, 2_000, 'the first to be released');
    const fourth = subscribeWs(client, 'subscription { ticks { n } }');
    await waitFor(() => t.listeners() === 2, 2_000, 'a new subscription in the freed place');
    t.emit({ n: 2, blob: '' });
    await waitFor(() => fourth.events.length === 1, 2_000, 'the new subscription to stream');
    expect(fourth.failure()).toBeUndefined();
    expect(t.sockets()).toBe(1);
    second.stop();
    fourth.stop();
    await client.dispose();
  });
});
