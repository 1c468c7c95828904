import type { ChildProcess } from 'node:child_process';
import { spawnPinned } from './processes.js';

// A server under test that is not the gateway (a peer, the ceiling, the sandbox on its own): `node
// <args>` in its own process group, pinned to one CPU where taskset exists, with an environment built
// from scratch (PATH and HOME only), ready once `ready` finds what it needs in its output, stopped by
// signalling the group (also when this process exits). The gateway has its own spawner
// (scripts/lib/gateway-process.ts), shared with the tests.

export interface ServerProcess {
  pid: number;
  /** What `ready` returned: typically the server's URL. */
  address: string;
  output(): string;
  /** SIGTERM to the process group, SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface ServerProcessOptions {
  /** Node arguments, e.g. ['--import', 'tsx', 'scripts/bench/peers/ceiling-http.ts']. */
  args: string[];
  env?: Record<string, string>;
  cpu?: number;
  /** Returns the address once the output shows the server is ready, else undefined. */
  ready(output: string): string | undefined;
  readyTimeoutMs?: number;
}

export async function spawnServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env };
  const args = options.args;
  const child = spawnPinned(options.cpu, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const kill = () => signalGroup(child, 'SIGKILL');
  process.once('exit', kill);
  let output = '';
  const append = (chunk: string) => {
    output = (output + chunk).slice(-20_000);
  };
  child.stdout!.setEncoding('utf8').on('data', append);
  child.stderr!.setEncoding('utf8').on('data', append);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const timeoutMs = options.readyTimeoutMs ?? 20_000;
  const address = await new Promise<string>((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      const found = options.ready(output);
      if (found !== undefined) {
        clearInterval(timer);
        resolve(found);
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(timer);
        reject(new Error(`${args.join(' ')}: not ready after ${timeoutMs} ms:\n${output}`));
      }
    }, 25);
    void exited.then(() => {
      clearInterval(timer);
      reject(new Error(`${args.join(' ')}: exited before it was ready:\n${output}`));
    });
  }).catch((error: unknown) => {
    kill();
    process.removeListener('exit', kill);
    throw error;
  });
  return {
    pid: child.pid!,
    address,
    output: () => output,
    async stop(graceMs = 5_000) {
      process.removeListener('exit', kill);
      if (child.exitCode !== null || child.signalCode !== null) return;
      signalGroup(child, 'SIGTERM');
      const timer = setTimeout(kill, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals) {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}
