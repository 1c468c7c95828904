import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Cache } from './cache.js';
import { createFreshness, type Freshness, observeWrites } from './freshness.js';
import type { Metrics } from './metrics.js';
import { REQUEST_ID_HEADER } from './request-id.js';
import { type Coding, encode } from './transport/content-coding.js';
import { type DeflatedPrefix, deflatePrefix } from './transport/gzip-splice.js';

// Whole answers, bounded by the freshness of the values they contain. An answer is stored only when
// its execution read every value through the observed cache (src/freshness.ts), none of them stale or
// an error, and produced no errors; it lives until the first of those values stops being fresh, and is
// dropped sooner when one of them is rewritten in this process (a prime, or a refetch after eviction),
// so a hit says exactly what a fresh execution would at the same instant. Across processes (Redis)
// the guarantee is the weaker one: every value in a hit is still within its freshness window.
// The HTTP side (which requests, the key's raw parts, Cache-Control, ETag, 304) is src/transport/fast-path.ts.

/** Everything that changes an answer, as the transport sees it before parsing anything. */
export interface ResponseKey {
  method: 'GET' | 'POST';
  /**
   * GET: the raw query string; POST: the raw body. The same bytes are the same document, operation
   * name and variables; different bytes for the same operation (whitespace, key order) simply miss.
   */
  operation: string | Buffer;
  /** POST only: how the body is to be read (application/json, application/graphql, ...). */
  contentType: string;
  /** Picks the response media type (application/json or application/graphql-response+json). */
  accept: string;
  /** Picks the CORS headers. */
  origin: string;
  /**
   * Whose answer this is: what the request gates established about the caller (identity, scopes),
   * '' when the answer is the same for everyone. Non-empty scopes make the answer private.
   */
  scope: string;
}

/** The key hashed once: the string the store is indexed by. */
export function hashKey(key: ResponseKey): string {
  const operation = typeof key.operation === 'string' ? key.operation : key.operation.toString('latin1');
  // Header values cannot hold '\n', so the parts cannot run into one another; the operation goes last.
  return hash(
    'sha256',
    `${key.method}\n${key.contentType}\n${key.accept}\n${key.origin}\n${key.scope}\n${operation}`,
    'base64url',
  );
}

export interface StoredAnswer {
  status: number;
  /** The headers execution produced, flat (name, value, name, value, ...), Content-Length included. */
  headers: readonly string[];
  body: Buffer;
  /** The body's media type ('' when execution gave none). */
  contentType: string;
  /** Validator of the body and its media type, quoted (of the body before `costAt` when spliced). */
  etag: string;
  /**
   * Where extensions.cost starts in `body`; it runs to the last two bytes (`}}`). A hit sends the
   * bytes before it, its own cost, and `}}` (plugins/use-cost-report.ts), so `etag` is weak then.
   */
  costAt?: number;
  /** The answer's extensions.cost.estimate, for hits. */
  estimate?: number | null;
  /** When spliced: the bytes before `costAt`, DEFLATE-compressed once (src/transport/gzip-splice.ts). */
  deflatedPrefix?: DeflatedPrefix;
  /** Epoch ms: served while now < expiresAt. */
  expiresAt: number;
  private: boolean;
  /** The values it was built from (ids as in Freshness.reads). */
  reads: readonly string[];
  /** Served only while each still reads its value. */
  conditions: Freshness['conditions'];
  /** The body in each content coding asked for so far: compressed once, counted in `size`. */
  encodings: Readonly<Partial<Record<Coding, Buffer>>>;
  size: number;
}

export type StoreOutcome = { stored: StoredAnswer } | { skipped: string };

export interface ResponseCache {
  /** The stored answer for `key` while it is fresh, counting a hit or a miss. */
  lookup(key: string): StoredAnswer | undefined;
  /** A record for one execution about to run; pass it to `store` or `abandon` when it is done. */
  begin(): Freshness;
  /** Stores the answer if `freshness` allows it; always ends the execution's record. */
  store(
    key: string,
    freshness: Freshness,
    answer: {
      status: number;
      headers: ReadonlyArray<readonly [string, string]>;
      body: Buffer;
      private: boolean;
      /** The extensions.cost JSON the execution ended its body with (plugins/use-cost-report.ts). */
      costJson?: string;
    },
  ): StoreOutcome;
  abandon(freshness: Freshness): void;
  /**
   * The stored body in `coding`: compressed on first use (off the event loop) and kept with the answer
   * while it is stored, its bytes counted against the bound; a hit that asks again gets the same bytes.
   */
  encoded(key: string, answer: StoredAnswer, coding: Coding): Buffer | Promise<Buffer>;
  /** For a spliced answer: the bytes before extensions.cost, compressed once and kept like `encoded`. */
  deflatedPrefix(key: string, answer: StoredAnswer): DeflatedPrefix | Promise<DeflatedPrefix>;
  /** The per-process cache, reporting its rewrites here: every consumer must get this one. */
  watch(cache: Cache): Cache;
  now(): number;
  readonly stats: { bytes: number; entries: number };
}

/** Larger answers are not stored, so one of them cannot flush the rest. */
const MAX_ENTRY_FRACTION = 8;

export function createResponseCache(deps: {
  maxBytes: number;
  now?: () => number;
  metrics?: Pick<Metrics, 'responseCacheEvent' | 'observeResponseCacheSize'>;
}): ResponseCache {
  const now = deps.now ?? Date.now;
  const metrics = deps.metrics;
  const maxEntryBytes = Math.floor(deps.maxBytes / MAX_ENTRY_FRACTION);
  /** Value id → keys of the answers built on it. */
  const dependents = new Map<string, Set<string>>();
  /** Executions in progress: a rewrite of a value one has read makes its answer unstorable. */
  const running = new Set<Freshness>();
  /** Compressions in progress, per stored body (shared by an answer and its copies with more codings). */
  const compressing = new WeakMap<Buffer, Partial<Record<Coding, Promise<Buffer>>>>();
  const deflating = new WeakMap<Buffer, Promise<DeflatedPrefix>>();

  const lru = new LRUCache<string, StoredAnswer>({
    maxSize: deps.maxBytes,
    sizeCalculation: (answer) => answer.size,
    dispose(answer, key, reason) {
      for (const id of answer.reads) {
        const keys = dependents.get(id);
        if (!keys) continue;
        keys.delete(key);
        if (keys.size === 0) dependents.delete(id);
      }
      if (reason === 'evict') metrics?.responseCacheEvent('evict');
    },
  });
  metrics?.observeResponseCacheSize(() => ({ bytes: lru.calculatedSize, entries: lru.size }));

  function onWrite(ids: string[]) {
    for (const id of ids) {
      const keys = dependents.get(id);
      if (keys) {
        for (const key of [...keys]) {
          lru.delete(key);
          metrics?.responseCacheEvent('invalidate');
        }
      }
      for (const freshness of running) if (freshness.reads.has(id)) freshness.refuse('superseded');
    }
  }

  function holds(answer: StoredAnswer): boolean {
    for (const { condition, value } of answer.conditions) {
      if (condition.read() !== value) {
        metrics?.responseCacheEvent('invalidate');
        return false;
      }
    }
    return true;
  }

  /**
   * Adds a compressed body to the stored answer it was made from, if that is still stored. The entry
   * becomes a copy with one more coding (lru-cache re-counts an entry's size only when its value
   * changes); the copy has the same key and reads, so the index of dependents stays as it is.
   */
  function keepEncoding(key: string, body: Buffer, coding: Coding, bytes: Buffer) {
    const current = lru.peek(key);
    if (!current || current.body !== body || current.encodings[coding]) return;
    const size = current.size + bytes.length;
    if (size > maxEntryBytes) return;
    const next: StoredAnswer = { ...current, encodings: { ...current.encodings, [coding]: bytes }, size };
    lru.set(key, next, { noDisposeOnSet: true });
  }

  function keepPrefix(key: string, body: Buffer, prefix: DeflatedPrefix) {
    const current = lru.peek(key);
    if (!current || current.body !== body || current.deflatedPrefix) return;
    const size = current.size + prefix.deflated.length;
    if (size > maxEntryBytes) return;
    lru.set(key, { ...current, deflatedPrefix: prefix, size }, { noDisposeOnSet: true });
  }

  function skip(freshness: Freshness, reason: string): StoreOutcome {
    running.delete(freshness);
    metrics?.responseCacheEvent('skip', reason);
    return { skipped: reason };
  }

  return {
    lookup(key) {
      const answer = lru.get(key);
      if (answer && answer.expiresAt > now() && holds(answer)) {
        metrics?.responseCacheEvent('hit');
        return answer;
      }
      if (answer) lru.delete(key);
      metrics?.responseCacheEvent('miss');
      return undefined;
    },
    begin() {
      const freshness = createFreshness();
      running.add(freshness);
      return freshness;
    },
    store(key, freshness, answer) {
      if (freshness.unstorable) return skip(freshness, freshness.unstorable);
      if (!freshness.complete) return skip(freshness, 'incomplete');
      if (freshness.reads.size === 0) return skip(freshness, 'no-reads');
      if (answer.status !== 200) return skip(freshness, 'status');
      if (freshness.expiresAt <= now()) return skip(freshness, 'expired');
      const headers: string[] = [];
      let contentType = '';
      let headerBytes = 0;
      for (const [name, value] of answer.headers) {
        const lower = name.toLowerCase();
        // Per response, not per answer: the fast path gives each its own length and request id.
        if (lower === 'content-length' || lower === REQUEST_ID_HEADER) continue;
        if (lower === 'content-type') contentType = value;
        headers.push(lower, value);
        headerBytes += lower.length + value.length;
      }
      headers.push('content-length', String(answer.body.length));
      const reads = [...freshness.reads];
      // Bookkeeping counts too: the index holds every read id once more.
      const size =
        answer.body.length + headerBytes + reads.reduce((sum, id) => sum + 2 * id.length + 64, 256);
      if (size > maxEntryBytes) return skip(freshness, 'too-large');
      const costAt = spliceAt(answer.body, answer.costJson);
      const validated = costAt === undefined ? answer.body : answer.body.subarray(0, costAt);
      const stored: StoredAnswer = {
        status: answer.status,
        headers,
        body: answer.body,
        contentType,
        etag: `"${hash('sha256', Buffer.concat([Buffer.from(`${contentType}\n`), validated]), 'base64url')}"`,
        ...(costAt === undefined
          ? {}
          : { costAt, estimate: (JSON.parse(answer.costJson!) as { estimate: number | null }).estimate }),
        expiresAt: freshness.expiresAt,
        private: answer.private,
        reads,
        conditions: [...freshness.conditions],
        encodings: {},
        size,
      };
      running.delete(freshness);
      lru.set(key, stored);
      if (lru.peek(key) !== stored) return skip(freshness, 'too-large');
      for (const id of reads) {
        const keys = dependents.get(id);
        if (keys) keys.add(key);
        else dependents.set(id, new Set([key]));
      }
      metrics?.responseCacheEvent('store');
      return { stored };
    },
    abandon(freshness) {
      running.delete(freshness);
    },
    encoded(key, answer, coding) {
      const ready = answer.encodings[coding];
      if (ready) return ready;
      let pending = compressing.get(answer.body);
      if (!pending) {
        pending = {};
        compressing.set(answer.body, pending);
      }
      const inFlight = pending[coding];
      if (inFlight) return inFlight;
      const started = encode(answer.body, coding).then((bytes) => {
        delete pending[coding];
        keepEncoding(key, answer.body, coding, bytes);
        return bytes;
      });
      pending[coding] = started;
      return started;
    },
    deflatedPrefix(key, answer) {
      if (answer.deflatedPrefix) return answer.deflatedPrefix;
      const inFlight = deflating.get(answer.body);
      if (inFlight) return inFlight;
      const started = deflatePrefix(answer.body.subarray(0, answer.costAt)).then((prefix) => {
        deflating.delete(answer.body);
        keepPrefix(key, answer.body, prefix);
        return prefix;
      });
      deflating.set(answer.body, started);
      return started;
    },
    watch: (cache) => observeWrites(cache, onWrite),
    now,
    get stats() {
      return { bytes: lru.calculatedSize, entries: lru.size };
    },
  };
}

const SPLICE_TAIL = Buffer.from('}}');

/** Where `costJson` starts, when the body ends with it and the two braces that close extensions and the answer. */
function spliceAt(body: Buffer, costJson: string | undefined): number | undefined {
  if (!costJson) return undefined;
  const at = body.length - Buffer.byteLength(costJson) - SPLICE_TAIL.length;
  if (at <= 0) return undefined;
  if (!body.subarray(body.length - SPLICE_TAIL.length).equals(SPLICE_TAIL)) return undefined;
  return body.toString('utf8', at, body.length - SPLICE_TAIL.length) === costJson ? at : undefined;
}
