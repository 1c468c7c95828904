import type { ProviderName } from '../market/model.js';

// Faults the sandbox injects on demand, per provider and endpoint ('*' = every endpoint of the
// provider). Tests set them in-process; people set them through the admin endpoint.

export type FaultKind =
  | 'latency' // answer normally after `latencyMs`
  | 'rate-limit' // the provider's own 429 with Retry-After: `retryAfter` seconds
  | 'server-error' // the provider's 5xx (`status`, default 503)
  | 'hang' // accept the request and never answer
  | 'html' // an HTML error page (Cloudflare/nginx style) with `status` (default 502)
  | 'malformed-json' // HTTP 200, application/json, a truncated body
  | 'reset' // destroy the socket without a response
  | 'down'; // refuse service: on '*' every connection is reset on accept; on one endpoint, its requests

export interface Fault {
  kind: FaultKind;
  latencyMs?: number;
  retryAfter?: number;
  status?: number;
  /** How many requests the fault applies to; unlimited when absent. */
  times?: number;
}

export interface FaultRegistry {
  set(provider: ProviderName, endpoint: string, fault: Fault): void;
  clear(provider?: ProviderName, endpoint?: string): void;
  /** The fault that applies to this request, consuming one of its `times`. */
  take(provider: ProviderName, endpoint: string): Fault | undefined;
  /**
   * Whether the provider refuses service: without `endpoint`, as a whole ('*'); with it, for that
   * endpoint (a 'down' fault on it or on '*').
   */
  isDown(provider: ProviderName, endpoint?: string): boolean;
  list(): Array<{ provider: ProviderName; endpoint: string; fault: Fault }>;
}

const KINDS = new Set<FaultKind>([
  'latency',
  'rate-limit',
  'server-error',
  'hang',
  'html',
  'malformed-json',
  'reset',
  'down',
]);

export function parseFault(input: unknown): Fault {
  if (typeof input !== 'object' || input === null) throw new Error('fault must be a JSON object');
  const raw = input as Record<string, unknown>;
  if (typeof raw.kind !== 'string' || !KINDS.has(raw.kind as FaultKind)) {
    throw new Error(`fault.kind must be one of ${[...KINDS].join(', ')}, got ${JSON.stringify(raw.kind)}`);
  }
  const fault: Fault = { kind: raw.kind as FaultKind };
  for (const key of ['latencyMs', 'retryAfter', 'status', 'times'] as const) {
    const value = raw[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new Error(`fault.${key} must be a non-negative number, got ${JSON.stringify(value)}`);
    }
    fault[key] = value;
  }
  return fault;
}

export function createFaultRegistry(): FaultRegistry {
  const faults = new Map<string, Fault>();
  const key = (provider: string, endpoint: string) => `${provider} ${endpoint}`;

  return {
    set(provider, endpoint, fault) {
      faults.set(key(provider, endpoint), { ...fault });
    },
    clear(provider, endpoint) {
      if (!provider) return faults.clear();
      if (endpoint) return void faults.delete(key(provider, endpoint));
      for (const k of [...faults.keys()]) if (k.startsWith(`${provider} `)) faults.delete(k);
    },
    take(provider, endpoint) {
      for (const k of [key(provider, endpoint), key(provider, '*')]) {
        const fault = faults.get(k);
        if (!fault || fault.kind === 'down') continue;
        if (fault.times !== undefined) {
          fault.times -= 1;
          if (fault.times <= 0) faults.delete(k);
        }
        return fault;
      }
      return undefined;
    },
    isDown(provider, endpoint) {
      if (faults.get(key(provider, '*'))?.kind === 'down') return true;
      return endpoint !== undefined && faults.get(key(provider, endpoint))?.kind === 'down';
    },
    list() {
      return [...faults].map(([k, fault]) => {
        const [provider, endpoint] = k.split(' ') as [ProviderName, string];
        return { provider, endpoint, fault };
      });
    },
  };
}
