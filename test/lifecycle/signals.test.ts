import { describe, expect, it } from 'vitest';
import { stopOnSignals } from '../../src/lifecycle/signals.js';

// The signal policy on a stand-in process: one graceful stop, its outcome as the exit code, and a
// second signal (not a second request without one) exiting at once.

function harness(outcome: Promise<boolean> | (() => Promise<boolean>)) {
  const listeners = new Map<string, () => void>();
  const exits: number[] = [];
  const stops: string[] = [];
  const lines: string[] = [];
  const control = stopOnSignals({
    stop: (reason) => {
      stops.push(reason);
      return typeof outcome === 'function' ? outcome() : outcome;
    },
    log: (line) => lines.push(line),
    exit: (code) => exits.push(code),
    on: (signal, listener) => listeners.set(signal, listener),
  });
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return { control, exits, stops, lines, send: (signal: string) => listeners.get(signal)!(), settle };
}

describe('stopOnSignals', () => {
  it('stops once on the first signal and exits 0 when it drained, 1 when something was cut', async () => {
    const clean = harness(Promise.resolve(true));
    clean.send('SIGTERM');
    clean.control.stop('shutdown');
    await clean.settle();
    expect(clean.stops).toEqual(['SIGTERM']);
    expect(clean.exits).toEqual([0]);

    const cut = harness(Promise.resolve(false));
    cut.send('SIGINT');
    await cut.settle();
    expect(cut.exits).toEqual([1]);

    const failed = harness(() => Promise.reject(new Error('redis quit hung')));
    failed.send('SIGTERM');
    await failed.settle();
    expect(failed.exits).toEqual([1]);
    expect(failed.lines).toEqual(['marketgraph: shutdown failed: redis quit hung']);
  });

  it('exits at once with 128 + the number of a second signal', async () => {
    const pending = harness(new Promise<boolean>(() => {}));
    pending.send('SIGTERM');
    expect(pending.exits).toEqual([]);
    pending.send('SIGTERM');
    pending.send('SIGINT');
    expect(pending.exits).toEqual([143, 130]);
  });

  it('does not count a stop without a signal (the primary asking a worker) as a signal', async () => {
    const pending = harness(new Promise<boolean>(() => {}));
    pending.control.stop('shutdown');
    expect(pending.control.stopping).toBe(true);
    pending.send('SIGTERM');
    expect(pending.exits).toEqual([]);
    pending.send('SIGTERM');
    expect(pending.exits).toEqual([143]);
    expect(pending.stops).toEqual(['shutdown']);
  });
});
