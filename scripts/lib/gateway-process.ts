import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { UPSTREAMS, type UpstreamName } from '../../src/config.js';
import { GATEWAY_NODE_FLAGS } from '../../src/node-flags.js';
import { SANDBOX_KEYS } from '../../src/sandbox/dialects.js';
import type { Sandbox } from '../../src/sandbox/server.js';

// Gateway *processes*, for the tests that need more than one (shared Redis, shared quotas) and for the
// benchmarks: each runs `node <GATEWAY_NODE_FLAGS> --import tsx src/main.ts` — what `npm start` runs
// (or `dist/main.js`, what `npm run start:prod` runs) —
// in its own process group, is ready when main prints its URL, and is stopped by signalling the whole
// group (also when this process exits). The environment is built from scratch (PATH and HOME only), so
// nothing from the developer's shell (a real key, a REDIS_URL) leaks into a test or a benchmark.

/** A GraphQL answer as the tests read it: HTTP status and the parsed body. */
export interface GraphQLResponse<T> {
  status: number;
  body: {
    data?: T;
    errors?: Array<{ message: string; path?: unknown[]; extensions?: Record<string, unknown> }>;
  };
}

export interface GatewayProcess {
  /** http://127.0.0.1:PORT/graphql */
  url: string;
  /** http://127.0.0.1:PORT */
  origin: string;
  pid: number;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** POSTs a GraphQL operation over the socket. */
  query<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<GraphQLResponse<T>>;
  /** SIGTERM to the process group, SIGKILL if it is still there after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** Sends `signal` to the gateway process alone (what a process manager does), not its group. */
  signal(signal: NodeJS.Signals): void;
  /** Settles when the process has exited: its exit code, or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SpawnGatewayOptions {
  /** Extra MARKETGRAPH_* / REDIS_URL variables. */
  env?: Record<string, string>;
  /** Command-line flags after `src/main.ts`; default `--profile live --port 0` (plus `--workers N`). */
  args?: string[];
  /** Gateway processes (`--workers N`); default 1, no flag. */
  workers?: number;
  /** Node flags before `--import tsx` (e.g. `--cpu-prof`), after the gateway's own. */
  nodeFlags?: readonly string[];
  /** The gateway's own Node flags; default GATEWAY_NODE_FLAGS (what `npm start` passes). */
  gatewayFlags?: readonly string[];
  /**
   * What runs: 'source' (default) is `npm start`'s `--import tsx src/main.ts`; 'build' is
   * `npm run start:prod`'s `dist/main.js` (run `npm run build` first).
   */
  entry?: GatewayEntry;
  readyTimeoutMs?: number;
  /** Also write the process's stderr here as it comes (benchmarks show the gateway's complaints). */
  onStderr?: (chunk: string) => void;
}

export type GatewayEntry = 'source' | 'build';

/** The node arguments that load the gateway: TypeScript through tsx, or the compiled build. */
export function entryArgs(entry: GatewayEntry): string[] {
  return entry === 'build' ? ['dist/main.js'] : ['--import', 'tsx', 'src/main.ts'];
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const READY = /GraphiQL, HTTP, SSE\s+(http:\/\/\S+\/graphql)/;

/**
 * Env that points every provider of the live profile at the sandbox (URL, WebSocket URL, demo key)
 * and turns off the ones the sandbox does not run, so a live-profile process never leaves loopback.
 */
export function sandboxProviderEnv(
  sandbox: Sandbox,
  upstreams: readonly UpstreamName[] = UPSTREAMS,
  options: { rpm?: number } = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of upstreams) {
    const prefix = `MARKETGRAPH_${name.toUpperCase()}`;
    const endpoint = sandbox.endpoints[name];
    // The benchmarks raise the gateway's own quota buckets so they measure the gateway, not a shed.
    if (options.rpm !== undefined) env[`${prefix}_RPM`] = String(options.rpm);
    if (!endpoint) {
      env[`${prefix}_ENABLED`] = 'false';
      // Even disabled, a provider gets a loopback URL: nothing may default to the real host.
      env[`${prefix}_URL`] = 'http://127.0.0.1:9/disabled';
      continue;
    }
    env[`${prefix}_URL`] = endpoint.url;
    if (endpoint.wsUrl) env[`${prefix}_WS_URL`] = endpoint.wsUrl;
    const key = SANDBOX_KEYS[name];
    if (key) env[`${prefix}_KEY`] = key;
  }
  return env;
}

export async function spawnGateway(options: SpawnGatewayOptions = {}): Promise<GatewayProcess> {
  const args = [
    ...(options.args ?? ['--profile', 'live', '--port', '0']),
    ...(options.workers && options.workers > 1 ? ['--workers', String(options.workers)] : []),
  ];
  const flags = [...(options.gatewayFlags ?? GATEWAY_NODE_FLAGS), ...(options.nodeFlags ?? [])];
  const child = spawn(process.execPath, [...flags, ...entryArgs(options.entry ?? 'source'), ...args], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      MARKETGRAPH_LOG_LEVEL: 'warn',
      // The live profile requires a key by default; the tests and benchmarks that spawn it are about
      // other things and pass MARKETGRAPH_AUTH (and a keys file) themselves when auth is the point.
      MARKETGRAPH_AUTH: 'off',
      ...options.env,
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
    options.onStderr?.(chunk);
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const exited = exit.then(({ code }) => code);
  // A runner that dies (an exception, Ctrl-C) must not leave gateways behind.
  const killOnExit = () => killGroup(child, 'SIGKILL');
  process.once('exit', killOnExit);

  const url = await waitForReady(child, () => output, exited, options.readyTimeoutMs ?? 15_000).catch(
    async (error: unknown) => {
      killGroup(child, 'SIGKILL');
      process.removeListener('exit', killOnExit);
      throw error;
    },
  );
  const origin = new URL(url).origin;

  return {
    url,
    origin,
    pid: child.pid!,
    output: () => output,
    async query(query, variables) {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
        },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, body: await response.json() };
    },
    async stop(graceMs = 5_000) {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    signal(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    exited: exit,
  };
}

function waitForReady(
  child: ChildProcess,
  output: () => string,
  exited: Promise<number | null>,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      const match = READY.exec(output());
      if (match) {
        clearInterval(timer);
        resolve(match[1]!);
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(timer);
        reject(new Error(`gateway process ${child.pid} not ready after ${timeoutMs} ms:\n${output()}`));
      }
    }, 25);
    void exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`gateway process exited with ${code} before it was ready:\n${output()}`));
    });
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}
