import type { Logger } from 'pino';
import { type UpstreamCode, UpstreamError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { QuietRepeats } from '../telemetry/quiet-repeats.js';
import { waitFor } from './backoff.js';
import type { Breaker, BreakerTicket } from './breaker.js';
import type { UpstreamBudget } from './budget.js';
import type { Failure } from './classify.js';
import type { Quota } from './quota.js';
import { redactText } from './redact.js';
import type { HttpCall } from './types.js';

// What an attempt must pass before it may leave the process, in order: the circuit breaker, the
// provider-wide Retry-After block, the request's upstream budget (when the call is made for a request),
// a quota token, the block again (it may have been set while we queued for the token), and the
// breaker's probe slot. Waits are taken only when they end early enough to leave `minAttemptMs` of the
// deadline for the request itself; otherwise the call is refused at once. Refusing a retry surfaces
// the previous attempt's error, which says more. An attempt refused after its budget reservation gives
// the reservation back: the budget counts attempts that left.
// A refused call made for a request logs at debug and is counted in the request's budget, which the
// request reports in one line (plugins/use-upstream-budget.ts); one made outside requests (the asset
// registry, the on-chain poller) warns once per endpoint and kind of refusal until a call to that
// endpoint succeeds, with summaries further and further apart while it lasts (telemetry/quiet-repeats.ts).

/** Per-provider state shared by every call in this process. */
export interface ProviderState {
  breaker: Breaker;
  /** Epoch ms before which no call may leave (Retry-After); 0 or past when not blocked. */
  blockedUntil: number;
  lastLatencyMs: number | null;
  /** The last failed or refused call, for health(). */
  lastFailure: { error: UpstreamError; at: number } | null;
}

export type Admit = <T>(
  call: HttpCall<T>,
  state: ProviderState,
  deadlineAt: number,
  last: Failure | undefined,
  budget?: UpstreamBudget,
) => Promise<BreakerTicket>;

export function createAdmission(deps: {
  quota: Quota;
  metrics: Metrics;
  logger: Logger;
  quiet: QuietRepeats;
  now: () => number;
  minAttemptMs: number;
}): Admit {
  const { quota, metrics, logger, quiet, now, minAttemptMs } = deps;

  return async function admit(call, state, deadlineAt, last, budget) {
    const { provider, endpoint } = call;
    const refuse = (
      outcome: 'shed' | 'breaker_open',
      code: UpstreamCode,
      reason: string,
      retryAfter?: number,
    ) => {
      budget?.noteRefused(provider, outcome);
      if (last) return last.error;
      const details = { endpoint, ...(retryAfter !== undefined ? { retryAfter } : {}) };
      const error = new UpstreamError(code, provider, `${provider} ${endpoint}: ${reason}`, details);
      metrics.recordUpstream({ provider, endpoint, outcome });
      const line = { provider, endpoint, outcome, code };
      if (budget) logger.debug(line, 'upstream call refused');
      else
        quiet.failed(`${provider} ${endpoint}`, `refused ${outcome} ${code}`, line, 'upstream call refused');
      state.lastFailure = { error, at: now() };
      return error;
    };
    /** The request's own limit, not the provider's health: state.lastError stays as it was. */
    const refuseOverBudget = (error: UpstreamError) => {
      metrics.recordUpstream({ provider, endpoint, outcome: 'over_budget' });
      logger.debug(
        { provider, endpoint, outcome: 'over_budget', reason: error.details.reason },
        'upstream call refused',
      );
      return last ? last.error : error;
    };
    const refuseOpen = () =>
      refuse('breaker_open', 'UPSTREAM_UNAVAILABLE', 'circuit open after repeated failures, not calling');
    const fitsDeadline = (waitMs: number) => now() + waitMs + minAttemptMs <= deadlineAt;

    async function waitUnblocked(): Promise<void> {
      for (let wait = state.blockedUntil - now(); wait > 0; wait = state.blockedUntil - now()) {
        if (!fitsDeadline(wait)) {
          const seconds = Math.ceil(wait / 1000);
          throw refuse(
            'shed',
            'UPSTREAM_RATE_LIMITED',
            `provider asked to wait ${seconds} s (Retry-After)`,
            seconds,
          );
        }
        await waitFor(wait);
      }
    }

    if (!state.breaker.canPass()) throw refuseOpen();
    await waitUnblocked();
    const spend = budget?.reserve(provider, endpoint, call.cost ?? 1);
    if (spend instanceof UpstreamError) throw refuseOverBudget(spend);
    try {
      const floor = budget?.quotaFloor(provider) ?? 0;
      const grant = await quota.acquire(provider, call.cost ?? 1, deadlineAt - minAttemptMs, floor).then(
        (grant) => {
          quiet.recovered(`quota store ${provider}`, { provider }, 'quota store answers again');
          return grant;
        },
        (error: unknown) => {
          const reason = redactText(String(error));
          quiet.failed(
            `quota store ${provider}`,
            reason,
            { provider, reason },
            'quota store failed; calling unmetered',
          );
          return { ok: true as const };
        },
      );
      if (!grant.ok && grant.reserved && budget)
        throw refuseOverBudget(budget.refuseBelowFloor(provider, endpoint));
      if (!grant.ok) {
        const seconds = Math.ceil(grant.retryAfterMs / 1000);
        throw refuse(
          'shed',
          'UPSTREAM_RATE_LIMITED',
          `local quota exhausted, a token frees in ${seconds} s`,
          seconds,
        );
      }
      await waitUnblocked();
      const ticket = state.breaker.tryPass();
      if (!ticket) throw refuseOpen();
      return ticket;
    } catch (error) {
      spend?.release();
      throw error;
    }
  };
}
