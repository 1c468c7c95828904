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

/** The body as text; throws BodyTooLargeError past `limit` bytes (IncomingMessage or a Web stream). */
export async function readCappedBody(
  body: AsyncIterable<Uint8Array | string> | null | undefined,
  limit: number,
): Promise<string> {
  if (!body) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const bytes =
      typeof chunk === 'string'
        ? Buffer.from(chunk)
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    size += bytes.length;
    if (size > limit) throw new BodyTooLargeError(limit);
    chunks.push(bytes);
  }
  return Buffer.concat(chunks).toString('utf8');
}
