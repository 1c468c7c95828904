import { constants } from 'node:os';

// What a gateway process does on SIGTERM and SIGINT (and on other requests to stop, such as a cluster
// primary's): the first one starts a graceful stop and the process exits 0 when it finished within the
// grace, 1 when something had to be cut; a second signal exits at once with 128 + the signal's number
// (the shell's convention for "killed by"). A stop requested without a signal never counts as the
// second one, so a signal to a whole process group plus the primary's message still drain.

export interface StopOnSignalsOptions {
  /** Drains and closes everything; resolves true when nothing had to be cut. */
  stop(reason: string): Promise<boolean>;
  log(line: string): void;
  exit(code: number): void;
  /** process.on, for the signals. */
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  signals?: readonly NodeJS.Signals[];
}

export interface StopControl {
  /** Starts the graceful stop (no-op when one is under way). */
  stop(reason: string): void;
  readonly stopping: boolean;
}

export function stopOnSignals(options: StopOnSignalsOptions): StopControl {
  let stopping = false;
  const begin = (reason: string) => {
    if (stopping) return;
    stopping = true;
    options.stop(reason).then(
      (clean) => options.exit(clean ? 0 : 1),
      (error: unknown) => {
        options.log(
          `marketgraph: shutdown failed: ${error instanceof Error ? error.message : String(error)}`,
        );
        options.exit(1);
      },
    );
  };
  let signals = 0;
  for (const signal of options.signals ?? (['SIGTERM', 'SIGINT'] as const)) {
    options.on(signal, () => {
      signals += 1;
      if (signals === 1) {
        begin(signal);
        return;
      }
      options.log(`marketgraph: ${signal} again: exiting now`);
      options.exit(128 + (constants.signals[signal] ?? 0));
    });
  }
  return {
    stop: begin,
    get stopping() {
      return stopping;
    },
  };
}
