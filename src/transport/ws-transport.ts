import type { IncomingMessage } from 'node:http';
import { type DocumentNode, type ExecutionArgs, GraphQLError, getOperationAST } from 'graphql';
import { CloseCode, type Context, handleProtocols, makeServer, type SubscribePayload } from 'graphql-ws';
import { isAsyncIterable, maskError, type YogaServerInstance } from 'graphql-yoga';
import type { WebSocket, WebSocketServer } from 'ws';
import { SHUTTING_DOWN } from '../lifecycle/subscriptions.js';
import { SourceIterator } from './source-iterator.js';
import { malformedSubscribeAnswer } from './ws-malformed-subscribe.js';

// graphql-ws (graphql-transport-ws protocol) on a `ws` server, executed through Yoga's Envelop so both
// transports share one plugin pipeline. It does what graphql-ws's own `useServer` does (keep-alive
// pings, a socket that misses a pong for `keepAliveMs` is dropped, a closed socket ends its
// subscriptions) plus what it cannot:
// - one bad operation never closes the socket: parsing, validation (the depth limit throws there),
//   the context and the start of execution (cost limit, bad variables, a resolver refusing its
//   arguments) all run in `onSubscribe`, and whatever they refuse is answered to that operation's id
//   with an `error` message of coded GraphQL errors (unexpected ones masked); the socket and its other
//   subscriptions carry on. graphql-ws itself would close the socket (4500) on anything thrown there;
//   and a `subscribe` whose payload graphql-ws would not take (no string query, ...) is answered on its
//   id (BAD_REQUEST) before graphql-ws sees it, which would close the socket (4400): see
//   ws-malformed-subscribe.ts;
// - at most `maxSubscriptions` operations in flight per socket; one more is answered with an `error`
//   message (SUBSCRIPTION_LIMIT_EXCEEDED) and the socket stays open;
// - a subscription's shared results (see shared-results.ts) are written to the socket here, as
//   `{"id":…,"type":"next","payload":<the result's JSON text, serialized once for all subscribers>}`,
//   without passing through graphql-ws's per-message path (its loop, onNext, envelope stringify and
//   validation, three awaits): that path was most of what a delivery cost above a plain `ws` send
//   (docs/benchmarks-live.md). graphql-ws still owns the protocol — subscribe, complete, errors, the
//   results that are not shared (those with errors) — and still iterates the subscription, so a client's
//   `complete` or a closed socket ends it as before;
// - a message to a socket with little unsent data is handed to the socket without waiting for the
//   write to complete; a socket that has `highWaterBytes` or more unsent is waited for, so a slow
//   client stops pulling events (and its subscriptions conflate) instead of buffering them;
// - a shutdown (`endAll`) refuses new operations (SHUTTING_DOWN), ends every subscription so graphql-ws
//   sends its `complete`, lets queries in flight answer, and closes each socket with nothing left in
//   flight with 1001 (going away).

export const SUBSCRIPTION_LIMIT_EXCEEDED = 'SUBSCRIPTION_LIMIT_EXCEEDED';

/** Yoga's default message for a masked error. */
const UNEXPECTED_ERROR = 'Unexpected error.';

export interface WsTransportDeps {
  // biome-ignore lint/suspicious/noExplicitAny: any Yoga instance; only getEnveloped is used.
  yoga: YogaServerInstance<any, any>;
  wss: WebSocketServer;
  /** Ping period and pong deadline (default 12 s); 0 disables keep-alive. */
  keepAliveMs?: number;
  /** A socket that has not sent `connection_init` this long after opening is closed (4408; default 3 s). */
  connectionInitWaitMs?: number;
  /** Operations (subscriptions, queries) in flight per socket (default 100). */
  maxSubscriptions?: number;
  /** The JSON text of a shared result, or undefined (then the payload is stringified as usual). */
  json?: (result: unknown) => string | undefined;
  /** Unsent bytes above which a send waits for the socket (default 64 KiB). */
  highWaterBytes?: number;
  /**
   * Who is connecting, from the `connection_init` payload or the upgrade request: what it returns is
   * added to every operation's initial context; a refusal closes the socket with 4403 and the reason.
   */
  authenticate?: (
    request: IncomingMessage,
    payload: Record<string, unknown> | undefined,
  ) => Promise<{ context: Record<string, unknown> } | { refuse: string }>;
  onError?: (error: unknown) => void;
  /** An unexpected error, masked before it was sent. */
  onUnexpectedError?: (error: unknown) => void;
}

export interface WsTransport {
  /**
   * For a shutdown: from now on new operations get a SHUTTING_DOWN error; every subscription is ended
   * (the client gets `complete`) and every socket with no operation left is closed with 1001. Call it
   * again until the sockets are gone: operations that were starting end on a later call.
   */
  endAll(): void;
  dispose(): Promise<void>;
}

interface Extra {
  socket: WebSocket;
  request: IncomingMessage;
}

/** What onSubscribe computed, handed to graphql-ws's execute/subscribe through the root value. */
type Settled = { result: unknown };

export function serveGraphqlWs(deps: WsTransportDeps): WsTransport {
  const keepAliveMs = deps.keepAliveMs ?? 12_000;
  const highWaterBytes = deps.highWaterBytes ?? 64 * 1024;
  const maxSubscriptions = deps.maxSubscriptions ?? 100;
  const json = deps.json;
  /** Each socket's protocol state (its operations), once it sent `connection_init`. */
  const contexts = new WeakMap<WebSocket, Context<Record<string, unknown> | undefined, Extra>>();
  /** What `authenticate` said about each socket. */
  const identities = new WeakMap<WebSocket, Record<string, unknown>>();
  let ending = false;

  /** Runs the operation up to its first result; GraphQL errors when it is refused before that. */
  const start = async (
    ctx: Context<Record<string, unknown> | undefined, Extra>,
    id: string,
    payload: SubscribePayload,
  ): Promise<ExecutionArgs | readonly GraphQLError[]> => {
    const enveloped = deps.yoga.getEnveloped({
      ...ctx,
      ...identities.get(ctx.extra.socket),
      req: ctx.extra.request,
      socket: ctx.extra.socket,
      params: payload,
    });
    let document: DocumentNode;
    try {
      document = enveloped.parse(payload.query);
    } catch (error) {
      return [requestError(error, 'GRAPHQL_PARSE_FAILED')];
    }
    let invalid: readonly GraphQLError[];
    try {
      invalid = enveloped.validate(enveloped.schema, document);
    } catch (error) {
      return [requestError(error, 'GRAPHQL_VALIDATION_FAILED')];
    }
    if (invalid.length > 0) return invalid.map((error) => requestError(error, 'GRAPHQL_VALIDATION_FAILED'));
    const operation = getOperationAST(document, payload.operationName);
    if (!operation) {
      return [
        new GraphQLError(
          payload.operationName
            ? 'the document has no operation of the given operationName'
            : 'the document has several operations; name one with operationName',
          { extensions: { code: 'BAD_USER_INPUT' } },
        ),
      ];
    }
    const args: ExecutionArgs = {
      schema: enveloped.schema,
      operationName: payload.operationName,
      document,
      variableValues: payload.variables,
      contextValue: await enveloped.contextFactory(),
    };
    const result: unknown =
      operation.operation === 'subscription'
        ? await enveloped.subscribe(args)
        : await enveloped.execute(args);
    if (isRequestError(result)) return result.errors.map((error) => requestError(error, 'BAD_USER_INPUT'));
    const settled: Settled = {
      result:
        json && isAsyncIterable(result)
          ? new DirectResults(result[Symbol.asyncIterator](), ctx.extra.socket, id, json, highWaterBytes)
          : result,
    };
    return { ...args, rootValue: settled };
  };

  const server = makeServer<Record<string, unknown> | undefined, Extra>({
    connectionInitWaitTimeout: deps.connectionInitWaitMs ?? 3_000,
    execute: (args) => (args.rootValue as Settled).result as never,
    subscribe: (args) => (args.rootValue as Settled).result as never,
    onConnect: async (ctx) => {
      if (deps.authenticate) {
        const verdict = await deps.authenticate(ctx.extra.request, ctx.connectionParams);
        if ('refuse' in verdict) {
          // The close reason must fit a control frame (123 bytes).
          ctx.extra.socket.close(
            CloseCode.Forbidden,
            Buffer.from(verdict.refuse).subarray(0, 120).toString(),
          );
          return false;
        }
        identities.set(ctx.extra.socket, verdict.context);
      }
      contexts.set(ctx.extra.socket, ctx);
    },
    onSubscribe: async (ctx, id, payload) => {
      if (ending) {
        return [
          new GraphQLError('the server is shutting down; reconnect to reach another instance', {
            extensions: { code: SHUTTING_DOWN },
          }),
        ];
      }
      // The operation being subscribed is already among the socket's subscriptions.
      if (Object.keys(ctx.subscriptions).length > maxSubscriptions) {
        return [
          new GraphQLError(
            `a socket may run at most ${maxSubscriptions} operations at once; complete one first, or open another socket`,
            { extensions: { code: SUBSCRIPTION_LIMIT_EXCEEDED, maxSubscriptions } },
          ),
        ];
      }
      try {
        return await start(ctx, id, payload);
      } catch (error) {
        // A plugin or the context threw before anything ran (the cost estimate throws on variables
        // that do not coerce): a GraphQL error is the request's fault, anything else is masked.
        return [requestError(error, 'BAD_USER_INPUT')];
      }
    },
    // Every `error` message passes here: those of onSubscribe and those of a subscription that threw.
    onError: (_ctx, _id, _payload, errors) =>
      errors.map((error) => {
        const masked = maskError(error, UNEXPECTED_ERROR) as GraphQLError;
        if (masked !== error) deps.onUnexpectedError?.(error.originalError ?? error);
        return formatError(masked);
      }),
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
            const text = String(message);
            // One operation's malformed subscribe: answered on its id, the socket carries on.
            const answer = malformedSubscribeAnswer(text, contexts.get(socket));
            if (answer !== undefined) return void sendFrame(socket, answer, highWaterBytes);
            try {
              await cb(text);
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
    endAll() {
      ending = true;
      for (const socket of deps.wss.clients) {
        const operations = Object.values(contexts.get(socket)?.subscriptions ?? {});
        if (operations.length === 0) {
          if (socket.readyState === socket.OPEN) socket.close(1001, 'Going away');
          continue;
        }
        // A subscription's stream (a query in flight or one still starting is null): ending it makes
        // graphql-ws leave its loop and send `complete`.
        for (const operation of operations) {
          const stream = operation as { return?: () => unknown } | null;
          if (typeof stream?.return === 'function') {
            void Promise.resolve(stream.return()).catch(() => undefined);
          }
        }
      }
    },
    async dispose() {
      for (const client of deps.wss.clients) client.close(1001, 'Going away');
      deps.wss.removeAllListeners('connection');
    },
  };
}

/** A request-level error (nothing was executed) with a code: its own, or `code`. */
function requestError(error: unknown, code: string): GraphQLError {
  if (!(error instanceof GraphQLError))
    return new GraphQLError(UNEXPECTED_ERROR, { originalError: toError(error) });
  // Wrapped errors (a resolver's subscribe throwing) keep their origin, so the mask can tell.
  if (error.originalError || typeof error.extensions.code === 'string') return error;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { ...error.extensions, code },
  });
}

/** The error as the client sees it: Yoga's HTTP status hints (extensions.http) stay on the server. */
function formatError(error: GraphQLError) {
  const { http: _http, ...extensions } = error.extensions as Record<string, unknown>;
  const formatted = error.toJSON();
  return { ...formatted, extensions: { code: 'INTERNAL_SERVER_ERROR', ...extensions } };
}

function isRequestError(result: unknown): result is { errors: readonly unknown[] } {
  if (!result || typeof result !== 'object' || isAsyncIterable(result)) return false;
  const { data, errors } = result as { data?: unknown; errors?: unknown };
  return data === undefined && Array.isArray(errors) && errors.length > 0;
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
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
