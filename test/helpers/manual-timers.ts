import type { Timers } from '../../src/mcp/resubscribe.js';

// Timers that fire only when a test says so (the MCP price re-subscriptions take them): a test sees
// each pending wait and its length, runs it without sleeping, and checks none is left behind.

export interface ManualTimers extends Timers {
  /** The lengths of the waits still pending, oldest first. */
  pending(): number[];
  /** Runs every pending wait now; returns how many ran. */
  fire(): number;
}

export function manualTimers(): ManualTimers {
  const waits = new Map<number, { run: () => void; ms: number }>();
  let next = 0;
  return {
    set(run, ms) {
      next += 1;
      waits.set(next, { run, ms });
      return next;
    },
    clear: (handle) => void waits.delete(handle as number),
    pending: () => [...waits.values()].map((w) => w.ms),
    fire() {
      const due = [...waits];
      waits.clear();
      for (const [, wait] of due) wait.run();
      return due.length;
    },
  };
}
