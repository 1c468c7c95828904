import { useGraphQLSSE } from '@graphql-yoga/plugin-graphql-sse';
import { type ExecutionResult, GraphQLError } from 'graphql';
import { type GraphQLParams, isAsyncIterable, type Plugin } from 'graphql-yoga';

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
//   errors, as graphql-sse's own handler answers it), and results of posted operations get `data: null`.

export const STREAM_TOKEN_HEADER = 'x-graphql-event-stream-token';
const STREAM_TOKEN_PARAM = 'token';

export interface GraphqlSseOptions {
  path: string;
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
  onUnexpectedError?: (error: unknown) => void;
}

/** Whether a request belongs to graphql-sse's single-connection mode (the fast path leaves them too). */
export function isSingleConnectionRequest(method: string, url: string, header: (name: string) => unknown) {
  if (method === 'PUT' || method === 'DELETE') return true;
  if (header(STREAM_TOKEN_HEADER) !== undefined && header(STREAM_TOKEN_HEADER) !== null) return true;
  const query = url.indexOf('?');
  return query >= 0 && new URLSearchParams(url.slice(query + 1)).has(STREAM_TOKEN_PARAM);
}

export function useGraphqlSseSingleConnection(options: GraphqlSseOptions): Plugin {
  const sse = useGraphQLSSE({ endpoint: options.path });
  const serve = sse.onRequest!;
  let yoga: Parameters<NonNullable<Plugin['onYogaInit']>>[0]['yoga'] | undefined;
  /** The operations posted to a stream (their results are written by the plugin). */
  const posted = new WeakSet<Request>();

  /** A coded 400 when the posted operation does not parse or validate, else undefined. */
  async function refuseInvalid(request: Request, serverContext: Record<string, unknown>) {
    let params: GraphQLParams;
    try {
      params = JSON.parse(await request.clone().text()) as GraphQLParams;
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
      return [coded(error, 'GRAPHQL_PARSE_FAILED')];
    }
    return errors.length > 0 ? errors.map((e) => coded(e, 'GRAPHQL_VALIDATION_FAILED')) : undefined;
  }

  /** graphql-sse takes a result without `data` for execution arguments; every result it gets has it. */
  const withData = (request: unknown, result: unknown, setResult: (r: ExecutionResult) => void) => {
    if (!(request instanceof Object) || !posted.has(request as Request)) return;
    if (isAsyncIterable(result) || (result as ExecutionResult).data !== undefined) return;
    setResult({ data: null, ...(result as ExecutionResult) });
  };

  return {
    onYogaInit(payload) {
      yoga = payload.yoga;
      sse.onYogaInit!(payload);
    },
    async onRequest(payload) {
      const { request, url, endResponse, fetchAPI } = payload;
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
      try {
        if (request.method === 'POST') {
          // graphql-sse answers an operation that does not validate with 400 and its errors (the
          // plugin would run it as execution arguments); so does this, with codes.
          const invalid = await refuseInvalid(request, serverContext);
          if (invalid) return endResponse(errorResponse(fetchAPI, 400, invalid));
          posted.add(request);
        }
        await serve({ ...payload, serverContext } as Parameters<typeof serve>[0]);
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
        withData((args.contextValue as { request?: unknown }).request, result, setResult),
    }),
    onSubscribe: () => ({
      onSubscribeResult: ({ args, result, setResult }) =>
        withData((args.contextValue as { request?: unknown }).request, result, setResult),
    }),
  };
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
