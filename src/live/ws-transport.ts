import type { IncomingMessage } from 'node:http';
import type { ExecutionArgs } from 'graphql';
import { CloseCode, handleProtocols, makeServer } from 'graphql-ws';
import { isAsyncIterable, type YogaServerInstance } from 'graphql-yoga';
import type { WebSocket, WebSocketServer } from 'ws';
import { SourceIterator } from './source-iterator.js';

// graphql-ws (graphql-transport-ws protocol) on a `ws` server, executed through Yoga's Envelop so both
// transports share one plugin pipeline. It does what graphql-ws's own `useServer` does (keep-alive
// pings, a socket that misses a pong for `keepAliveMs` is dropped, a closed socket ends its
// subscriptions) plus two things it cannot:
// - a subscription's shared results (see shared-results.ts) are written to the socket here, as
//   `{"id":…,"type":"next","payload":<the result's JSON text, serialized once for all subscribers>}`,
//   without passing through graphql-ws's per-message path (its loop, onNext, envelope stringify and
//   validation, three awaits): that path was most of what a delivery cost above a plain `ws` send
//   (docs/benchmarks-live.md). graphql-ws still owns the protocol — subscribe, complete, errors, the
//   results that are not shared (those with errors) — and still iterates the subscription, so a client's
//   `complete` or a closed socket ends it as before;
// - a message to a socket with little unsent data is handed to the socket without waiting for the
//   write to complete; a socket that has `highWaterBytes` or more unsent is waited for, so a slow
//   client stops pulling events (and its subscriptions conflate) instead of buffering them.

export interface WsTransportDeps {
  // biome-ignore lint/suspicious/noExplicitAny: any Yoga instance; only getEnveloped is used.
  yoga: YogaServerInstance<any, any>;
  wss: WebSocketServer;
  /** Ping period and pong deadline (default 12 s); 0 disables keep-alive. */
  keepAliveMs?: number;
  /** The JSON text of a shared result, or undefined (then the payload is stringified as usual). */
  json?: (result: unknown) => string | undefined;
  /** Unsent bytes above which a send waits for the socket (default 64 KiB). */
  highWaterBytes?: number;
  onError?: (error: unknown) => void;
}

export interface WsTransport {
  dispose(): Promise<void>;
}

interface Extra {
  socket: WebSocket;
  request: IncomingMessage;
}

type Root = {
  execute: (args: ExecutionArgs) => never;
  subscribe: (args: ExecutionArgs) => never;
};

export function serveGraphqlWs(deps: WsTransportDeps): WsTransport {
  const keepAliveMs = deps.keepAliveMs ?? 12_000;
  const highWaterBytes = deps.highWaterBytes ?? 64 * 1024;
  const json = deps.json;

  const server = makeServer<Record<string, unknown> | undefined, Extra>({
    execute: (args) => (args.rootValue as Root).execute(args),
    subscribe: (args) => (args.rootValue as Root).subscribe(args),
    onSubscribe: async (ctx, id, payload) => {
      const enveloped = deps.yoga.getEnveloped({
        ...ctx,
        req: ctx.extra.request,
        socket: ctx.extra.socket,
        params: payload,
      });
      const document = enveloped.parse(payload.query);
      const errors = enveloped.validate(enveloped.schema, document);
      if (errors.length > 0) return errors;
      return {
        schema: enveloped.schema,
        operationName: payload.operationName,
        document,
        variableValues: payload.variables,
        contextValue: await enveloped.contextFactory(),
        rootValue: {
          execute: enveloped.execute,
          subscribe: json
            ? async (args: ExecutionArgs) => {
                const result = await enveloped.subscribe(args);
                if (!isAsyncIterable(result)) return result;
                const socket = ctx.extra.socket;
                return new DirectResults(result[Symbol.asyncIterator](), socket, id, json, highWaterBytes);
              }
            : enveloped.subscribe,
        },
      };
    },
  });

  deps.wss.options.handleProtocols = handleProtocols;
  deps.wss.on('connection', (socket, request) => {
    socket.once('error', (error) => {
      deps.onError?.(error);
      socket.close(CloseCode.InternalServerError, 'Internal server error');
    });

    let pongTimer: NodeJS.Timeout | undefined;
    const pingTimer =
      keepAliveMs > 0
        ? setInterval(() => {
            if (socket.readyState !== socket.OPEN || pongTimer) return;
            pongTimer = setTimeout(() => socket.terminate(), keepAliveMs);
            socket.ping();
          }, keepAliveMs)
        : undefined;
    socket.on('pong', () => {
      clearTimeout(pongTimer);
      pongTimer = undefined;
    });

    const closed = server.opened(
      {
        protocol: socket.protocol,
        send(data) {
          return sendFrame(socket, data, highWaterBytes);
        },
        close(code, reason) {
          socket.close(code, reason);
        },
        onMessage(cb) {
          socket.on('message', async (message) => {
            try {
              await cb(String(message));
            } catch (error) {
              deps.onError?.(error);
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            }
          });
        },
      },
      { socket, request },
    );

    socket.once('close', (code, reason) => {
      clearTimeout(pongTimer);
      clearInterval(pingTimer);
      void closed(code, String(reason));
    });
  });

  return {
    async dispose() {
      for (const client of deps.wss.clients) client.close(1001, 'Going away');
      deps.wss.removeAllListeners('connection');
    },
  };
}

/** Sends without waiting unless the socket already has `highWaterBytes` unsent; then waits for it. */
function sendFrame(socket: WebSocket, frame: string, highWaterBytes: number): Promise<void> | undefined {
  if (socket.readyState !== socket.OPEN) return undefined;
  if (socket.bufferedAmount < highWaterBytes) {
    socket.send(frame);
    return undefined;
  }
  return new Promise<void>((resolve, reject) => {
    socket.send(frame, (error) => (error ? reject(error) : resolve()));
  });
}

/**
 * One subscription's results as graphql-ws iterates them: shared results are written to the socket
 * here and never yielded; anything else (a result with errors) is yielded for graphql-ws to send. The
 * iterator only settles for those, or when the subscription ends.
 */
class DirectResults extends SourceIterator<unknown> {
  /** The envelope up to the payload, built once per subscription. */
  private readonly prefix: string;

  constructor(
    source: AsyncIterator<unknown>,
    private readonly socket: WebSocket,
    id: string,
    private readonly json: (result: unknown) => string | undefined,
    private readonly highWaterBytes: number,
  ) {
    super(source);
    this.prefix = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
  }

  async next(): Promise<IteratorResult<unknown>> {
    for (;;) {
      const step = await this.source.next();
      if (step.done) return step;
      const text = this.json(step.value);
      if (text === undefined) return step;
      // A closed socket: graphql-ws ends the subscription (return()) as it handles the close.
      const waiting = sendFrame(this.socket, `${this.prefix}${text}}`, this.highWaterBytes);
      if (waiting) await waiting;
    }
  }
}
