import type { BreakerState } from './types.js';

// A consecutive-failure circuit breaker for one provider. Closed: calls pass, `threshold` failures in
// a row open it. Open: calls are refused without touching the network until `halfOpenAfterMs` has
// passed; then exactly one probe is let through (half-open). The probe's success closes the circuit,
// its failure re-opens it for another full delay; a neutral probe (rate limited) frees the slot.
//
// Outcomes: 'failure' = network error, timeout, 5xx, bad body; 'success' = the provider answered
// sensibly, including 4xx client errors; 'neutral' = rate limited (alive, but says nothing about health).

export type BreakerOutcome = 'success' | 'failure' | 'neutral';

export interface BreakerTicket {
  /** True when this call is the half-open probe. */
  probe: boolean;
}

export interface Breaker {
  state(): BreakerState;
  /** Whether a call could pass now, without reserving anything. */
  canPass(): boolean;
  /** Lets a call through (reserving the probe slot when half-open), or returns undefined. */
  tryPass(): BreakerTicket | undefined;
  record(ticket: BreakerTicket, outcome: BreakerOutcome): void;
}

export function createBreaker(options: {
  threshold: number;
  halfOpenAfterMs: number;
  now: () => number;
  onChange?: (state: BreakerState) => void;
}): Breaker {
  const { threshold, halfOpenAfterMs, now, onChange } = options;
  let open = false;
  let openedAt = 0;
  let failures = 0;
  let probing = false;

  function state(): BreakerState {
    if (!open) return 'closed';
    return now() - openedAt >= halfOpenAfterMs ? 'half-open' : 'open';
  }

  function trip(): void {
    open = true;
    openedAt = now();
    failures = 0;
    onChange?.('open');
  }

  return {
    state,
    canPass() {
      const current = state();
      return current === 'closed' || (current === 'half-open' && !probing);
    },
    tryPass() {
      const current = state();
      if (current === 'closed') return { probe: false };
      if (current === 'half-open' && !probing) {
        probing = true;
        onChange?.('half-open');
        return { probe: true };
      }
      return undefined;
    },
    record(ticket, outcome) {
      if (ticket.probe) {
        probing = false;
        if (outcome === 'success') {
          open = false;
          failures = 0;
          onChange?.('closed');
        } else if (outcome === 'failure') {
          trip();
        }
        return;
      }
      // Late results of calls that passed before the circuit opened say nothing new.
      if (open) return;
      if (outcome === 'success') failures = 0;
      else if (outcome === 'failure' && ++failures >= threshold) trip();
    },
  };
}
