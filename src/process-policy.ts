// The last resort for errors nothing else handled. Every known failure (a provider, Redis, a socket)
// is handled where it happens; what reaches here is a bug, and it is never silent:
//   unhandledRejection  one line, and the process keeps serving. A promise nobody awaited has no
//                       caller left to fail, and the state it leaves behind is that promise's own.
//   uncaughtException   one line, then a bounded clean shutdown and exit code 1. A throw that unwound
//                       an arbitrary stack may have left any shared state half-updated; a supervisor
//                       restarting the process is safer than serving from it.

export interface ProcessLike {
  on(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
  on(event: 'uncaughtException', listener: (error: Error) => void): unknown;
}

export interface ProcessPolicyDeps {
  process: ProcessLike;
  /** Writes one line (stderr in main). */
  log: (line: string) => void;
  /** Stops serving (close the gateway); bounded by `shutdownMs`. */
  shutdown?: () => Promise<void>;
  exit: (code: number) => void;
  shutdownMs?: number;
}

export const UNCAUGHT_EXIT_CODE = 1;

export function installProcessPolicy(deps: ProcessPolicyDeps): void {
  let exiting = false;
  deps.process.on('unhandledRejection', (reason) => {
    deps.log(`marketgraph: unhandled rejection (still serving): ${describe(reason)}`);
  });
  deps.process.on('uncaughtException', (error) => {
    deps.log(`marketgraph: uncaught exception, exiting with code ${UNCAUGHT_EXIT_CODE}: ${describe(error)}`);
    if (exiting) return;
    exiting = true;
    const exit = () => deps.exit(UNCAUGHT_EXIT_CODE);
    if (!deps.shutdown) return exit();
    const timer = setTimeout(exit, deps.shutdownMs ?? 3_000);
    timer.unref?.();
    deps.shutdown().then(exit, exit);
  });
}

/** Name, message and the first stack frame, on one line. */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return oneLine(String(error));
  const frame = error.stack
    ?.split('\n')
    .find((line) => line.trimStart().startsWith('at '))
    ?.trim();
  return oneLine(`${error.name}: ${error.message}${frame ? ` (${frame})` : ''}`);
}

function oneLine(text: string): string {
  const flat = text.replace(/\s*\n\s*/g, ' ');
  return flat.length > 500 ? `${flat.slice(0, 500)}…` : flat;
}
