import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { readExitedChildrenCpuMs } from './processes.js';

// wrk (the Debian package `wrk`) for a server that answers every request with the same bytes: the
// race's hello-world ceiling, which autocannon cannot saturate. wrk runs on one thread in this
// process's CPU set. Its answers are checked by status (wrk counts non-2xx) and by the exact byte
// count that scripts/bench/wrk-summary.lua prints: all answers being the same bytes, the bytes read
// must be the answers times one answer's size, plus at most one partial answer per connection still
// arriving when the run stopped. A per-answer Lua check would make wrk the bottleneck.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface WrkResult {
  requests: number;
  durationS: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  /** Answers the byte count does not account for (0 when every answer had the expected size). */
  badAnswers: number;
  socketErrors: number;
  /** wrk's own CPU time, ms. */
  cpuMs: number;
}

export function hasWrk(): boolean {
  // `wrk -v` prints its version and exits 1; only a missing binary fails to spawn.
  return spawnSync('wrk', ['-v'], { stdio: 'ignore' }).error === undefined;
}

/** Drives `url` with wrk; `answerBytes` is the size of one full answer (see rawAnswer). */
export async function runWrk(
  url: string,
  options: { connections: number; durationS: number; answerBytes: number },
): Promise<WrkResult> {
  const childrenBefore = readExitedChildrenCpuMs();
  const args = [
    '-t1',
    `-c${options.connections}`,
    `-d${options.durationS}s`,
    '--latency',
    '-s',
    'scripts/bench/wrk-summary.lua',
    url,
  ];
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn('wrk', args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(text) : reject(new Error(`wrk exited with ${code}:\n${text}`)),
    );
  });
  // Read after 'exit': the child has been waited for, so its CPU time is in this process's cutime.
  const cpuMs = readExitedChildrenCpuMs() - childrenBefore;
  return { ...parseWrkOutput(output, options.connections, options.answerBytes), cpuMs };
}

/** wrk's report with --latency and wrk-summary.lua's totals line, checked against the answer size. */
export function parseWrkOutput(
  output: string,
  connections: number,
  answerBytes: number,
): Omit<WrkResult, 'cpuMs'> {
  const totalsLine = /^\{"requests":.*\}$/m.exec(output)?.[0];
  if (!totalsLine) throw new Error(`wrk output without wrk-summary.lua's totals line:\n${output}`);
  const totals = JSON.parse(totalsLine) as Record<
    'requests' | 'bytes' | 'status' | 'connect' | 'read' | 'write' | 'timeout',
    number
  >;
  const extra = totals.bytes - totals.requests * answerBytes;
  const accounted = extra >= 0 && extra < connections * answerBytes;
  return {
    requests: totals.requests,
    durationS: readDurationS(output),
    p50Ms: readPercentileMs(output, 50),
    p99Ms: readPercentileMs(output, 99),
    non2xx: totals.status,
    badAnswers: accounted ? 0 : Math.max(1, Math.round(Math.abs(extra) / answerBytes)),
    socketErrors: totals.connect + totals.read + totals.write + totals.timeout,
  };
}

/** One raw HTTP/1.1 keep-alive GET, as wrk sends it: the full answer's size and its body. */
export function rawAnswer(url: string): Promise<{ bytes: number; body: string }> {
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let data = Buffer.alloc(0);
    socket.once('error', reject);
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const end = data.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = data.subarray(0, end).toString('latin1');
      const length = Number(/^content-length:\s*(\d+)/im.exec(head)?.[1]);
      if (!Number.isFinite(length)) {
        socket.destroy();
        reject(new Error(`answer without content-length: ${head}`));
        return;
      }
      if (data.length < end + 4 + length) return;
      socket.destroy();
      resolve({ bytes: end + 4 + length, body: data.subarray(end + 4, end + 4 + length).toString('utf8') });
    });
    socket.write(`GET ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`);
  });
}

function readPercentileMs(output: string, percentile: number): number {
  const match = new RegExp(`^\\s+${percentile}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(output);
  if (!match) throw new Error(`wrk output without the ${percentile}% latency:\n${output}`);
  const value = Number(match[1]);
  return match[2] === 'us' ? value / 1000 : match[2] === 's' ? value * 1000 : value;
}

function readDurationS(output: string): number {
  const match = /\d+ requests in ([\d.]+)(ms|s|m)\b/.exec(output);
  if (!match) throw new Error(`wrk output without its duration:\n${output}`);
  const value = Number(match[1]);
  return match[2] === 'ms' ? value / 1000 : match[2] === 'm' ? value * 60 : value;
}
