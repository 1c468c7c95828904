import type { ProviderConfig, UpstreamName } from '../../src/config.js';
import { type UpstreamCode, UpstreamError } from '../../src/errors.js';
import type { Http, HttpCall, ProviderHealth } from '../../src/http/client.js';

// Minimal Http doubles for the source tests. They follow src/http/client.ts's order for one attempt — a
// non-2xx answer is classified by status, a 2xx body goes through the call's envelopeError and then
// its schema — and nothing more: retries, quotas, breakers and redaction are http.ts's business and are
// tested there. Every call is recorded so tests can assert what a source asked for.

export interface RecordingHttp extends Http {
  /** Every call, in call order. */
  calls: Array<HttpCall<unknown>>;
}

export interface RecordingFetchHttp extends RecordingHttp {
  /** Full request URLs, in call order. */
  urls: string[];
  /** Response headers, in call order (e.g. Binance's used-weight header). */
  responseHeaders: Headers[];
}

/** Mirrors src/config.ts: providers that refuse service without a key stay off until one is set. */
const KEY_REQUIRED = new Set<UpstreamName>(['tokenmetrics', 'coincap', 'etherscan']);

/** A provider's settings as src/config.ts would build them for `url` and `key`. */
export function providerConfig(name: UpstreamName, url: string, key?: string): ProviderConfig {
  const enabled = key !== undefined || !KEY_REQUIRED.has(name);
  return { name, enabled, url, wsUrl: '', key, rpm: 60 };
}

/** fetch(config.url + path + query) → status check → JSON or text → envelopeError → schema. */
export function createFetchHttp(config: ProviderConfig): RecordingFetchHttp {
  const calls: Array<HttpCall<unknown>> = [];
  const urls: string[] = [];
  const responseHeaders: Headers[] = [];
  return {
    calls,
    urls,
    responseHeaders,
    async get<T>(call: HttpCall<T>): Promise<T> {
      calls.push(call as HttpCall<unknown>);
      const url = new URL(config.url + call.path);
      for (const [name, value] of Object.entries(call.query ?? {})) {
        if (value !== undefined) url.searchParams.append(name, String(value));
      }
      urls.push(url.toString());
      const response = await fetch(url, { headers: call.headers });
      responseHeaders.push(response.headers);
      const text = await response.text();
      if (!response.ok) {
        // The body's start goes into the message so a failing test shows what the provider said.
        throw new UpstreamError(
          codeForStatus(response.status),
          call.provider,
          `${call.provider} ${call.endpoint}: HTTP ${response.status}: ${text.slice(0, 200)}`,
          { status: response.status, endpoint: call.endpoint },
        );
      }
      return decode(call, call.parse === 'text' ? text : JSON.parse(text));
    },
    health,
    close: async () => {},
  };
}

/**
 * Answers every call with a literal 2xx body — looked up by endpoint, or computed from the call — through
 * envelopeError and the schema. Bodies are cloned per call, so a source cannot alter a test's fixture.
 */
export function createLiteralHttp(
  bodies: Record<string, unknown> | ((call: HttpCall<unknown>) => unknown),
): RecordingHttp {
  const calls: Array<HttpCall<unknown>> = [];
  const bodyFor = (call: HttpCall<unknown>): unknown => {
    if (typeof bodies === 'function') return bodies(call);
    if (!(call.endpoint in bodies)) throw new Error(`no literal body for ${call.endpoint}`);
    return bodies[call.endpoint];
  };
  return {
    calls,
    async get<T>(call: HttpCall<T>): Promise<T> {
      calls.push(call as HttpCall<unknown>);
      const body = bodyFor(call as HttpCall<unknown>);
      if (call.parse === 'text' && typeof body !== 'string')
        throw new Error(`${call.endpoint} wants a text body`);
      return decode(call, structuredClone(body));
    },
    health,
    close: async () => {},
  };
}

function codeForStatus(status: number): UpstreamCode {
  if (status === 429) return 'UPSTREAM_RATE_LIMITED';
  return status >= 500 ? 'UPSTREAM_UNAVAILABLE' : 'UPSTREAM_BAD_RESPONSE';
}

function decode<T>(call: HttpCall<T>, body: unknown): T {
  const envelope = call.envelopeError?.(body);
  if (envelope) {
    throw new UpstreamError(
      envelope.code,
      call.provider,
      `${call.provider} ${call.endpoint}: ${envelope.message}`,
      {
        endpoint: call.endpoint,
        ...(envelope.retryAfter !== undefined ? { retryAfter: envelope.retryAfter } : {}),
      },
    );
  }
  return call.schema.parse(body);
}

/** The sources never read health; the doubles answer it the way a fresh, idle Http would. */
function health(provider: UpstreamName): ProviderHealth {
  return {
    provider,
    breaker: 'closed',
    quotaLeft: 0,
    lastLatencyMs: null,
    lastError: null,
    lastFailure: null,
    blockedUntil: 0,
  };
}
