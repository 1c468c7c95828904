import type { IncomingMessage } from 'node:http';
import type { ExecutionArgs } from 'graphql';
import { CloseCode, handleProtocols, makeServer } from 'graphql-ws';
import type { YogaServerInstance } from 'graphql-yoga';
import type { WebSocket, WebSocketServer } from 'ws';

// graphql-ws (graphql-transport-ws protocol) on a `ws` server, executed through Yoga's Envelop so both
// transports share one plugin pipeline. It does what graphql-ws's own `useServer` does (keep-alive
// pings, a socket that misses a pong for `keepAliveMs` is dropped, a closed socket ends its
// subscriptions) plus two things it cannot:
// - a `next` message whose payload is a shared result (see shared-results.ts) embeds that result's
//   JSON text, serialized once for all subscribers; only the envelope ({"id",...}) is built per message;
// - a message to a socket with little unsent data is handed to the socket without waiting for the
//   write to complete; a socket that has `highWaterBytes` or more unsent makes graphql-ws wait for it,
//   so a slow client stops pulling events (and its subscriptions conflate) instead of buffering them.

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

/** Stands in for a shared payload while the envelope is stringified; replaced by the payload's text. */
const PLACEHOLDER = '\u0000shared-payload\u0000';
const PLACEHOLDER_JSON = JSON.stringify(PLACEHOLDER);

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
  // Set while a shared payload is stringified and consumed by the send that immediately follows it
  // (graphql-ws stringifies a message and hands it to send() in one synchronous step).
  let pendingPayload: string | undefined;

  /** What onNext hands graphql-ws for a shared result: stringifies to the placeholder, cheaply. */
  class SharedPayload {
    constructor(private readonly text: string) {}
    toJSON() {
      pendingPayload = this.text;
      return PLACEHOLDER;
    }
  }

  const server = makeServer<Record<string, unknown> | undefined, Extra>({
    execute: (args) => (args.rootValue as Root).execute(args),
    subscribe: (args) => (args.rootValue as Root).subscribe(args),
    onSubscribe: async (ctx, _id, payload) => {
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
        rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
      };
    },
    // A shared result goes out as its text (send() swaps it in for the placeholder).
    onNext(_ctx, _id, _payload, _args, result) {
      const text = json?.(result);
      return text === undefined ? undefined : (new SharedPayload(text) as unknown as typeof result);
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
          let frame = data;
          if (pendingPayload !== undefined) {
            const at = frame.lastIndexOf(PLACEHOLDER_JSON);
            if (at >= 0) {
              frame = frame.slice(0, at) + pendingPayload + frame.slice(at + PLACEHOLDER_JSON.length);
            }
            pendingPayload = undefined;
          }
          if (socket.readyState !== socket.OPEN) return;
          if (socket.bufferedAmount < highWaterBytes) {
            socket.send(frame);
            return;
          }
          return new Promise<void>((resolve, reject) => {
            socket.send(frame, (error) => (error ? reject(error) : resolve()));
          });
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
