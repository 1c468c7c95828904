import type { ProviderConfig, UpstreamName } from '../../src/config.js';
import { UpstreamError } from '../../src/errors.js';
import type { Http, HttpCall, ProviderHealth } from '../../src/http.js';

// Minimal Http doubles for the keyed-provider source tests (Token Metrics, CoinCap, Etherscan). They
// follow src/http.ts's order for one attempt — non-2xx is classified by status, a 2xx body goes
// through the call's envelopeError and then its schema — and nothing more: retries, quotas, breakers
// and redaction are http.ts's business and are tested there.

export interface RecordingHttp extends Http {
  calls: Array<HttpCall<unknown>>;
  /** Full request URLs, in call order (fetch double only). */
  urls: string[];
}

export function providerConfig(name: UpstreamName, url: string, key: string | undefined): ProviderConfig {
  return { name, enabled: key !== undefined, url, wsUrl: '', key, rpm: 60 };
}

/** fetch(config.url + path + query) → status check → JSON → envelopeError → schema. */
export function createFetchHttp(config: ProviderConfig): RecordingHttp {
  const calls: Array<HttpCall<unknown>> = [];
  const urls: string[] = [];
  return {
    calls,
    urls,
    async get<T>(call: HttpCall<T>): Promise<T> {
      calls.push(call as HttpCall<unknown>);
      const url = new URL(config.url + call.path);
      for (const [name, value] of Object.entries(call.query ?? {})) {
        if (value !== undefined) url.searchParams.set(name, String(value));
      }
      urls.push(url.toString());
      const response = await fetch(url, { headers: call.headers });
      const text = await response.text();
      if (!response.ok) {
        const code =
          response.status === 429
            ? 'UPSTREAM_RATE_LIMITED'
            : response.status >= 500
              ? 'UPSTREAM_UNAVAILABLE'
              : 'UPSTREAM_BAD_RESPONSE';
        throw new UpstreamError(
          code,
          call.provider,
          `${call.provider} ${call.endpoint}: HTTP ${response.status}`,
          {
            status: response.status,
            endpoint: call.endpoint,
          },
        );
      }
      return decode(call, call.parse === 'text' ? text : JSON.parse(text));
    },
    health,
    close: async () => {},
  };
}

/** Answers every call with a literal body per endpoint, through envelopeError and the schema. */
export function createLiteralHttp(bodies: Record<string, unknown>): RecordingHttp {
  const calls: Array<HttpCall<unknown>> = [];
  return {
    calls,
    urls: [],
    async get<T>(call: HttpCall<T>): Promise<T> {
      calls.push(call as HttpCall<unknown>);
      if (!(call.endpoint in bodies)) throw new Error(`no literal body for ${call.endpoint}`);
      return decode(call, structuredClone(bodies[call.endpoint]));
    },
    health,
    close: async () => {},
  };
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

function health(provider: UpstreamName): ProviderHealth {
  return { provider, breaker: 'closed', quotaLeft: 0, lastLatencyMs: null, lastError: null, blockedUntil: 0 };
}
