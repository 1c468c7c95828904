// A request body read whole only up to a limit, for the paths that read bodies outside Yoga's request
// parser (MCP over HTTP, graphql-sse's single-connection mode). A declared Content-Length over the
// limit is refused before a byte is read; a body without one (chunked) is cut at the first chunk past
// the limit, so neither is held in memory whole.

export class BodyTooLargeError extends RangeError {
  constructor(readonly limit: number) {
    super(`the request body is over ${limit} bytes`);
  }
}

/** Whether the declared Content-Length alone is over the limit. */
export function declaresTooLarge(contentLength: string | null | undefined, limit: number): boolean {
  if (contentLength === null || contentLength === undefined || contentLength === '') return false;
  const declared = Number(contentLength);
  return Number.isFinite(declared) && declared > limit;
}

/**
 * The body as text; throws BodyTooLargeError past `limit` bytes. The rest is first read and dropped (up
 * to DRAIN_MAX_BYTES), as Yoga's own limit does: a body stream given up on destroys its request, and the
 * client sees the connection reset instead of the refusal.
 */
export async function readCappedBody(
  body: AsyncIterable<Uint8Array | string> | null | undefined,
  limit: number,
): Promise<string> {
  if (!body) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  // Not for-await: leaving that loop early would destroy the stream.
  const iterator = body[Symbol.asyncIterator]();
  for (let read = await iterator.next(); !read.done; read = await iterator.next()) {
    const chunk = read.value;
    const bytes =
      typeof chunk === 'string'
        ? Buffer.from(chunk)
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    size += bytes.length;
    if (size > limit) {
      await discard(iterator);
      throw new BodyTooLargeError(limit);
    }
    chunks.push(bytes);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** How much of an oversized body is read and dropped before its refusal; past it, the read stops. */
const DRAIN_MAX_BYTES = 4 * 1024 * 1024;

async function discard(iterator: AsyncIterator<Uint8Array | string>) {
  try {
    let dropped = 0;
    for (let read = await iterator.next(); !read.done; read = await iterator.next()) {
      dropped += read.value.length;
      if (dropped > DRAIN_MAX_BYTES) {
        await iterator.return?.();
        return;
      }
    }
  } catch {
    // the client went away: nothing left to drop
  }
}
