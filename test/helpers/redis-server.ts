import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';

// A private redis-server for tests that take Redis away: on a free loopback port, nothing persisted,
// killed (SIGKILL, no goodbye) and started again on the same port as the test says. It is never the
// shared Redis, and it dies with the test process.

export interface PrivateRedis {
  url: string;
  port: number;
  /** Whether the server is running now. */
  running(): boolean;
  /** SIGKILL: connections drop at once, as in a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: nothing was persisted). */
  start(): Promise<void>;
  /** SIGSTOP: connections stay open and nothing is answered, as with a hung server. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Kills it for good. */
  close(): Promise<void>;
}

/** `running: false` reserves the port and leaves the server stopped until `start()`. */
export async function startPrivateRedis(options: { running?: boolean } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  async function start() {
    if (child) return;
    const proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir()],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`redis-server on port ${port} not ready after 5 s:\n${output}`));
      }, 5_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', onData);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        if (child === proc) child = undefined;
        reject(new Error(`redis-server on port ${port} exited with ${code}:\n${output}`));
      });
      proc.once('error', (error) => {
        clearTimeout(timer);
        if (child === proc) child = undefined;
        reject(error);
      });
    });
  }

  async function kill() {
    const proc = child;
    if (!proc) return;
    child = undefined;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGCONT');
    proc.kill('SIGKILL');
    await exited;
  }

  if (options.running !== false) await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    running: () => child !== undefined,
    kill,
    start,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    async close() {
      process.removeListener('exit', killOnExit);
      await kill();
    },
  };
}

/** A loopback port nothing listens on (at the moment of asking). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
