import type { Cluster, Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startPrimary, type WorkerMessage, workerEnvironment } from '../src/workers.js';

// The cluster primary on a stand-in cluster and clock: ready when every worker listens, a worker that
// dies is replaced after a growing backoff, a worker that fails before the first start stops the start,
// and stop() drains every worker by message. The real processes: test/gateway/lifecycle.test.ts.

class FakeWorker extends EventEmitter {
  sent: WorkerMessage[] = [];
  killed: string[] = [];
  process: { pid: number; kill: (signal: string) => void };
  constructor(pid: number) {
    super();
    this.process = { pid, kill: (signal) => this.killed.push(signal) };
  }
  isConnected() {
    return true;
  }
  send(message: WorkerMessage) {
    this.sent.push(message);
    return true;
  }
}

function fakeCluster() {
  const events = new EventEmitter();
  const forked: Array<{ worker: FakeWorker; env: Record<string, string> }> = [];
  let pid = 100;
  const cluster = {
    fork: (env: Record<string, string>) => {
      const worker = new FakeWorker(++pid);
      forked.push({ worker, env });
      return worker as unknown as Worker;
    },
    on: (event: string, listener: (...args: unknown[]) => void) => events.on(event, listener),
  } as unknown as Pick<Cluster, 'fork' | 'on'>;
  return {
    cluster,
    forked,
    listen: (w: FakeWorker, port = 4000) => events.emit('listening', w, { port }),
    exit: (w: FakeWorker, code: number | null, signal: string | null = null) =>
      events.emit('exit', w, code, signal),
  };
}

let now = 0;
beforeEach(() => {
  vi.useFakeTimers();
  now = 0;
});
afterEach(() => {
  vi.useRealTimers();
});

function primary(env: Record<string, string> = {}) {
  const fake = fakeCluster();
  const config = loadConfig({
    env: { MARKETGRAPH_WORKERS: '2', MARKETGRAPH_SHUTDOWN_GRACE_MS: '1000', ...env },
  });
  const ready: Array<{ port: number; pids: number[] }> = [];
  const lines: string[] = [];
  const p = startPrimary({
    config,
    cluster: fake.cluster,
    workerEnv: { MARKETGRAPH_SANDBOX_ENDPOINTS: '{}' },
    ready: (port, pids) => ready.push({ port, pids }),
    log: (line) => lines.push(line),
    now: () => now,
  });
  return { ...fake, p, ready, lines };
}

describe('the setting', () => {
  it('comes from --workers or MARKETGRAPH_WORKERS, 1 to 64', () => {
    expect(loadConfig({ env: {} }).workers).toBe(1);
    expect(loadConfig({ env: { MARKETGRAPH_WORKERS: '2' }, argv: ['--workers', '3'] }).workers).toBe(3);
    expect(() => loadConfig({ argv: ['--workers', '0'] })).toThrow(
      /^--workers: must be a whole number from 1 to 64, got "0"$/,
    );
  });
});

describe('workerEnvironment', () => {
  it('splits each provider budget between the workers without Redis, and leaves it whole with it', () => {
    const alone = workerEnvironment(loadConfig({ env: { MARKETGRAPH_WORKERS: '4' } }));
    expect(alone.MARKETGRAPH_COINGECKO_RPM).toBe('7');
    expect(alone.MARKETGRAPH_BINANCE_RPM).toBe('300');
    const tiny = workerEnvironment(
      loadConfig({ env: { MARKETGRAPH_WORKERS: '4', MARKETGRAPH_MEMPOOL_RPM: '2' } }),
    );
    expect(tiny.MARKETGRAPH_MEMPOOL_RPM).toBe('1');
    const shared = workerEnvironment(
      loadConfig({ env: { MARKETGRAPH_WORKERS: '4', REDIS_URL: 'redis://127.0.0.1:6379' } }),
    );
    expect(shared).toEqual({});
  });
});

describe('startPrimary', () => {
  it('forks N workers with the shared environment and is ready when all of them listen', async () => {
    const h = primary();
    expect(h.forked).toHaveLength(2);
    expect(h.forked[0]!.env).toMatchObject({
      MARKETGRAPH_SANDBOX_ENDPOINTS: '{}',
      MARKETGRAPH_COINGECKO_RPM: '15',
    });
    h.listen(h.forked[0]!.worker);
    expect(h.ready).toEqual([]);
    h.listen(h.forked[1]!.worker);
    await h.p.started;
    expect(h.ready).toEqual([{ port: 4000, pids: [101, 102] }]);
  });

  it('replaces a worker that died, after a backoff that grows and resets once workers live long', async () => {
    const h = primary();
    for (const { worker } of h.forked) h.listen(worker);
    await h.p.started;
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const before = h.forked.length;
      h.exit(h.forked.at(-1)!.worker, null, 'SIGKILL');
      let waited = 0;
      while (h.forked.length === before) {
        vi.advanceTimersByTime(50);
        waited += 50;
      }
      delays.push(waited);
    }
    expect(delays).toEqual([250, 500, 1000, 2000]);
    expect(h.lines[0]).toMatch(/^marketgraph: worker 102 exited \(SIGKILL\); starting another in 250 ms$/);
    now += 30_000;
    h.exit(h.forked.at(-1)!.worker, 1);
    expect(h.lines.at(-1)).toMatch(/code 1\); starting another in 250 ms$/);
  });

  it("fails the start with the first worker's reason when one exits before the cluster was ready", async () => {
    const h = primary();
    const [a, b] = h.forked.map((f) => f.worker) as [FakeWorker, FakeWorker];
    a.emit('message', {
      type: 'startup-failed',
      reason: 'cannot listen on 127.0.0.1:4000: busy (EADDRINUSE)',
    });
    h.exit(a, 1);
    await expect(h.p.started).rejects.toThrow('cannot listen on 127.0.0.1:4000: busy (EADDRINUSE)');
    expect(b.killed).toEqual(['SIGKILL']);
    vi.advanceTimersByTime(20_000);
    expect(h.forked).toHaveLength(2);
  });

  it('asks every worker to drain and says whether all of them exited 0', async () => {
    const h = primary();
    for (const { worker } of h.forked) h.listen(worker);
    await h.p.started;
    const [a, b] = h.forked.map((f) => f.worker) as [FakeWorker, FakeWorker];
    const stopped = h.p.stop();
    expect(a.sent).toEqual([{ type: 'shutdown' }]);
    expect(b.sent).toEqual([{ type: 'shutdown' }]);
    h.exit(a, 0);
    h.exit(b, 0);
    expect(await stopped).toBe(true);
    vi.advanceTimersByTime(20_000);
    expect(h.forked).toHaveLength(2);
  });

  it('kills workers still running past their grace and reports the stop as unclean', async () => {
    const h = primary();
    for (const { worker } of h.forked) h.listen(worker);
    await h.p.started;
    const [a, b] = h.forked.map((f) => f.worker) as [FakeWorker, FakeWorker];
    const stopped = h.p.stop();
    h.exit(a, 0);
    vi.advanceTimersByTime(1_000 + 5_000);
    expect(b.killed).toEqual(['SIGKILL']);
    h.exit(b, null, 'SIGKILL');
    expect(await stopped).toBe(false);
  });
});
