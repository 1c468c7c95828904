import { type ChildProcess, spawn } from 'node:child_process';
import { get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createClient } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type GatewayProcess, sandboxProviderEnv, spawnGateway } from '../../scripts/lib/gateway-process.js';
import { GATEWAY_NODE_FLAGS } from '../../src/node-flags.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';
import { waitFor } from '../helpers/clients.js';

// Issue #13, process lifecycle, on real gateway processes (scripts/lib/gateway-process.ts: what
// `npm start` runs) over a loopback sandbox in this process. SIGTERM lets a query in flight finish
// with its data, ends SSE and graphql-ws subscriptions with their protocol's `complete` (WebSockets
// then close with 1001), refuses new connections, and the process exits 0; past the grace period what
// is left is cut (exit 1); a second signal exits at once. `npm start` passes SIGTERM on. A port in use
// is one line on stderr. With --workers 2 two processes answer on one port, a killed one is replaced,
// and the sandbox runs once, in the primary.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PRICES = 'subscription ($ids: [ID!]!) { priceUpdated(assetIds: $ids) { assetId value asOf } }';
/** One coins/markets call that nothing else in these tests makes (EUR). */
const SLOW_QUERY = '{ asset(id: "ethereum") { market(currency: EUR) { price } } }';

let sandbox: Sandbox;
const running: GatewayProcess[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({ quotas: false, providers: ['coingecko'] });
});

afterEach(async () => {
  sandbox.faults.clear();
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

afterAll(async () => {
  await sandbox?.close();
});

async function gateway(env: Record<string, string> = {}): Promise<GatewayProcess> {
  const p = await spawnGateway({ env: { ...sandboxProviderEnv(sandbox, ['coingecko']), ...env } });
  running.push(p);
  return p;
}

/** Holds coins/markets for `latencyMs` (or forever), once; resolves when that call is in the sandbox. */
function slowMarkets(kind: 'latency' | 'hang', latencyMs = 0) {
  sandbox.faults.set('coingecko', 'coins/markets', { kind, latencyMs, times: 1 });
  return waitFor(() => sandbox.faults.list().length === 0, 10_000, 'the slow call to reach the sandbox');
}

function post(url: string, query: string) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query }),
  });
}

/** An SSE subscription read as raw text (events and the final `complete`). */
function sse(url: string, query: string, variables: Record<string, unknown>) {
  let text = '';
  const ended = (async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query, variables }),
    });
    const decoder = new TextDecoder();
    const reader = response.body!.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      text += decoder.decode(value, { stream: true });
    }
  })();
  return { text: () => text, ended };
}

function health(origin: string): Promise<{ pid: number }> {
  // A new connection per request: the cluster hands connections, not requests, to workers.
  return new Promise((resolve, reject) => {
    get(`${origin}/health`, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve(JSON.parse(body)));
    }).on('error', reject);
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('SIGTERM', () => {
  it('lets an in-flight query finish, completes SSE and graphql-ws subscribers, refuses new connections, exits 0', async () => {
    const gw = await gateway();
    const events = sse(gw.url, PRICES, { ids: ['bitcoin'] });
    // Not lazy: the client would close the socket itself (1000) once its last subscription completed.
    const client = createClient({
      url: gw.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: false,
      // The server closing the socket is what this test waits for, not an error to print.
      onNonLazyError: () => undefined,
    });
    const ws = { next: 0, completed: false, error: undefined as unknown, closeCode: 0 };
    client.on('closed', (event) => {
      ws.closeCode = (event as { code: number }).code;
    });
    client.subscribe(
      { query: PRICES, variables: { ids: ['bitcoin'] } },
      {
        next: () => {
          ws.next++;
        },
        error: (error) => {
          ws.error = error;
        },
        complete: () => {
          ws.completed = true;
        },
      },
    );
    await waitFor(() => ws.next > 0 && events.text().includes('event: next'), 10_000, 'first events');

    const reached = slowMarkets('latency', 1_500);
    const answer = post(gw.url, SLOW_QUERY);
    await reached;
    gw.signal('SIGTERM');

    // Stop accepting: the listening socket is closed while the query is still running.
    await waitFor(() => gw.output().includes('SIGTERM'), 5_000, 'the shutdown line');
    // Refused; or reset, when it was accepted just before the listener closed (the line above is
    // printed first) and the drain closed it before serving it: either way it is never answered.
    await expect(health(gw.origin)).rejects.toMatchObject({
      code: expect.stringMatching(/^ECONN(REFUSED|RESET)$/),
    });

    const response = await answer;
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.errors).toBeUndefined();
    expect(body.data.asset.market.price).toBeGreaterThan(0);

    await events.ended;
    expect(events.text()).toMatch(/event: complete\ndata:\s*\n\n$/);
    await waitFor(() => ws.closeCode !== 0, 5_000, 'the WebSocket to close');
    expect(ws.completed).toBe(true);
    expect(ws.error).toBeUndefined();
    expect(ws.closeCode).toBe(1001);

    expect(await gw.exited).toEqual({ code: 0, signal: null });
  });

  it('cuts what is still running when the grace period is over, and exits 1', async () => {
    // The cut request's upstream call is aborted, not waited for: with a deadline longer than the
    // test's timeout, the process still exits.
    const gw = await gateway({
      MARKETGRAPH_SHUTDOWN_GRACE_MS: '300',
      MARKETGRAPH_UPSTREAM_DEADLINE_MS: '60000',
    });
    const reached = slowMarkets('hang');
    const answer = post(gw.url, SLOW_QUERY).then(
      (r) => r.status,
      () => 'cut',
    );
    await reached;
    gw.signal('SIGTERM');
    expect(await answer).toBe('cut');
    expect(await gw.exited).toEqual({ code: 1, signal: null });
    expect(gw.output()).toContain('grace period over');
  });

  it('exits at once on a second signal (128 + its number)', async () => {
    const gw = await gateway({ MARKETGRAPH_SHUTDOWN_GRACE_MS: '60000' });
    const reached = slowMarkets('hang');
    const answer = post(gw.url, SLOW_QUERY).catch(() => undefined);
    await reached;
    gw.signal('SIGTERM');
    await waitFor(() => gw.output().includes('SIGTERM'), 5_000, 'the shutdown line');
    gw.signal('SIGINT');
    expect(await gw.exited).toEqual({ code: 130, signal: null });
    await answer;
  });

  it('reaches the gateway through npm start', async () => {
    const npm = spawn('npm', ['start', '--', '--port', '0'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', MARKETGRAPH_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
    try {
      const origin = await readyOrigin(npm);
      const { pid } = await health(origin);
      expect(pid).not.toBe(npm.pid);
      npm.kill('SIGTERM');
      expect(await exited).toBe(0);
      await waitFor(() => !alive(pid), 5_000, `gateway ${pid} to exit`);
    } finally {
      npm.kill('SIGKILL');
    }
  }, 40_000);
});

describe('startup', () => {
  let blocker: Server;
  afterEach(() => new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve())));

  it('says in one line that the port is in use, and exits 1', async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    // Auth off: the live profile's required auth without keys would log a warning line on stdout.
    const result = await run(['--profile', 'live', '--port', String(port)], {
      ...sandboxProviderEnv(sandbox, ['coingecko']),
      MARKETGRAPH_AUTH: 'off',
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      `marketgraph: failed to start: cannot listen on 127.0.0.1:${port}: the port is in use (another process listens on it) (EADDRINUSE)`,
    ]);
  });

  it('answers --version and --help and exits 0', async () => {
    const [version, help] = await Promise.all([run(['--version']), run(['--help', '--port', 'not-a-port'])]);
    expect(version).toMatchObject({ code: 0, stderr: '' });
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toMatch(/^Usage: marketgraph /);
    expect(help.stdout).toMatch(/MARKETGRAPH_SHUTDOWN_GRACE_MS +.*\(default: 10000\)/);
    expect(help.stdout).toMatch(/MARKETGRAPH_WORKERS, --workers +/);
  });
});

describe('--workers 2', () => {
  it('answers from two processes on one port, replaces a killed one, runs one sandbox, exits 0 on SIGTERM', async () => {
    // The sandbox profile: its sandbox runs in the primary and the workers call it.
    const gw = await spawnGateway({ args: ['--port', '0'], workers: 2, readyTimeoutMs: 60_000 });
    running.push(gw);
    expect(gw.output().match(/sandbox admin/g)).toHaveLength(1);
    const admin = /sandbox admin\s+(\S+)/.exec(gw.output())![1]!;
    const pids = new Set<number>();
    for (let i = 0; i < 20 && pids.size < 2; i++) pids.add((await health(gw.origin)).pid);
    expect(pids.size).toBe(2);
    expect(pids.has(gw.pid)).toBe(false);

    // Each worker answers with data through the primary's sandbox.
    const answers = await Promise.all(
      [0, 1].map(() => post(gw.url, '{ assets(first: 2) { edges { node { id } } } }')),
    );
    for (const a of answers) expect((await a.json()).data.assets.edges).toHaveLength(2);
    const counts = (await (await fetch(`${admin}/counts`)).json()) as Record<string, Record<string, number>>;
    expect(counts.coingecko?.['coins/markets']).toBeGreaterThan(0);

    const [victim, survivor] = [...pids] as [number, number];
    process.kill(victim, 'SIGKILL');
    await waitFor(() => gw.output().includes(`worker ${victim} exited`), 10_000, 'the primary to notice');
    for (let i = 0; i < 5; i++) expect(await health(gw.origin)).toMatchObject({ pid: expect.any(Number) });
    const seen = new Set<number>();
    const deadline = Date.now() + 40_000;
    while (![...seen].some((pid) => pid !== survivor) && Date.now() < deadline) {
      seen.add((await health(gw.origin)).pid);
    }
    expect([...seen].some((pid) => pid !== survivor)).toBe(true);
    expect(seen.has(victim)).toBe(false);

    const workers = [survivor, ...[...seen].filter((pid) => pid !== survivor)];
    gw.signal('SIGTERM');
    expect(await gw.exited).toEqual({ code: 0, signal: null });
    for (const pid of workers) expect(alive(pid)).toBe(false);
  }, 120_000);
});

function readyOrigin(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`not ready within 30 s:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /GraphiQL, HTTP, SSE\s+(http:\/\/\S+)\/graphql/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  });
}

/** Runs `node … src/main.ts <args>` to its end. */
function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [...GATEWAY_NODE_FLAGS, '--import', 'tsx', 'src/main.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}
