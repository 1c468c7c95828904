import type { Cluster, Worker } from 'node:cluster';
import type { Config } from './config.js';
import { UPSTREAMS } from './config.js';

// `--workers N`: a node:cluster primary that forks N gateway processes sharing one port (the primary
// holds the listening socket and hands connections out round-robin) and serves nothing itself.
// - Shared state is Redis (REDIS_URL): cache, quota buckets, live events and stream leases. Without it
//   each worker has its own cache and live streams, and each provider's requests-per-minute budget is
//   split between the workers (MARKETGRAPH_<P>_RPM ÷ N each), so together they stay inside it.
// - The sandbox profile's sandbox runs once, in the primary; workers get its addresses in
//   MARKETGRAPH_SANDBOX_ENDPOINTS (set by the primary, read by main.ts).
// - A worker that dies is forked again after a backoff (doubling from 250 ms to 10 s, back to the start
//   once a worker has lived 30 s). A worker that fails before the cluster was ever ready (a busy port)
//   stops the whole start: its one-line reason is printed once and the primary exits 1.
// - SIGTERM/SIGINT to the primary: every worker is asked to drain (a message, not a signal, so a signal
//   sent to the whole process group does not count twice), the primary exits when all have, 0 if all
//   drained cleanly. A second signal exits at once (the workers go with it: a worker whose primary is
//   gone exits).

/** Messages between the primary and a worker, over the cluster's IPC channel. */
export type WorkerMessage = { type: 'shutdown' } | { type: 'startup-failed'; reason: string };

export const SANDBOX_ENDPOINTS_ENV = 'MARKETGRAPH_SANDBOX_ENDPOINTS';

export interface PrimaryDeps {
  config: Config;
  cluster: Pick<Cluster, 'fork' | 'on'>;
  /** Extra environment for every worker (the sandbox's addresses). */
  workerEnv?: Record<string, string>;
  /** Called once, when every worker listens. */
  ready(port: number, pids: number[]): void;
  log(line: string): void;
  now?: () => number;
}

export interface Primary {
  /** Resolves when every worker of the first generation listens; rejects with the first failure. */
  started: Promise<void>;
  /** Asks every worker to drain; resolves true when all exited 0 within their grace (+ a margin). */
  stop(): Promise<boolean>;
  pids(): number[];
}

const BACKOFF_BASE_MS = 250;
const BACKOFF_CAP_MS = 10_000;
const STABLE_AFTER_MS = 30_000;
/** How much longer than a worker's own grace the primary waits before it kills the worker. */
const STOP_MARGIN_MS = 5_000;

/**
 * The environment that makes N workers behave as one gateway: without Redis, each provider's budget
 * split between them.
 */
export function workerEnvironment(config: Config): Record<string, string> {
  const env: Record<string, string> = {};
  if (config.redisUrl) return env;
  for (const name of UPSTREAMS) {
    const rpm = Math.max(1, Math.floor(config.providers[name].rpm / config.workers));
    env[`MARKETGRAPH_${name.toUpperCase()}_RPM`] = String(rpm);
  }
  return env;
}

export function startPrimary(deps: PrimaryDeps): Primary {
  const { config, cluster, log } = deps;
  const now = deps.now ?? Date.now;
  const env = { ...workerEnvironment(config), ...deps.workerEnv };
  const workers = new Map<Worker, { startedAt: number }>();
  const listening = new Set<Worker>();
  let ready = false;
  let stopping = false;
  let crashes = 0;
  let failStart: (error: Error) => void = () => {};
  let resolveStart: () => void = () => {};
  const started = new Promise<void>((resolve, reject) => {
    resolveStart = resolve;
    failStart = reject;
  });
  const exits = new Set<(worker: Worker, code: number | null) => void>();
  let startupFailure: string | undefined;

  function fork() {
    const worker = cluster.fork(env);
    workers.set(worker, { startedAt: now() });
    worker.on('message', (message: WorkerMessage) => {
      if (message?.type === 'startup-failed') startupFailure ??= message.reason;
    });
  }

  cluster.on('listening', (worker, address) => {
    listening.add(worker);
    if (!ready && listening.size === config.workers) {
      ready = true;
      deps.ready(address.port, pids());
      resolveStart();
    }
  });

  cluster.on('exit', (worker, code, signal) => {
    const state = workers.get(worker);
    workers.delete(worker);
    listening.delete(worker);
    for (const listener of exits) listener(worker, code);
    if (stopping) return;
    if (!ready) {
      // A start that cannot work (the port, the configuration) would fail the same way again.
      stopping = true;
      for (const other of workers.keys()) other.process.kill('SIGKILL');
      failStart(new Error(startupFailure ?? `worker ${worker.process.pid} exited with ${signal ?? code}`));
      return;
    }
    const lived = state ? now() - state.startedAt : 0;
    if (lived >= STABLE_AFTER_MS) crashes = 0;
    const delay = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** crashes);
    crashes += 1;
    log(
      `marketgraph: worker ${worker.process.pid} exited (${signal ?? `code ${code}`}); starting another in ${delay} ms`,
    );
    setTimeout(() => {
      if (!stopping) fork();
    }, delay);
  });

  for (let i = 0; i < config.workers; i++) fork();

  function pids(): number[] {
    return [...workers.keys()].flatMap((w) => (w.process.pid === undefined ? [] : [w.process.pid]));
  }

  return {
    started,
    pids,
    stop() {
      stopping = true;
      const remaining = new Set(workers.keys());
      if (remaining.size === 0) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        let clean = true;
        const timer = setTimeout(() => {
          clean = false;
          for (const worker of remaining) worker.process.kill('SIGKILL');
        }, config.shutdownGraceMs + STOP_MARGIN_MS);
        exits.add((worker, code) => {
          if (!remaining.delete(worker)) return;
          if (code !== 0) clean = false;
          if (remaining.size === 0) {
            clearTimeout(timer);
            resolve(clean);
          }
        });
        for (const worker of remaining) {
          if (worker.isConnected()) worker.send({ type: 'shutdown' } satisfies WorkerMessage);
          else worker.process.kill('SIGTERM');
        }
      });
    },
  };
}
