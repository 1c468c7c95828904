import type { RequestListener, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import compression from 'compression';
import Negotiator from 'negotiator';

// Response compression (gzip, brotli), in two forms:
// - bodies the gateway holds whole and sends many times (stored answers, the GraphiQL page) are
//   compressed once per coding, off the event loop (zlib's thread pool), and the compressed bytes are
//   kept beside the raw ones (src/response-cache.ts, src/transport/static-page.ts);
// - everything else Yoga answers goes through the `compression` middleware (`compressResponses`),
//   except streams whose events must reach the client as they happen (SSE, multipart): a compressor
//   holds bytes back until its block fills, which would delay events indefinitely.
// The same representation in another coding gets its own strong ETag ("<tag>-gzip", "<tag>-br"), and
// If-None-Match accepts any of them: they all stand for the same content.
// Leans on negotiator's positional `preferred` argument (0.6.4, what `compression` itself uses);
// test/transport/content-coding.test.ts catches an upgrade that changes it.

export type Coding = 'br' | 'gzip';

/** Smaller bodies are sent as they are: compressing them saves less than its headers cost. */
export const COMPRESS_MIN_BYTES = 1024;

/** Ours first, at equal client preference: brotli compresses JSON and HTML ~15 % smaller than gzip. */
const PREFERRED: readonly string[] = ['br', 'gzip'];
const AVAILABLE: readonly string[] = ['br', 'gzip', 'identity'];

type PositionalEncoding = (available: readonly string[], preferred: readonly string[]) => string | undefined;

/** The coding to answer with for this Accept-Encoding header; undefined = as is. */
export function negotiateCoding(acceptEncoding: string | undefined): Coding | undefined {
  if (!acceptEncoding) return undefined;
  const negotiator = new Negotiator({ headers: { 'accept-encoding': acceptEncoding } });
  const chosen = (negotiator.encoding as unknown as PositionalEncoding).call(
    negotiator,
    AVAILABLE,
    PREFERRED,
  );
  return chosen === 'br' || chosen === 'gzip' ? chosen : undefined;
}

/** Whether gzip is acceptable (a spliced answer can only be sent in gzip: src/transport/gzip-splice.ts). */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (!acceptEncoding) return false;
  const negotiator = new Negotiator({ headers: { 'accept-encoding': acceptEncoding } });
  return negotiator.encoding(['gzip', 'identity']) === 'gzip';
}

/** Media types worth compressing: text and JSON (GraphQL answers, HTML, Prometheus text). */
export function isCompressible(contentType: string | undefined): boolean {
  if (!contentType) return false;
  return /^(?:text\/(?!event-stream)|application\/(?:[\w.+-]*\+)?json)/i.test(contentType);
}

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

/**
 * `body` in `coding`, computed in zlib's thread pool. Brotli quality 5 and gzip level 6: within a few
 * per cent of quality 9 / level 9 at a fraction of the time (docs/benchmarks.md, "Compression").
 */
export function encode(body: Buffer, coding: Coding): Promise<Buffer> {
  return coding === 'br'
    ? brotliAsync(body, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: 5,
          [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
          [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
        },
      })
    : gzipAsync(body, { level: 6 });
}

/** The strong validator of `etag`'s representation in `coding` (both quoted). */
export function codedEtag(etag: string, coding: Coding | undefined): string {
  return coding ? `${etag.slice(0, -1)}-${coding}"` : etag;
}

/** If-None-Match against a strong validator (or one of its coded forms), with the weak comparison GET allows. */
export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  for (const part of header.split(',')) {
    const raw = part.trim();
    const tag = raw.startsWith('W/') ? raw.slice(2) : raw;
    if (tag === etag || tag === codedEtag(etag, 'gzip') || tag === codedEtag(etag, 'br')) return true;
  }
  return false;
}

/** The `compression` middleware around `next`, for what it answers; never for event streams. */
export function compressResponses(next: RequestListener): RequestListener {
  const middleware = compression({
    threshold: COMPRESS_MIN_BYTES,
    filter: (_req, res) => isCompressible(contentTypeOf(res)),
    brotli: { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } },
  });
  return (req, res) => {
    middleware(req as Parameters<typeof middleware>[0], res as Parameters<typeof middleware>[1], () =>
      next(req, res),
    );
  };
}

function contentTypeOf(res: ServerResponse): string | undefined {
  const value = res.getHeader('content-type');
  return typeof value === 'string' ? value : undefined;
}
