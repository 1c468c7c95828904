import { randomUUID } from 'node:crypto';

// Request ids: a client's or proxy's `x-request-id` is kept when it looks like an id (so one id follows
// a request through every hop), anything else is replaced by a fresh UUID. An id is written into log
// lines and response headers, so it must be short and must not carry spaces, quotes or control
// characters that would forge or break either.

export const REQUEST_ID_HEADER = 'x-request-id';

/** Longest id kept (a UUID is 36, a W3C trace id 32, AWS's Root=… ~40). */
export const MAX_REQUEST_ID_LENGTH = 128;

const REQUEST_ID = /^[A-Za-z0-9._~:/+=-]+$/;

/** Whether `value` is kept as a request id. */
export function isValidRequestId(value: string): boolean {
  return value.length > 0 && value.length <= MAX_REQUEST_ID_LENGTH && REQUEST_ID.test(value);
}

/** The given id when valid, else a new one. */
export function resolveRequestId(
  given: string | null | undefined,
  create: () => string = randomUUID,
): string {
  return given !== null && given !== undefined && isValidRequestId(given) ? given : create();
}
