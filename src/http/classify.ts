import type { IncomingHttpHeaders } from 'node:http';
import type { z } from 'zod';
import { type UpstreamCode, UpstreamError } from '../errors.js';
import type { UpstreamOutcome } from '../metrics.js';
import type { BreakerOutcome } from './breaker.js';
import { createRedactor } from './redact.js';
import { parseRetryAfter } from './retry-after.js';
import type { HttpCall } from './types.js';

// Turns what came back from one attempt (a response, or the error instead of one) into a verdict:
// the value, or a classified UpstreamError plus what the caller should do about it. Never throws:
// HTML error pages, empty bodies and malformed JSON are outcomes like any other.
//
// What a client sees (the error's message, and `sources { lastFailure }`) is fixed text of ours:
// provider, endpoint, status or code and a short reason. A provider's own words (a source's envelope
// message) never reach it; they go, redacted, to the log line as `detail`.

export type Verdict<T> = { ok: true; value: T; outcome: 'ok'; breaker: 'success' } | Failure;

export interface Failure {
  ok: false;
  error: UpstreamError;
  outcome: Exclude<UpstreamOutcome, 'ok' | 'shed' | 'breaker_open'>;
  breaker: BreakerOutcome;
  retryable: boolean;
  /** Seconds the provider asked every caller to wait (Retry-After), when it said so. */
  retryAfter?: number;
  /** The provider's own account of the failure, redacted; for the log line only, never a client. */
  detail?: string;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

const OUTCOME: Record<UpstreamCode, Failure['outcome']> = {
  UPSTREAM_RATE_LIMITED: 'rate_limited',
  UPSTREAM_UNAVAILABLE: 'unavailable',
  UPSTREAM_TIMEOUT: 'timeout',
  UPSTREAM_BAD_RESPONSE: 'bad_response',
};

/** What a client is told when a source read an error out of a 2xx body. */
const ENVELOPE_REASON: Record<UpstreamCode, string> = {
  UPSTREAM_RATE_LIMITED: 'error in the response body: rate limited',
  UPSTREAM_UNAVAILABLE: 'error in the response body: the provider refused the request or our credentials',
  UPSTREAM_TIMEOUT: 'error in the response body: the provider timed out',
  UPSTREAM_BAD_RESPONSE: 'error in the response body: the provider rejected the request',
};
/** Object keys from a provider's body longer than this, or with other characters, are not quoted in a path. */
const PATH_KEY = /^[\w$:.-]{1,40}$/;

export function classifyResponse<T>(
  call: HttpCall<T>,
  response: RawResponse,
  context: { nowMs: number; secrets: readonly string[] },
): Verdict<T> {
  const { status, headers, text } = response;
  const fail = (code: UpstreamCode, reason: string, extra: Partial<Failure> = {}): Failure =>
    failure(call, code, reason, { status, secrets: context.secrets, ...extra });

  if (status >= 200 && status < 300) return decodeBody(call, text, fail);

  const retryAfter = parseRetryAfter(headers['retry-after'], context.nowMs);
  const page = looksLikeHtml(headers, text) ? ' (HTML error page)' : '';
  const rateLimit = { breaker: 'neutral' as const, retryAfter };
  if (status === 429)
    return fail('UPSTREAM_RATE_LIMITED', `HTTP 429 rate limited${page}`, { ...rateLimit, retryable: true });
  if (status === 418)
    return fail('UPSTREAM_RATE_LIMITED', `HTTP 418 banned by the provider${page}`, rateLimit);
  if (status === 451) return fail('UPSTREAM_UNAVAILABLE', `HTTP 451 unavailable from this location${page}`);
  // A refused key makes the provider unavailable to us until an operator fixes the key; it is not a
  // malformed request, and retrying cannot help.
  if (status === 401 || status === 403) {
    return fail('UPSTREAM_UNAVAILABLE', `HTTP ${status}, the provider refused our credentials${page}`);
  }
  if (status >= 500 || status === 408) {
    return fail('UPSTREAM_UNAVAILABLE', `HTTP ${status}${page}`, { retryable: true, retryAfter });
  }
  if (status >= 400) {
    return fail('UPSTREAM_BAD_RESPONSE', `HTTP ${status}, the provider rejected the request${page}`, {
      breaker: 'success',
    });
  }
  return fail('UPSTREAM_BAD_RESPONSE', `unexpected HTTP ${status}`);
}

export function classifyNetworkError<T>(
  call: HttpCall<T>,
  error: unknown,
  context: { deadlineHit: boolean; deadlineMs: number; secrets: readonly string[] },
): Failure {
  const { secrets } = context;
  if (context.deadlineHit) {
    return failure(
      call,
      'UPSTREAM_TIMEOUT',
      `no complete response within the ${context.deadlineMs} ms deadline`,
      { secrets },
    );
  }
  const code = errorCode(error);
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'ETIMEDOUT':
      return failure(call, 'UPSTREAM_TIMEOUT', `timed out (${code})`, { secrets, retryable: true });
    case 'ECONNRESET':
    case 'ECONNREFUSED':
    case 'EPIPE':
    case 'ECONNABORTED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EAI_AGAIN':
    case 'UND_ERR_SOCKET':
      return failure(call, 'UPSTREAM_UNAVAILABLE', `network error (${code})`, { secrets, retryable: true });
    case 'UND_ERR_RES_EXCEEDED_MAX_SIZE':
      return failure(call, 'UPSTREAM_BAD_RESPONSE', 'response body too large', { secrets });
    default:
      return failure(call, 'UPSTREAM_UNAVAILABLE', `request failed (${code ?? 'unknown error'})`, {
        secrets,
      });
  }
}

/** "expected number at [0].current_price": the first issue, its path, and how many more there were. */
export function describeSchemaIssues(issues: readonly z.core.$ZodIssue[]): string {
  const [first] = issues;
  if (!first) return 'schema mismatch';
  const what = first.code === 'invalid_type' ? `expected ${first.expected}` : first.message;
  const more = issues.length > 1 ? ` (+${issues.length - 1} more)` : '';
  return `${what} at ${formatPath(first.path)}${more}`;
}

function decodeBody<T>(
  call: HttpCall<T>,
  text: string,
  fail: (code: UpstreamCode, reason: string, extra?: Partial<Failure>) => Failure,
): Verdict<T> {
  let body: unknown = text;
  if ((call.parse ?? 'json') === 'json') {
    if (text.trim() === '') return fail('UPSTREAM_BAD_RESPONSE', 'empty body where JSON was expected');
    try {
      body = JSON.parse(text);
    } catch {
      const what = /^\s*</.test(text) ? 'an HTML page' : 'malformed JSON';
      return fail('UPSTREAM_BAD_RESPONSE', `expected JSON, got ${what}`);
    }
  }
  const envelope = call.envelopeError?.(body);
  if (envelope) {
    const rateLimited = envelope.code === 'UPSTREAM_RATE_LIMITED';
    return fail(envelope.code, ENVELOPE_REASON[envelope.code], {
      detail: envelope.message,
      // Only what another attempt could change: a refused key stays refused.
      retryable:
        envelope.retryable ??
        (rateLimited || envelope.code === 'UPSTREAM_UNAVAILABLE' || envelope.code === 'UPSTREAM_TIMEOUT'),
      breaker: rateLimited ? 'neutral' : envelope.code === 'UPSTREAM_BAD_RESPONSE' ? 'success' : 'failure',
      retryAfter: envelope.retryAfter,
    });
  }
  const parsed = call.schema.safeParse(body);
  if (!parsed.success) return fail('UPSTREAM_BAD_RESPONSE', describeSchemaIssues(parsed.error.issues));
  return { ok: true, value: parsed.data, outcome: 'ok', breaker: 'success' };
}

function failure<T>(
  call: HttpCall<T>,
  code: UpstreamCode,
  reason: string,
  extra: Partial<Failure> & { status?: number; secrets: readonly string[] },
): Failure {
  const { status, secrets, detail, ...rest } = extra;
  const redactor = createRedactor(secrets);
  // Provider and endpoint are our own names; the reason may quote a body's keys, so it is redacted.
  const message = `${call.provider} ${call.endpoint}: ${redactor.redact(reason)}`;
  const details = {
    endpoint: call.endpoint,
    ...(status !== undefined ? { status } : {}),
    ...(rest.retryAfter !== undefined ? { retryAfter: rest.retryAfter } : {}),
  };
  return {
    ok: false,
    error: new UpstreamError(code, call.provider, message, details),
    outcome: OUTCOME[code],
    breaker: 'failure',
    retryable: false,
    ...rest,
    ...(detail !== undefined ? { detail: redactor.redact(detail, { maxLength: 500 }) } : {}),
  };
}

function looksLikeHtml(headers: IncomingHttpHeaders, text: string): boolean {
  return /html/i.test(headers['content-type'] ?? '') || /^\s*</.test(text);
}

function errorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    if ((current as { message?: unknown }).message === 'socket hang up') return 'ECONNRESET';
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'the root';
  return path
    .map((key, index) => {
      if (typeof key === 'number') return `[${key}]`;
      const name = String(key);
      // Keys of a record come from the provider: quoted only when short and plain, never cut.
      if (!PATH_KEY.test(name)) return '[…]';
      if (!/^[A-Za-z_$][\w$]*$/.test(name)) return `[${JSON.stringify(name)}]`;
      return index === 0 ? name : `.${name}`;
    })
    .join('');
}
