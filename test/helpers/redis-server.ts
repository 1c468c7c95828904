import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

/**
 * A loopback port nothing listens on (at the moment of asking), picked below the kernel's ephemeral range.
 * A port from that range can be taken between asking and binding by any outgoing connection, and a client
 * that keeps reconnecting to a closed one (ioredis while its server is down) can connect to itself on it
 * (TCP simultaneous open), so the server the test starts later finds it in use.
 */
export async function freePort(): Promise<number> {
  const below = ephemeralRangeStart();
  const low = Math.max(1024, below - 20_000);
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const port = low + Math.floor(Math.random() * (below - low));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free loopback port in ${low}-${below - 1}`);
}

function ephemeralRangeStart(): number {
  try {
    const first = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
    );
    if (Number.isInteger(first) && first > 2048) return first;
  } catch {
    // Not Linux: the IANA dynamic range is the usual one.
  }
  return 49152;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
