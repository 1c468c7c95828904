import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { ClientBudgetLeft } from '../context.js';
import { costReport, type QuotaView } from '../cost/report.js';
import type { Freshness } from '../freshness.js';
import type { CostSplice } from '../plugins/use-cost-report.js';
import { REQUEST_ID_HEADER, resolveRequestId } from '../request-id.js';
import { hashKey, type ResponseCache, type StoredAnswer } from '../response-cache.js';
import {
  acceptsGzip,
  COMPRESS_MIN_BYTES,
  type Coding,
  codedEtag,
  encode,
  isCompressible,
  matchesEtag,
  negotiateCoding,
} from './content-coding.js';
import { type DeflatedPrefix, gzipSplicedParts } from './gzip-splice.js';
import { STREAM_TOKEN_HEADER } from './use-graphql-sse.js';

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
// rate limits) are gates; the scope a gate establishes is part of the key and makes the answer private,
// unless the gate says the answer for that scope is one everybody without a credential gets (`shared`).
//
// HTTP caching: GET answers that were stored carry `Cache-Control: public, max-age=<seconds of
// freshness left>` (private with a scope), an ETag, and get 304 for a matching If-None-Match; GET
// answers that were not stored carry `no-store`. POST answers always carry `no-store`: HTTP caches do
// not key on the body, so any copy of a POST answer they kept would answer other operations.
//
// Compression (with `compress`): an answer of 1 KiB or more goes out in the coding Accept-Encoding
// prefers (brotli, gzip). A stored answer is compressed once per coding and the bytes are kept with it
// (ResponseCache.encoded), so a compressed hit costs what a plain one does; an answer that was not
// stored is compressed as it goes out. GET answers that could be compressed carry Vary: Accept-Encoding.

export type GateVerdict =
  | {
      /** What the answer depends on about the caller ('' or absent: nothing). */
      scope?: string;
      /** The answer for this scope is the one every caller who sends no credential gets: public. */
      shared?: boolean;
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
  /** Compress answers of COMPRESS_MIN_BYTES or more for clients that accept it (default false). */
  compress?: boolean;
  /** Quota left per provider, for the extensions.cost of a hit. */
  quota?: QuotaView;
  /** The caller's per-client budget, for the extensions.cost of a hit (src/auth/, at merge). */
  budgetFor?: (req: IncomingMessage) => ClientBudgetLeft | undefined;
  onError?: (error: unknown) => void;
}

/** What a miss hands to the execution: the record the response cache decides on, and the gates' scope. */
// A type, not an interface: Yoga's server context is a Record, which an interface does not satisfy.
export type FastPathServerContext = {
  req: IncomingMessage;
  res: ServerResponse;
  freshness: Freshness;
  scope: string;
  /** Where the execution leaves the extensions.cost it serialized (plugins/use-cost-report.ts). */
  costSplice: CostSplice;
};

/** Bodies the fast path buffers: cacheable operations are small; bigger ones go to Yoga as a stream. */
export const MAX_BUFFERED_BODY = 64 * 1024;

const QUESTION_MARK = 63;
/** A cached GET answer is negotiated on Accept and its CORS headers follow Origin. */
const GET_VARY = 'Accept, Origin';
/** ... and, when it could be compressed, on Accept-Encoding. */
const GET_VARY_CODED = 'Accept, Origin, Accept-Encoding';
const noQuota: QuotaView = () => ({});
const UNEXPECTED = Buffer.from('{"errors":[{"message":"Unexpected error."}]}');

export function createFastPath(deps: FastPathDeps): RequestListener {
  const { path, cache, gates = [], compress = false } = deps;

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
    // graphql-sse's single-connection mode: an operation for a stream, answered 202 (use-graphql-sse.ts).
    if (req.headers[STREAM_TOKEN_HEADER] !== undefined) return undefined;
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
    let shared = true;
    for (let i = 0; i < gates.length; i++) {
      const verdict = gates[i]!.check(req);
      if (verdict instanceof Promise) return resumeGates(req, i, verdict, scope, shared);
      if ('reject' in verdict) return verdict;
      if (verdict.scope) {
        scope += `${gates[i]!.name}=${verdict.scope};`;
        shared &&= verdict.shared === true;
      }
    }
    return { scope, shared };
  }

  async function resumeGates(
    req: IncomingMessage,
    at: number,
    pending: Promise<GateVerdict>,
    scopeSoFar: string,
    sharedSoFar: boolean,
  ): Promise<GateVerdict> {
    let scope = scopeSoFar;
    let shared = sharedSoFar;
    for (let i = at; i < gates.length; i++) {
      const verdict = i === at ? await pending : await gates[i]!.check(req);
      if ('reject' in verdict) return verdict;
      if (verdict.scope) {
        scope += `${gates[i]!.name}=${verdict.scope};`;
        shared &&= verdict.shared === true;
      }
    }
    return { scope, shared };
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
    const personal = scope !== '' && verdict.shared !== true;
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
    if (hit) writeStored(req, res, method, key, hit, 'hit');
    else void executeAndStore(req, res, method, body, key, scope, personal);
  }

  async function executeAndStore(
    req: IncomingMessage,
    res: ServerResponse,
    method: 'GET' | 'POST',
    body: Buffer | undefined,
    key: string,
    scope: string,
    personal: boolean,
  ) {
    const freshness = cache.begin();
    // A batch (a JSON array of operations) is never stored: its hit would be charged as one request
    // where each operation is one, and its answers carry one extensions.cost each, which a stored
    // answer's single splice point cannot renew.
    if (body && isBatch(body)) freshness.refuse('batch');
    const costSplice: CostSplice = {};
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
        { req, res, freshness, scope, costSplice },
      );
      status = response.status;
      headers = [...response.headers];
      bytes = Buffer.from(await response.arrayBuffer());
    } catch (error) {
      cache.abandon(freshness);
      fail(res, error);
      return;
    }
    const outcome = cache.store(key, freshness, {
      status,
      headers,
      body: bytes,
      private: personal,
      costJson: costSplice.json,
    });
    if ('stored' in outcome) {
      writeStored(req, res, method, key, outcome.stored, 'miss');
      return;
    }
    const flat: string[] = [];
    let contentType: string | undefined;
    for (const [name, value] of headers) {
      const lower = name.toLowerCase();
      if (lower === 'content-length') continue;
      if (lower === 'content-type') contentType = value;
      flat.push(name, value);
    }
    flat.push('cache-control', 'no-store', 'x-response-cache', `skip (${outcome.skipped})`);
    const coding = codingFor(req, bytes, contentType);
    if (!coding) {
      flat.push('content-length', String(bytes.length));
      res.writeHead(status, flat);
      res.end(bytes);
      return;
    }
    encode(bytes, coding).then(
      (coded) => {
        flat.push('content-encoding', coding, 'content-length', String(coded.length));
        res.writeHead(status, flat);
        res.end(coded);
      },
      (error) => fail(res, error),
    );
  }

  /** The coding this answer goes out in, if any. */
  function codingFor(
    req: IncomingMessage,
    body: Buffer,
    contentType: string | undefined,
  ): Coding | undefined {
    if (!compress || body.length < COMPRESS_MIN_BYTES || !isCompressible(contentType)) return undefined;
    return negotiateCoding(req.headers['accept-encoding']);
  }

  function writeStored(
    req: IncomingMessage,
    res: ServerResponse,
    method: 'GET' | 'POST',
    key: string,
    answer: StoredAnswer,
    outcome: 'hit' | 'miss',
  ) {
    if (answer.costAt !== undefined) {
      writeSpliced(req, res, method, key, answer, outcome);
      return;
    }
    const codable =
      compress && answer.body.length >= COMPRESS_MIN_BYTES && isCompressible(answer.contentType);
    if (method === 'GET') {
      const seconds = Math.max(0, Math.floor((answer.expiresAt - cache.now()) / 1000));
      const cacheControl = `${answer.private ? 'private' : 'public'}, max-age=${seconds}`;
      const vary = codable ? GET_VARY_CODED : GET_VARY;
      const coding = codable ? negotiateCoding(req.headers['accept-encoding']) : undefined;
      if (matchesEtag(req.headers['if-none-match'], answer.etag)) {
        // The validator of the representation a 200 would carry.
        res.writeHead(304, [
          'etag',
          codedEtag(answer.etag, coding),
          'cache-control',
          cacheControl,
          'vary',
          vary,
          'x-response-cache',
          outcome,
        ]);
        res.end();
        return;
      }
      const send = (body: Buffer, sent: Coding | undefined) => {
        const headers: string[] = [];
        for (let i = 0; i < answer.headers.length; i += 2) {
          const name = answer.headers[i]!;
          if (name !== 'vary' && name !== 'content-length') headers.push(name, answer.headers[i + 1]!);
        }
        if (sent) headers.push('content-encoding', sent);
        headers.push(
          'content-length',
          String(body.length),
          'etag',
          codedEtag(answer.etag, sent),
          'cache-control',
          cacheControl,
          'vary',
          vary,
          'x-response-cache',
          outcome,
        );
        res.writeHead(answer.status, headers);
        res.end(body);
      };
      sendCoded(res, key, answer, coding, send);
      return;
    }
    const coding = codable ? negotiateCoding(req.headers['accept-encoding']) : undefined;
    if (!coding) {
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
    sendCoded(res, key, answer, coding, (body, sent) => {
      const headers: string[] = [];
      for (let i = 0; i < answer.headers.length; i += 2) {
        const name = answer.headers[i]!;
        if (name !== 'content-length') headers.push(name, answer.headers[i + 1]!);
      }
      if (sent) headers.push('content-encoding', sent);
      headers.push(
        'content-length',
        String(body.length),
        'cache-control',
        'no-store',
        'x-response-cache',
        outcome,
      );
      res.writeHead(answer.status, headers);
      res.end(body);
    });
  }

  /**
   * A stored answer whose extensions.cost is per response: the stored bytes up to it, then this
   * response's cost (a hit's: no upstream calls, quota as it is now; a miss's: its own). Compressed
   * answers are gzip, the stored part compressed once (src/transport/gzip-splice.ts); the validator
   * is weak, since the bytes after it differ.
   */
  function writeSpliced(
    req: IncomingMessage,
    res: ServerResponse,
    method: 'GET' | 'POST',
    key: string,
    answer: StoredAnswer,
    outcome: 'hit' | 'miss',
  ) {
    const at = answer.costAt!;
    const codable =
      compress && answer.body.length >= COMPRESS_MIN_BYTES && isCompressible(answer.contentType);
    const coding: Coding | undefined =
      codable && acceptsGzip(req.headers['accept-encoding']) ? 'gzip' : undefined;
    const trailing: string[] = [];
    if (method === 'GET') {
      const seconds = Math.max(0, Math.floor((answer.expiresAt - cache.now()) / 1000));
      const cacheControl = `${answer.private ? 'private' : 'public'}, max-age=${seconds}`;
      const etag = `W/${codedEtag(answer.etag, coding)}`;
      const vary = codable ? GET_VARY_CODED : GET_VARY;
      if (matchesEtag(req.headers['if-none-match'], answer.etag)) {
        res.writeHead(304, [
          'etag',
          etag,
          'cache-control',
          cacheControl,
          'vary',
          vary,
          'x-response-cache',
          outcome,
        ]);
        res.end();
        return;
      }
      trailing.push('etag', etag, 'cache-control', cacheControl, 'vary', vary);
    } else trailing.push('cache-control', 'no-store');
    trailing.push('x-response-cache', outcome);
    const suffix =
      outcome === 'miss'
        ? answer.body.subarray(at)
        : Buffer.from(
            `${JSON.stringify(
              costReport({
                estimate: answer.estimate ?? undefined,
                calls: {},
                cacheHits: answer.reads.length,
                budget: deps.budgetFor?.(req),
                quota: deps.quota ?? noQuota,
              }),
            )}}}`,
          );
    const headers: string[] = [];
    for (let i = 0; i < answer.headers.length; i += 2) {
      const name = answer.headers[i]!;
      if (name !== 'content-length' && (method !== 'GET' || name !== 'vary'))
        headers.push(name, answer.headers[i + 1]!);
    }
    if (!coding) {
      headers.push('content-length', String(at + suffix.length), ...trailing);
      res.writeHead(answer.status, headers);
      res.cork();
      res.write(answer.body.subarray(0, at));
      res.end(suffix);
      return;
    }
    const send = (prefix: DeflatedPrefix) => {
      const parts = gzipSplicedParts(prefix, suffix);
      let length = 0;
      for (const part of parts) length += part.length;
      headers.push('content-encoding', 'gzip', 'content-length', String(length), ...trailing);
      res.writeHead(answer.status, headers);
      res.cork();
      for (let i = 0; i < parts.length - 1; i++) res.write(parts[i]);
      res.end(parts[parts.length - 1]);
    };
    const prefix = cache.deflatedPrefix(key, answer);
    if (prefix instanceof Promise) prefix.then(send, (error) => fail(res, error));
    else send(prefix);
  }

  /** Sends the stored body in `coding` (compressing it first if no hit has asked for it yet). */
  function sendCoded(
    res: ServerResponse,
    key: string,
    answer: StoredAnswer,
    coding: Coding | undefined,
    send: (body: Buffer, sent: Coding | undefined) => void,
  ) {
    if (!coding) {
      send(answer.body, undefined);
      return;
    }
    const coded = cache.encoded(key, answer, coding);
    if (!(coded instanceof Promise)) {
      send(coded, coding);
      return;
    }
    coded.then(
      (bytes) => send(bytes, coding),
      (error) => fail(res, error),
    );
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

/** Whether a POST body is a JSON array (GraphQL over HTTP batching): its first non-blank byte is '['. */
function isBatch(body: Buffer): boolean {
  for (const byte of body) {
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return byte === 0x5b;
  }
  return false;
}
