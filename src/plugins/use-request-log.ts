import type { IncomingMessage } from 'node:http';
import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  GraphQLError,
  getOperationAST,
} from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { Metrics, OperationStatus, OperationType, SubscriptionTransport } from '../metrics.js';
import { REQUEST_ID_HEADER, resolveRequestId } from '../request-id.js';

// Request ids, one log line per GraphQL operation, and the per-operation metrics.
//
// Every response Yoga sends (GraphQL, /health, /ready, /metrics, GraphiQL, errors, SSE streams) carries
// `x-request-id`: the client's when valid (src/request-id.ts), else a new one. graphql-ws operations
// take the id of the upgrade request, or a new one each.
//
// One info line per operation, written when its answer is ready; a subscription's when its stream
// ends (durationMs is then its lifetime, setupMs the time until it started). Requests that are no
// GraphQL operation (/health, GraphiQL) get no line. Fields: requestId, operation, type, transport,
// httpStatus (HTTP only), status (ok | partial | error), durationMs, errorCodes, and when the context
// carries them: upstreamCalls (see `upstreamCallsOf`) and client (see `clientOf`).
// The histogram is observed when the answer is ready (a subscription: when its stream starts); error
// codes count the errors sent then. Errors inside a running subscription's events are not counted:
// seeing them would put an iterator layer on every event of every subscriber.
//
// A subscription's stream start and end come from `streamStarted`, which the shared-results plugin
// calls (useSharedSubscriptionResults): it owns every subscriber's stream and sees its end without a
// per-event layer.

export interface RequestLogOptions {
  logger: Logger;
  metrics: Metrics;
  /** Monotonic ms. */
  now?: () => number;
  createId?: () => string;
}

export interface RequestLog {
  plugin: Plugin;
  /** A subscription's stream opened; returns what to call once when it ends. */
  streamStarted(args: ExecutionArgs): () => void;
}

type Transport = 'http' | 'graphql-ws';

interface Operation {
  requestId: string;
  startedAt: number;
  transport: Transport;
  name: string | undefined;
  type: OperationType;
  /** Any GraphQL result was produced for it (a /health request has none). */
  graphql: boolean;
  errorCodes: string[];
  /** The answer carried data (null data with errors is a failure, not a partial answer). */
  hasData: boolean;
  httpStatus?: number;
  context?: object;
  stream?: { transport: SubscriptionTransport; openedAt: number; endedAt?: number };
  responded: boolean;
  recorded: boolean;
  logged: boolean;
}

/** A GraphQL name: what `operationName` is kept as until the document names the operation itself. */
const OPERATION_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,99}$/;
const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

export function createRequestLog(options: RequestLogOptions): RequestLog {
  const { logger, metrics } = options;
  const now = options.now ?? (() => performance.now());
  const createId = options.createId;
  const byRequest = new WeakMap<Request, Operation>();
  /** graphql-ws operations, by the context graphql-ws built for each. */
  const byContext = new WeakMap<object, Operation>();

  const start = (requestId: string, transport: Transport): Operation => ({
    requestId,
    startedAt: now(),
    transport,
    name: undefined,
    type: 'unknown',
    graphql: false,
    errorCodes: [],
    hasData: false,
    responded: false,
    recorded: false,
    logged: false,
  });

  const ofRequest = (request: Request): Operation => {
    let operation = byRequest.get(request);
    if (!operation) {
      operation = start(resolveRequestId(request.headers.get(REQUEST_ID_HEADER), createId), 'http');
      byRequest.set(request, operation);
    }
    return operation;
  };

  /** The operation an Envelop context belongs to; a graphql-ws one is created on first sight. */
  const ofContext = (context: object): Operation | undefined => {
    const request = (context as { request?: Request }).request;
    if (request && typeof request.headers?.get === 'function') return byRequest.get(request);
    let operation = byContext.get(context);
    if (!operation) {
      const upgrade = (context as { req?: IncomingMessage }).req;
      const given = upgrade?.headers?.[REQUEST_ID_HEADER];
      operation = start(
        resolveRequestId(typeof given === 'string' ? given : undefined, createId),
        'graphql-ws',
      );
      byContext.set(context, operation);
    }
    return operation;
  };

  const identify = (operation: Operation, document: DocumentNode, operationName: unknown) => {
    const ast = getOperationAST(document, typeof operationName === 'string' ? operationName : undefined);
    if (!ast) return;
    operation.type = ast.operation;
    operation.name = ast.name?.value;
  };

  const collect = (operation: Operation, result: ExecutionResult) => {
    operation.graphql = true;
    if (result.data !== undefined && result.data !== null) operation.hasData = true;
    for (const error of result.errors ?? []) operation.errorCodes.push(codeOf(error));
  };

  const statusOf = (operation: Operation): OperationStatus => {
    if (operation.errorCodes.length === 0) return 'ok';
    return operation.hasData ? 'partial' : 'error';
  };

  /** The histogram and error counters, once, when the answer (or the stream) is ready. */
  const record = (operation: Operation) => {
    if (operation.recorded) return;
    operation.recorded = true;
    const readyAt = operation.stream?.openedAt ?? now();
    metrics.recordOperation({
      name: operation.name,
      type: operation.type,
      status: statusOf(operation),
      seconds: (readyAt - operation.startedAt) / 1000,
      errorCodes: operation.errorCodes,
    });
  };

  const write = (operation: Operation) => {
    if (operation.logged) return;
    operation.logged = true;
    record(operation);
    const endedAt = operation.stream?.endedAt ?? now();
    const upstreamCalls = operation.context && upstreamCallsOf(operation.context);
    const client = operation.context && clientOf(operation.context);
    logger.info(
      {
        requestId: operation.requestId,
        operation: operation.name ?? null,
        type: operation.type,
        transport: operation.stream?.transport ?? operation.transport,
        ...(operation.httpStatus !== undefined ? { httpStatus: operation.httpStatus } : {}),
        status: statusOf(operation),
        durationMs: round(endedAt - operation.startedAt),
        ...(operation.stream ? { setupMs: round(operation.stream.openedAt - operation.startedAt) } : {}),
        ...(operation.errorCodes.length > 0 ? { errorCodes: [...new Set(operation.errorCodes)] } : {}),
        ...(upstreamCalls !== undefined ? { upstreamCalls } : {}),
        ...(client !== undefined ? { client } : {}),
      },
      'graphql operation',
    );
  };

  /** A graphql-ws operation ended before any stream (refused, or a query). */
  const settleWs = (operation: Operation | undefined) => {
    if (operation?.transport === 'graphql-ws' && !operation.stream) write(operation);
  };

  const plugin: Plugin = {
    onRequest({ request }) {
      ofRequest(request);
    },
    onParams({ request, params }) {
      const operation = ofRequest(request);
      if (typeof params.operationName === 'string' && OPERATION_NAME.test(params.operationName)) {
        operation.name = params.operationName;
      }
    },
    onParse({ context }) {
      const operation = ofContext(context);
      return ({ result }) => {
        if (!(result instanceof Error) || operation?.transport !== 'graphql-ws') return;
        operation.graphql = true;
        operation.errorCodes.push(codeOf(result, 'GRAPHQL_PARSE_FAILED'));
        settleWs(operation);
      };
    },
    onValidate({ context, params }) {
      const operation = ofContext(context);
      if (operation)
        identify(
          operation,
          params.documentAST,
          (context as { params?: { operationName?: unknown } }).params?.operationName,
        );
      return ({ valid, result }) => {
        if (valid || operation?.transport !== 'graphql-ws') return;
        operation.graphql = true;
        for (const error of result) operation.errorCodes.push(codeOf(error, 'GRAPHQL_VALIDATION_FAILED'));
        settleWs(operation);
      };
    },
    onExecute({ args }) {
      const operation = ofContext(args.contextValue);
      if (!operation) return;
      operation.context = args.contextValue;
      identify(operation, args.document, args.operationName);
      if (operation.transport !== 'graphql-ws') return;
      return {
        onExecuteDone({ result }) {
          if (!isAsyncIterable(result)) collect(operation, result);
          settleWs(operation);
        },
      };
    },
    onSubscribe({ args }) {
      const operation = ofContext(args.contextValue);
      if (!operation) return;
      operation.context = args.contextValue;
      identify(operation, args.document, args.operationName);
      if (operation.transport !== 'graphql-ws') return;
      return {
        onSubscribeResult({ result }) {
          if (isAsyncIterable(result)) {
            operation.graphql = true;
            record(operation);
            return;
          }
          collect(operation, result);
          settleWs(operation);
        },
      };
    },
    onResultProcess({ request, result }) {
      const operation = ofRequest(request);
      operation.graphql = true;
      if (isAsyncIterable(result)) return;
      for (const one of Array.isArray(result) ? result : [result]) collect(operation, one);
    },
    onResponse({ request, response, setResponse, fetchAPI }) {
      const operation = ofRequest(request);
      try {
        response.headers.set(REQUEST_ID_HEADER, operation.requestId);
      } catch {
        // Immutable headers (a Response from fetch()): answer a copy that can carry the id.
        const headers = new fetchAPI.Headers(response.headers);
        headers.set(REQUEST_ID_HEADER, operation.requestId);
        setResponse(
          new fetchAPI.Response(response.body, {
            status: response.status,
            statusText: response.statusText,
            headers,
          }),
        );
      }
      operation.responded = true;
      operation.httpStatus = response.status;
      if (!operation.graphql) return;
      if (operation.stream && operation.stream.endedAt === undefined) {
        record(operation);
        return;
      }
      write(operation);
    },
  };

  return {
    plugin,
    streamStarted(args) {
      const operation = ofContext(args.contextValue as object);
      const transport = transportOf(args.contextValue as object);
      metrics.addActiveSubscriptions(transport, 1);
      if (operation) operation.stream = { transport, openedAt: now() };
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        metrics.addActiveSubscriptions(transport, -1);
        if (!operation?.stream) return;
        operation.stream.endedAt = now();
        // Over HTTP the line waits for the response (status) if the stream ended before it.
        if (operation.transport === 'graphql-ws' || operation.responded) write(operation);
      };
    },
  };
}

function transportOf(context: object): SubscriptionTransport {
  const request = (context as { request?: Request }).request;
  if (!request || typeof request.headers?.get !== 'function') return 'graphql-ws';
  return request.headers.get('accept')?.includes('multipart/mixed') ? 'multipart' : 'sse';
}

/** The error's code, bounded to the catalogue's shape; an error without one is unexpected or uncoded. */
function codeOf(error: unknown, fallback?: string): string {
  if (error instanceof GraphQLError) {
    const code = error.extensions?.code;
    if (typeof code === 'string') return CODE.test(code) ? code : 'OTHER';
    if (fallback) return fallback;
    // Not yet masked (graphql-ws masks after this plugin has seen it): a thrown non-GraphQL error.
    if (error.originalError && !(error.originalError instanceof GraphQLError)) return 'INTERNAL_SERVER_ERROR';
    return 'UNCODED';
  }
  return fallback ?? 'INTERNAL_SERVER_ERROR';
}

/**
 * OPTIONAL FIELD: upstream calls this operation made, read from the per-request upstream budget when
 * the context carries one (`context.upstream.calls()`, per provider); absent otherwise.
 */
function upstreamCallsOf(context: object): Record<string, number> | undefined {
  const upstream = (context as { upstream?: { calls?: () => Record<string, number | undefined> } }).upstream;
  if (typeof upstream?.calls !== 'function') return undefined;
  const calls: Record<string, number> = {};
  for (const [provider, count] of Object.entries(upstream.calls())) if (count) calls[provider] = count;
  return calls;
}

/**
 * OPTIONAL FIELD: the authenticated client, read from `context.client` (a string, or an object with a
 * string `id`) once authentication puts one there; absent otherwise.
 */
function clientOf(context: object): string | undefined {
  const client = (context as { client?: unknown }).client;
  if (typeof client === 'string') return client;
  const id = (client as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
