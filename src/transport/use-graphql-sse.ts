import { useGraphQLSSE } from '@graphql-yoga/plugin-graphql-sse';
import { type ExecutionResult, GraphQLError } from 'graphql';
import { type GraphQLParams, isAsyncIterable, type Plugin } from 'graphql-yoga';
import { BodyTooLargeError, declaresTooLarge, readCappedBody } from '../read-capped-body.js';
import { createStreamPacing, isResultChunk, type StreamPacing } from './sse-pacing.js';
import { createSseStreams } from './sse-streams.js';

// graphql-sse's "single connection mode" on the GraphQL path, through Yoga's graphql-sse plugin. In that
// mode a client reserves a stream (PUT → a token), opens it (GET, event-stream, with the token), and
// sends each operation as a POST carrying the token (answered 202; its results arrive on the stream,
// tagged with the operation's id) and stops one with DELETE ?operationId=. Yoga itself speaks only the
// "distinct connections mode" (one event-stream response per operation) and answers PUT with 405.
// Only requests of the single-connection mode (PUT or DELETE, or carrying the stream token) go to the
// plugin; everything else, distinct-connection SSE included, stays with Yoga.
//
// What this leans on beyond the plugin's documented options (pinned by test/transport/contract.test.ts):
// - the plugin serves from `onRequest`, ending the response there, and runs each operation through
//   `yoga.getEnveloped({...serverContext, request, params})`. So Yoga's request hooks (onRequestParse,
//   onParams, onResultProcess) do not run for it; Envelop's (parse, validate, context, execute,
//   subscribe: the limits, cost, budgets, trusted-document enforcement, error masking) do. Who is
//   calling is therefore established here and handed in through the server context (`identify`),
//   as graphql-ws does for its connection.
// - the plugin hands graphql-sse a validation failure, and an operation refused before it started (a
//   subscription's NOT_FOUND), as results without `data`, which graphql-sse takes for execution
//   arguments (400 "Unable to detect operation AST"); and a text that does not parse rejects the
//   handler. So a posted operation is parsed and validated here first (answered 400 with coded
//   errors, as graphql-sse's own handler answers it; a trusted-documents refusal 403), and results of posted operations get `data: null`.
// - the handler keeps its streams in a private table that it neither bounds nor expires, and answers
//   its own refusals with errors that carry no code. So the streams are also tracked here
//   (sse-streams.ts: who reserved each, whether it is open): a request naming no stream this gateway
//   knows is answered 404 before its body is read; a reservation is bounded and dropped when it is not
//   opened in time, and the handler drops its entry when asked to open it with an aborted request;
//   an operation for a stream that is not open is refused (the handler would buffer its results for
//   nobody); only GET may open a stream (the handler opens one for any method asking for an event
//   stream); and the handler's JSON refusals get a code.
// - a posted body is read here, capped at the body limit (Yoga's own limit lives in its request
//   parser, which this path never reaches), and handed on as text.
// - the handler queues every result for its stream without a bound and pulls the next one at once, so
//   a stream whose client stops reading would hold a live subscription's every tick; each posted
//   operation's results are paced by what the stream's reader took (sse-pacing.ts), counted as the
//   handler writes them (its `onNext`, given the request handed to it as `raw`); and while the stream
//   holds as many as it may and its reader has taken none for a while, an operation posted to it is
//   refused (429 `RATE_LIMITED`): a query's result would be queued regardless.

export const STREAM_TOKEN_HEADER = 'x-graphql-event-stream-token';
const STREAM_TOKEN_PARAM = 'token';
/** Results one stream holds queued for a reader that is not taking them before its operations wait. */
const STREAM_HIGH_WATER = 32;
/** A stream at its mark whose reader has taken nothing for this long takes no new operations. */
const STREAM_STALLED_MS = 1_000;
/** Longest stream token taken (the handler's own are UUIDs). */
const MAX_TOKEN_CHARS = 128;

export interface GraphqlSseOptions {
  path: string;
  /** Largest request body read (MARKETGRAPH_MAX_BODY_BYTES): over it, 413 before it is read whole. */
  maxBodyBytes: number;
  /** Streams (reserved or open) one caller may hold, and the gateway in all. */
  maxStreamsPerCaller: number;
  maxStreams: number;
  /** A reservation (PUT) whose event stream is not opened within this is dropped. */
  reserveMs: number;
  now?: () => number;
  /**
   * Who is calling: `context` is added to the operation's server context (as `identity` is for
   * graphql-ws); a refusal (a refused credential) is sent as the answer instead.
   */
  identify?: (
    request: Request,
    serverContext: Record<string, unknown>,
  ) => Promise<
    | { context: Record<string, unknown> }
    | { refuse: { status: number; headers: Record<string, string>; body: string } }
  >;
  /** The key reservations are counted under (the client's id, or its address), after `identify`. */
  callerOf?: (request: Request, serverContext: Record<string, unknown>) => string;
  onUnexpectedError?: (error: unknown) => void;
}

/** Whether a request belongs to graphql-sse's single-connection mode (the fast path leaves them too). */
export function isSingleConnectionRequest(method: string, url: string, header: (name: string) => unknown) {
  if (method === 'PUT' || method === 'DELETE') return true;
  if (header(STREAM_TOKEN_HEADER) !== undefined && header(STREAM_TOKEN_HEADER) !== null) return true;
  const query = url.indexOf('?');
  return query >= 0 && new URLSearchParams(url.slice(query + 1)).has(STREAM_TOKEN_PARAM);
}

/** The stream token as graphql-sse's handler reads it: the header first, then `?token=`. */
function tokenOf(request: Request, url: URL): string | undefined {
  return request.headers.get(STREAM_TOKEN_HEADER) || url.searchParams.get(STREAM_TOKEN_PARAM) || undefined;
}

type FetchAPI = { Response: typeof Response; Request: typeof Request; ReadableStream: typeof ReadableStream };

export function useGraphqlSseSingleConnection(options: GraphqlSseOptions): Plugin {
  /** The operations posted to a stream (their results are written by the plugin), with its pacing. */
  const posted = new WeakMap<Request, StreamPacing>();
  const sse = useGraphQLSSE({
    endpoint: options.path,
    // Called just before the handler writes a result to the stream (and only then): `raw` is the
    // request this plugin handed it, the operation's.
    onNext: (_ctx, req) => {
      const raw = (req as { raw?: unknown }).raw;
      if (raw instanceof Object) posted.get(raw as Request)?.written();
    },
  });
  const serve = sse.onRequest!;
  let yoga: Parameters<NonNullable<Plugin['onYogaInit']>>[0]['yoga'] | undefined;
  /**
   * Per open stream: `ended`, aborted when it ends, the signal its posted operations run with (so one
   * still being set up when the stream ends is ended too: the handler would feed it to a stream nobody
   * reads); and `pacing`, what its reader has taken of its operations' results.
   */
  const open = new Map<string, { ended: AbortController; pacing: StreamPacing }>();

  /**
   * Drops the handler's entry for a reservation never opened: asked to open it with a request already
   * aborted, the handler ends the stream at once and deletes it from its table.
   */
  const drop = (token: string) => {
    if (!yoga) return;
    const request = new yoga.fetchAPI.Request(`http://localhost${options.path}`, {
      method: 'GET',
      headers: { accept: 'text/event-stream', [STREAM_TOKEN_HEADER]: token },
      signal: AbortSignal.abort(),
    });
    const endResponse = (response: Response) => void response.body?.cancel().catch(() => undefined);
    Promise.resolve(
      serve({ request, endResponse, serverContext: {} } as unknown as Parameters<typeof serve>[0]),
    ).catch((error: unknown) => options.onUnexpectedError?.(error));
  };
  const streams = createSseStreams({
    maxPerCaller: options.maxStreamsPerCaller,
    maxTotal: options.maxStreams,
    reserveMs: options.reserveMs,
    now: options.now ?? Date.now,
    onExpired: drop,
  });
  // Reservations also expire when no request comes to sweep them.
  let sweeper: ReturnType<typeof setInterval> | undefined;

  /**
   * The coded errors (and status: 400, or a refusal's own, trusted documents' 403) when the posted
   * operation does not parse or validate, else undefined.
   */
  function refuseInvalid(
    text: string,
    request: Request,
    serverContext: Record<string, unknown>,
  ): { status: number; errors: unknown[] } | undefined {
    let params: GraphQLParams;
    try {
      params = JSON.parse(text) as GraphQLParams;
    } catch {
      return undefined; // the plugin answers a body that is not JSON
    }
    if (typeof params?.query !== 'string') return undefined;
    const enveloped = yoga!.getEnveloped({ ...serverContext, request, params });
    let errors: readonly GraphQLError[];
    try {
      errors = enveloped.validate(enveloped.schema, enveloped.parse(params.query));
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      const status = (error.extensions.http as { status?: unknown } | undefined)?.status;
      return {
        status: typeof status === 'number' ? status : 400,
        errors: [coded(error, 'GRAPHQL_PARSE_FAILED')],
      };
    }
    return errors.length > 0
      ? { status: 400, errors: errors.map((e) => coded(e, 'GRAPHQL_VALIDATION_FAILED')) }
      : undefined;
  }

  /**
   * graphql-sse takes a result without `data` for execution arguments; every result it gets has it.
   * And a stream of results is pulled only while its stream has room.
   */
  const handOver = (
    request: unknown,
    result: unknown,
    setResult: (r: ExecutionResult | AsyncIterableIterator<ExecutionResult>) => void,
  ) => {
    const pacing = request instanceof Object ? posted.get(request as Request) : undefined;
    if (!pacing) return;
    if (isAsyncIterable(result)) return setResult(pacing.pace(result as AsyncIterable<ExecutionResult>));
    if ((result as ExecutionResult).data !== undefined) return;
    setResult({ data: null, ...(result as ExecutionResult) });
  };

  /** Serves through the plugin and hands back its answer (to be looked at before it is sent). */
  async function served(payload: Parameters<typeof serve>[0], request: Request, serverContext: object) {
    let answer: Response | undefined;
    await serve({
      ...payload,
      request,
      serverContext,
      endResponse: (response: Response) => {
        answer = response;
      },
    } as Parameters<typeof serve>[0]);
    return answer;
  }

  return {
    onYogaInit(payload) {
      yoga = payload.yoga;
      sse.onYogaInit!(payload);
      sweeper = setInterval(streams.sweep, Math.max(1_000, options.reserveMs));
      sweeper.unref();
    },
    onDispose() {
      clearInterval(sweeper);
    },
    async onRequest(payload) {
      const { request, url, endResponse } = payload;
      const fetchAPI = payload.fetchAPI as unknown as FetchAPI;
      if (url.pathname !== options.path) return;
      if (!isSingleConnectionRequest(request.method, request.url, (name) => request.headers.get(name)))
        return;
      let serverContext = payload.serverContext as Record<string, unknown>;
      if (options.identify) {
        const identified = await options.identify(request, serverContext);
        if ('refuse' in identified) {
          const { status, headers, body } = identified.refuse;
          return endResponse(new fetchAPI.Response(body, { status, headers }));
        }
        serverContext = { ...serverContext, ...identified.context };
      }
      // The handler opens the stream for a request of any method that asks for an event stream; one
      // opened by PUT or DELETE would stream outside the count kept here (and a DELETE never ends).
      if (
        request.headers.get('accept') === 'text/event-stream' &&
        (request.method === 'PUT' || request.method === 'DELETE')
      ) {
        const refusal = errorResponse(fetchAPI, 405, [
          {
            message:
              'Only GET opens an event stream: reserve with PUT and stop with DELETE without Accept: text/event-stream.',
            extensions: { code: 'BAD_REQUEST' },
          },
        ]);
        refusal.headers.set('allow', 'GET');
        return endResponse(refusal);
      }
      const token = tokenOf(request, url);
      // A client may choose its stream's token (PUT with one), and the answer repeats it.
      if (token !== undefined && token.length > MAX_TOKEN_CHARS)
        return endResponse(
          errorResponse(fetchAPI, 400, [
            {
              message: `The stream token is over ${MAX_TOKEN_CHARS} characters.`,
              extensions: { code: 'BAD_REQUEST' },
            },
          ]),
        );
      const caller = options.callerOf?.(request, serverContext) ?? '';
      try {
        if (request.method === 'PUT') {
          // A token the client chose that names a stream already: the handler answers 409.
          if (token === undefined || streams.state(token) === undefined) {
            const refusal = streams.refusal(caller);
            if (refusal) return endResponse(reservationRefused(fetchAPI, refusal, options));
          }
          const answer = await served(payload, request, serverContext);
          if (answer?.status !== 201) return endResponse(await withCodes(fetchAPI, answer));
          const reserved = await answer.text();
          streams.reserved(reserved, caller);
          return endResponse(new fetchAPI.Response(reserved, { status: 201, headers: answer.headers }));
        }
        const state = token === undefined ? undefined : streams.state(token);
        // Another caller's stream is answered as no stream: its token alone proves nothing.
        if (token === undefined || state === undefined || !streams.ownedBy(token, caller))
          return endResponse(
            errorResponse(fetchAPI, 404, [
              {
                message: 'No stream for this token: reserve one with PUT (an unopened reservation expires).',
                extensions: { code: 'NOT_FOUND' },
              },
            ]),
          );
        const opening = request.method === 'GET' && request.headers.get('accept') === 'text/event-stream';
        if (opening) {
          const answer = await served(payload, request, serverContext);
          if (answer?.status !== 200 || !answer.body) return endResponse(await withCodes(fetchAPI, answer));
          // The client left while the handler answered: nothing will read (or cancel) this body.
          if (request.signal.aborted) {
            void answer.body.cancel();
            streams.closed(token);
            return endResponse(answer);
          }
          streams.opened(token);
          const stream = {
            ended: new AbortController(),
            pacing: createStreamPacing(STREAM_HIGH_WATER, {
              stalledMs: STREAM_STALLED_MS,
              now: options.now ?? Date.now,
            }),
          };
          open.set(token, stream);
          return endResponse(
            watched(fetchAPI, answer, request, stream.pacing, () => {
              streams.closed(token);
              if (open.get(token) === stream) open.delete(token);
              stream.pacing.end();
              stream.ended.abort();
            }),
          );
        }
        if (request.method === 'DELETE')
          return endResponse(await withCodes(fetchAPI, await served(payload, request, serverContext)));
        if (state !== 'open')
          return endResponse(
            errorResponse(fetchAPI, 409, [
              {
                message:
                  'The stream is not open: open it (GET, Accept: text/event-stream) before sending operations.',
                extensions: { code: 'BAD_REQUEST' },
              },
            ]),
          );
        const pacing = open.get(token)?.pacing;
        // Its results would wait behind those the reader has not taken, for as long as it does not
        // (a query's result is queued whatever the pacing: only a subscription's waits).
        if (pacing?.stalled()) return endResponse(backlogged(fetchAPI));
        let operation = request;
        if (request.method === 'POST') {
          let text: string;
          try {
            if (declaresTooLarge(request.headers.get('content-length'), options.maxBodyBytes))
              throw new BodyTooLargeError(options.maxBodyBytes);
            text = await readCappedBody(
              request.body as unknown as AsyncIterable<Uint8Array> | null,
              options.maxBodyBytes,
            );
          } catch (error) {
            if (!(error instanceof BodyTooLargeError)) throw error;
            return endResponse(
              errorResponse(fetchAPI, 413, [
                { message: 'Request body too large', extensions: { code: 'REQUEST_ENTITY_TOO_LARGE' } },
              ]),
            );
          }
          // graphql-sse answers an operation that does not validate with 400 and its errors (the
          // plugin would run it as execution arguments); so does this, with codes.
          const invalid = refuseInvalid(text, request, serverContext);
          if (invalid) return endResponse(errorResponse(fetchAPI, invalid.status, invalid.errors));
          operation = new fetchAPI.Request(request.url, {
            method: 'POST',
            headers: request.headers,
            body: text,
            signal: open.get(token)?.ended.signal ?? request.signal,
          });
        }
        if (pacing) posted.set(operation, pacing);
        return endResponse(await withCodes(fetchAPI, await served(payload, operation, serverContext)));
      } catch (error) {
        options.onUnexpectedError?.(error);
        endResponse(
          errorResponse(fetchAPI, 500, [
            { message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } },
          ]),
        );
      }
    },
    onExecute: () => ({
      onExecuteDone: ({ args, result, setResult }) =>
        handOver((args.contextValue as { request?: unknown }).request, result, setResult),
    }),
    onSubscribe: () => ({
      onSubscribeResult: ({ args, result, setResult }) =>
        handOver((args.contextValue as { request?: unknown }).request, result, setResult),
    }),
  };
}

/** The event stream as sent, calling `ended` once when it ends, fails, or its client goes away. */
function watched(
  fetchAPI: FetchAPI,
  answer: Response,
  request: Request,
  pacing: StreamPacing,
  ended: () => void,
) {
  let done = false;
  const end = () => {
    if (done) return;
    done = true;
    ended();
  };
  request.signal.addEventListener('abort', end, { once: true });
  const reader = answer.body!.getReader();
  const body = new fetchAPI.ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done: finished, value } = await reader.read();
        if (finished) {
          end();
          controller.close();
        } else {
          if (isResultChunk(value)) pacing.delivered();
          controller.enqueue(value);
        }
      } catch (error) {
        end();
        controller.error(error);
      }
    },
    cancel(reason) {
      end();
      return reader.cancel(reason);
    },
  });
  return new fetchAPI.Response(body, { status: answer.status, headers: answer.headers });
}

/** The handler's refusals (4xx) with a code: NOT_FOUND for a stream it does not know, else BAD_REQUEST. */
async function withCodes(fetchAPI: FetchAPI, answer: Response | undefined): Promise<Response> {
  if (!answer)
    return errorResponse(fetchAPI, 500, [
      { message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } },
    ]);
  if (answer.status < 400 || answer.status >= 500) return answer;
  const code = answer.status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST';
  const text = await answer.text();
  let errors: Array<{ message?: unknown; extensions?: Record<string, unknown> }> = [];
  try {
    const parsed = JSON.parse(text) as { errors?: typeof errors };
    if (Array.isArray(parsed?.errors)) errors = parsed.errors;
  } catch {
    // an empty body (406, 405): the status text is the message
  }
  if (errors.length === 0) errors = [{ message: answer.statusText || `HTTP ${answer.status}` }];
  const headers = new Headers(answer.headers);
  headers.set('content-type', 'application/json; charset=utf-8');
  headers.delete('content-length');
  return new fetchAPI.Response(
    JSON.stringify({
      errors: errors.map((e) => ({ ...e, extensions: { code, ...(e.extensions ?? {}) } })),
    }),
    { status: answer.status, headers },
  );
}

function reservationRefused(fetchAPI: FetchAPI, refusal: 'caller' | 'total', options: GraphqlSseOptions) {
  const message =
    refusal === 'caller'
      ? `This client holds ${options.maxStreamsPerCaller} graphql-sse streams, the most it may: close one or retry later.`
      : `The gateway holds ${options.maxStreams} graphql-sse streams, the most it may: retry later.`;
  const response = errorResponse(fetchAPI, 503, [
    { message, extensions: { code: 'CONNECTION_LIMIT_EXCEEDED' } },
  ]);
  response.headers.set('retry-after', String(Math.max(1, Math.ceil(options.reserveMs / 1000))));
  return response;
}

/** A stream whose reader stopped taking the results it holds takes no operations until it reads. */
function backlogged(fetchAPI: FetchAPI) {
  const response = errorResponse(fetchAPI, 429, [
    {
      message: `This stream holds ${STREAM_HIGH_WATER} results its client has stopped reading: read the stream, then retry.`,
      extensions: { code: 'RATE_LIMITED', limit: 'STREAM_BACKLOG', retryAfter: 1 },
    },
  ]);
  response.headers.set('retry-after', '1');
  return response;
}

/** The error as a client sees it over HTTP: its code (or `fallback`), without Yoga's `http` hint. */
function coded(error: GraphQLError, fallback: string) {
  const { http: _hint, ...extensions } = error.extensions;
  return { message: error.message, extensions: { code: fallback, ...extensions } };
}

function errorResponse(fetchAPI: { Response: typeof Response }, status: number, errors: readonly unknown[]) {
  return new fetchAPI.Response(JSON.stringify({ errors }), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });
}
