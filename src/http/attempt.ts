import { type Dispatcher, request } from 'undici';
import { classifyNetworkError, classifyResponse, type Verdict } from './classify.js';
import type { HttpCall } from './types.js';

// One GET, bounded by what is left of the call's deadline: the AbortSignal destroys the socket when
// the deadline passes (so a hung provider costs us nothing afterwards). undici's own header and body
// timers are off: the deadline timer bounds both, and undici's count its ~500 ms ticks from the tick
// before they started, so with the same budget they could fire up to a tick before the deadline, as a
// retryable timeout that was then tried again. Always resolves with a verdict; never throws.

export interface AttemptResult<T> {
  verdict: Verdict<T>;
  status: number | undefined;
  latencyMs: number;
}

export async function sendAttempt<T>(options: {
  dispatcher: Dispatcher;
  call: HttpCall<T>;
  url: string;
  deadlineAt: number;
  deadlineMs: number;
  secrets: readonly string[];
  now: () => number;
}): Promise<AttemptResult<T>> {
  const { dispatcher, call, url, deadlineAt, deadlineMs, secrets, now } = options;
  const remaining = Math.max(1, deadlineAt - now());
  const controller = new AbortController();
  let deadlineHit = false;
  const timer = setTimeout(() => {
    deadlineHit = true;
    controller.abort();
  }, remaining);
  const started = performance.now();
  let verdict: Verdict<T>;
  let status: number | undefined;
  try {
    const accept = (call.parse ?? 'json') === 'json' ? 'application/json' : '*/*';
    const response = await request(url, {
      dispatcher,
      method: 'GET',
      headers: { accept, 'user-agent': 'marketgraph', ...call.headers },
      signal: controller.signal,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    status = response.statusCode;
    const text = await response.body.text();
    verdict = classifyResponse(call, { status, headers: response.headers, text }, { nowMs: now(), secrets });
  } catch (error) {
    deadlineHit ||= now() >= deadlineAt;
    verdict = classifyNetworkError(call, error, { deadlineHit, deadlineMs, secrets });
  } finally {
    clearTimeout(timer);
  }
  return { verdict, status, latencyMs: Math.round(performance.now() - started) };
}
