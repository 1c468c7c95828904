import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Freshness } from '../freshness.js';
import { REQUEST_ID_HEADER, resolveRequestId } from '../request-id.js';
import { hashKey, type ResponseCache, type StoredAnswer } from '../response-cache.js';

// The node:http listener in front of Yoga. For GET and POST on the GraphQL path it computes the
// response-cache key from the raw request (query string, or body bytes) before anything is parsed, and
// answers a hit by writing the stored bytes; a miss runs through Yoga (yoga.fetch with the body it
// already read) and is stored when its freshness allows. Everything else — SSE, multipart, GraphiQL,
// other paths, bodies without a small Content-Length — goes to Yoga's own listener untouched, and
// graphql-ws never reaches a request listener at all (it is an upgrade).
//
// What must run on every request, hit or miss, is a gate (`RequestGate`), run before the lookup.
// Document-level limits (depth, cost, token counts) need no gate: they depend only on the bytes in the
// key, and an answer that failed them carried errors and was never stored. Caller-level checks (auth,
// rate limits) are gates; the scope a gate establishes is part of the key and makes the answer private.
//
// HTTP caching: GET answers that were stored carry `Cache-Control: public, max-age=<seconds of
// freshness left>` (private with a scope), an ETag, and get 304 for a matching If-None-Match; GET
// answers that were not stored carry `no-store`. POST answers always carry `no-store`: HTTP caches do
// not key on the body, so any copy of a POST answer they kept would answer other operations.

export type GateVerdict =
  | {
      /** What the answer depends on about the caller ('' or absent: nothing). */
      scope?: string;
    }
  | { reject: { status: number; headers?: Record<string, string>; body: string } };

export interface RequestGate {
  name: string;
  check(req: IncomingMessage): GateVerdict | Promise<GateVerdict>;
}

export interface FastPathDeps {
  path: string;
  cache: ResponseCache;
  /** Executes a request Yoga's way (yoga.fetch); the server context reaches the GraphQL context. */
  execute(
    url: string,
    init: { method: string; headers: Array<[string, string]>; body?: Buffer },
    serverContext: FastPathServerContext,
  ): Promise<Response> | Response;
  /** Yoga's node listener, for everything the fast path does not take. */
  passThrough: RequestListener;
  /** Runs for every request the fast path takes, in order, before the lookup (none yet: see docs/architecture.md). */
  gates?: readonly RequestGate[];
  onError?: (error: unknown) => void;
}

/** What a miss hands to the execution: the record the response cache decides on, and the gates' scope. */
// A type, not an interface: Yoga's server context is a Record, which an interface does not satisfy.
export type FastPathServerContext = {
  req: IncomingMessage;
  res: ServerResponse;
  freshness: Freshness;
  scope: string;
};

/** Bodies the fast path buffers: cacheable operations are small; bigger ones go to Yoga as a stream. */
export const MAX_BUFFERED_BODY = 64 * 1024;

const QUESTION_MARK = 63;
/** A cached GET answer is negotiated on Accept and its CORS headers follow Origin. */
const GET_VARY = 'Accept, Origin';
const UNEXPECTED = Buffer.from('{"errors":[{"message":"Unexpected error."}]}');

export function createFastPath(deps: FastPathDeps): RequestListener {
  const { path, cache, gates = [] } = deps;

  function takes(req: IncomingMessage): 'GET' | 'POST' | undefined {
    const url = req.url;
    if (url === undefined || !url.startsWith(path)) return undefined;
    if (url.length > path.length && url.charCodeAt(path.length) !== QUESTION_MARK) return undefined;
    const accept = req.headers.accept;
    if (
      accept !== undefined &&
      (accept.includes('text/event-stream') ||
        accept.includes('multipart/mixed') ||
        accept.includes('text/html'))
    )
      return undefined;
    if (req.method === 'GET') return url.length > path.length + 1 ? 'GET' : undefined;
    if (req.method !== 'POST' || req.headers['transfer-encoding'] !== undefined) return undefined;
    const length = Number(req.headers['content-length']);
    return length > 0 && length <= MAX_BUFFERED_BODY ? 'POST' : undefined;
  }

  function serve(req: IncomingMessage, res: ServerResponse, method: 'GET' | 'POST', body?: Buffer) {
    const verdict = runGates(req);
    if (verdict instanceof Promise) {
      verdict.then(
        (v) => afterGates(req, res, method, body, v),
        (error) => fail(res, error),
      );
    } else afterGates(req, res, method, body, verdict);
  }

  function runGates(req: IncomingMessage): GateVerdict | Promise<GateVerdict> {
    let scope = '';
    for (let i = 0; i < gates.length; i++) {
      const verdict = gates[i]!.check(req);
      if (verdict instanceof Promise) return resumeGates(req, i, verdict, scope);
      if ('reject' in verdict) return verdict;
      if (verdict.scope) scope += `${gates[i]!.name}=${verdict.scope};`;
    }
    return { scope };
  }

  async function resumeGates(
    req: IncomingMessage,
    at: number,
    pending: Promise<GateVerdict>,
    scopeSoFar: string,
  ): Promise<GateVerdict> {
    let scope = scopeSoFar;
    for (let i = at; i < gates.length; i++) {
      const verdict = i === at ? await pending : await gates[i]!.check(req);
      if ('reject' in verdict) return verdict;
      if (verdict.scope) scope += `${gates[i]!.name}=${verdict.scope};`;
    }
    return { scope };
  }

  function afterGates(
    req: IncomingMessage,
    res: ServerResponse,
    method: 'GET' | 'POST',
    body: Buffer | undefined,
    verdict: GateVerdict,
  ) {
    if ('reject' in verdict) {
      const { status, headers, body: text } = verdict.reject;
      res.writeHead(status, { 'cache-control': 'no-store', ...headers });
      res.end(text);
      return;
    }
    const scope = verdict.scope ?? '';
    const url = req.url!;
    const key = hashKey({
      method,
      operation: body ?? url.slice(path.length + 1),
      contentType: method === 'POST' ? (req.headers['content-type'] ?? '') : '',
      accept: req.headers.accept ?? '',
      origin: req.headers.origin ?? '',
      scope,
    });
    const hit = cache.lookup(key);
    if (hit) writeStored(req, res, method, hit, 'hit');
    else void executeAndStore(req, res, method, body, key, scope);
  }

  async function executeAndStore(
    req: IncomingMessage,
    res: ServerResponse,
    method: 'GET' | 'POST',
    body: Buffer | undefined,
    key: string,
    scope: string,
  ) {
    const freshness = cache.begin();
    let status: number;
    let headers: Array<[string, string]>;
    let bytes: Buffer;
    try {
      const response = await deps.execute(
        `http://localhost${req.url}`,
        {
          method,
          headers: headerPairs(req.rawHeaders, req.headers[REQUEST_ID_HEADER] as string),
          ...(body ? { body } : {}),
        },
        { req, res, freshness, scope },
      );
      status = response.status;
      headers = [...response.headers];
      bytes = Buffer.from(await response.arrayBuffer());
    } catch (error) {
      cache.abandon(freshness);
      fail(res, error);
      return;
    }
    const outcome = cache.store(key, freshness, { status, headers, body: bytes, private: scope !== '' });
    if ('stored' in outcome) {
      writeStored(req, res, method, outcome.stored, 'miss');
      return;
    }
    const flat: string[] = [];
    for (const [name, value] of headers) if (name !== 'content-length') flat.push(name, value);
    flat.push(
      'content-length',
      String(bytes.length),
      'cache-control',
      'no-store',
      'x-response-cache',
      `skip (${outcome.skipped})`,
    );
    res.writeHead(status, flat);
    res.end(bytes);
  }

  function writeStored(
    req: IncomingMessage,
    res: ServerResponse,
    method: 'GET' | 'POST',
    answer: StoredAnswer,
    outcome: 'hit' | 'miss',
  ) {
    if (method === 'POST') {
      res.writeHead(answer.status, [
        ...answer.headers,
        'cache-control',
        'no-store',
        'x-response-cache',
        outcome,
      ]);
      res.end(answer.body);
      return;
    }
    const seconds = Math.max(0, Math.floor((answer.expiresAt - cache.now()) / 1000));
    const cacheControl = `${answer.private ? 'private' : 'public'}, max-age=${seconds}`;
    if (matchesEtag(req.headers['if-none-match'], answer.etag)) {
      res.writeHead(304, [
        'etag',
        answer.etag,
        'cache-control',
        cacheControl,
        'vary',
        GET_VARY,
        'x-response-cache',
        outcome,
      ]);
      res.end();
      return;
    }
    const headers: string[] = [];
    for (let i = 0; i < answer.headers.length; i += 2) {
      if (answer.headers[i] !== 'vary') headers.push(answer.headers[i]!, answer.headers[i + 1]!);
    }
    headers.push(
      'etag',
      answer.etag,
      'cache-control',
      cacheControl,
      'vary',
      GET_VARY,
      'x-response-cache',
      outcome,
    );
    res.writeHead(answer.status, headers);
    res.end(answer.body);
  }

  function fail(res: ServerResponse, error: unknown) {
    deps.onError?.(error);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(500, ['content-type', 'application/json; charset=utf-8', 'cache-control', 'no-store']);
    res.end(UNEXPECTED);
  }

  return function fastPath(req, res) {
    const method = takes(req);
    if (method === undefined) {
      deps.passThrough(req, res);
      return;
    }
    // Every answer written here carries the request's id (writeHead merges it in); a miss hands the
    // same id to Yoga, so its log line names it too.
    const requestId = resolveRequestId(req.headers[REQUEST_ID_HEADER] as string | undefined);
    req.headers[REQUEST_ID_HEADER] = requestId;
    res.setHeader(REQUEST_ID_HEADER, requestId);
    if (method === 'GET') {
      serve(req, res, method);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => serve(req, res, method, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.once('error', () => res.destroy());
  };
}

function headerPairs(raw: string[], requestId: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== REQUEST_ID_HEADER) pairs.push([raw[i]!, raw[i + 1]!]);
  }
  pairs.push([REQUEST_ID_HEADER, requestId]);
  return pairs;
}

/** If-None-Match against a strong validator, with the weak comparison GET allows. */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  for (const part of header.split(',')) {
    const tag = part.trim();
    if ((tag.startsWith('W/') ? tag.slice(2) : tag) === etag) return true;
  }
  return false;
}
