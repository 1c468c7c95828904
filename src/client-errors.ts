import { type Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

// What a connection is told when Node's HTTP parser refuses its request before any handler sees it:
// headers too large, a request that did not arrive within the headers or request timeout, or bytes
// that are not HTTP. Node's own answer has the status and no body; this one carries the status and a
// coded GraphQL error like every other refusal. Only a connection that has been sent nothing yet is
// answered (stricter than Node, which also answers between two responses; a kept-alive connection
// that goes wrong is just closed, so no answer can be read as part of another). Either way the socket
// is destroyed: server sockets are half-open, and ending our side alone would keep the connection, and
// its place under the connection cap, for as long as the client kept its own side open.

export const REQUEST_TIMEOUT = 'REQUEST_TIMEOUT';
export const REQUEST_HEADERS_TOO_LARGE = 'REQUEST_HEADERS_TOO_LARGE';
/** How long an answered connection may take to read the answer before it is dropped. */
const UNREAD_ANSWER_MS = 1_000;

interface Answer {
  status: number;
  code: string;
  message: string;
}

/** Node's parser and server error codes, and what each is answered with (anything else: 400). */
function answerFor(code: string | undefined): Answer {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        code: REQUEST_HEADERS_TOO_LARGE,
        message: 'the request headers are larger than this server takes',
      };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return {
        status: 413,
        code: 'REQUEST_ENTITY_TOO_LARGE',
        message: 'the chunk extensions are larger than this server takes',
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        status: 408,
        code: REQUEST_TIMEOUT,
        message:
          'the request did not arrive in time (MARKETGRAPH_HEADERS_TIMEOUT_MS, MARKETGRAPH_REQUEST_TIMEOUT_MS)',
      };
    default:
      return { status: 400, code: 'BAD_REQUEST', message: 'the request is not valid HTTP' };
  }
}

export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex & { bytesWritten?: number }) => {
    if (error.code === 'ECONNRESET' || !socket.writable || (socket.bytesWritten ?? 0) > 0) {
      socket.destroy();
      return;
    }
    const { status, code, message } = answerFor(error.code);
    const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
    // A client that does not read the answer cannot hold the socket either.
    const unread = setTimeout(() => socket.destroy(), UNREAD_ANSWER_MS);
    unread.unref();
    socket.once('close', () => clearTimeout(unread));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'content-type: application/json; charset=utf-8\r\n' +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        'connection: close\r\n\r\n' +
        body,
      () => socket.destroy(),
    );
  });
}
