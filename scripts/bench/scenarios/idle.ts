import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { loadConfig, UPSTREAMS } from '../../../src/config.js';
import { type Sandbox, startSandbox } from '../../../src/sandbox/server.js';
import { sandboxProviderEnv } from '../../lib/gateway-process.js';
import { canPin, readRssMb } from '../processes.js';
import type { StandaloneScenario } from '../scenario.js';
import { spawnServerProcess } from '../server-process.js';
import { RACE_QUERY, validateAssetsAnswer } from './race-answer.js';

// Idle memory ("Start lighter", docs/benchmarks.md): the resident set of a server process with
// nothing to do, for the commands an operator would run, next to a stock graphql-yoga. Each slot is a
// fresh process per round, rounds interleaved (the order rotates), each pinned to CPU 0:
// - `npm start`: the command of package.json's `start` (tsx; the sandbox profile, the default);
// - `start:prod`: the command of `start:prod` (the compiled dist/, built first), sandbox profile;
// - `start:prod live`: the same with `--profile live`, every provider at this runner's sandbox;
// - `yoga (tsx)` and `yoga (node)`: the race's stock graphql-yoga + response cache peer, run through
//   tsx as the race does, and transpiled to .bench-out/ and run with plain node.
// The commands are read from package.json, so this measures what the scripts run. Each process also
// gets `--expose-gc --import scripts/bench/gc-on-signal.mjs` (a SIGUSR2 listener that runs a full GC)
// so RSS can be read after a collection. Readings (MB, the process and its children, e.g. tsx's
// esbuild): 2 s after it is ready; 45 s after it is ready, nothing forced in between ("settled": V8's
// memory reducer returns the start's young-generation head-room by itself once the process has been
// idle for a while, which a forced GC this early does not); after a full GC; after 10 sequential
// 50-asset queries; after a GC.
// npm's own process (`npm start` keeps it as the gateway's parent) is not counted.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const READY = /GraphiQL, HTTP, SSE\s+(http:\/\/\S+\/graphql)/;
const PEER_READY = /^\{"url":"([^"]+)"\}$/m;
const SETTLE_MS = 2_000;
/** From ready to the settled reading. */
const SETTLED_MS = 45_000;
const GC_MS = 500;
const QUERIES = 10;
const MEASURE_FLAGS = ['--expose-gc', '--import', './scripts/bench/gc-on-signal.mjs'];

type SlotName = 'npm start' | 'start:prod' | 'start:prod live' | 'yoga (tsx)' | 'yoga (node)';
const SLOTS: readonly SlotName[] = [
  'npm start',
  'start:prod',
  'start:prod live',
  'yoga (tsx)',
  'yoga (node)',
];

interface Reading {
  round: number;
  slot: SlotName;
  idleMb: number;
  settledMb: number;
  idleGcMb: number;
  queriedMb: number;
  queriedGcMb: number;
  /** V8 heap after the last GC (the preload's figures). */
  heapUsedMb: number | undefined;
  heapTotalMb: number | undefined;
}

export const idle: StandaloneScenario = {
  kind: 'standalone',
  name: 'idle',
  description:
    'idle RSS (2 s and 45 s after ready): npm start, start:prod (sandbox and live profile), stock graphql-yoga; interleaved rounds',
  async run({ rounds }) {
    buildOnce();
    const peer = transpilePeer();
    const sandbox = await startSandbox({ quotas: false });
    const readings: Reading[] = [];
    try {
      for (let round = 1; round <= rounds; round++) {
        const order = SLOTS.map((_, i) => SLOTS[(i + round - 1) % SLOTS.length]!);
        for (const slot of order) {
          console.error(`idle: round ${round}/${rounds}, ${slot}`);
          readings.push(await measure(slot, round, sandbox, peer));
        }
      }
    } finally {
      await sandbox.close();
    }
    if (!canPin()) console.error('idle: taskset not found, nothing is pinned');
    return { text: format(readings), json: readings };
  },
};

/** The node arguments of a package.json script of the form `exec node <args>`. */
export function scriptNodeArgs(name: string): string[] {
  const pkg = JSON.parse(readFileSync(new URL('package.json', `file://${ROOT}`), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const script = pkg.scripts[name];
  const match = script ? /^exec node (.+)$/.exec(script) : null;
  if (!match) throw new Error(`package.json script ${name} is not "exec node ...": ${script}`);
  return match[1]!.split(/\s+/);
}

function buildOnce() {
  console.error('idle: npm run build');
  const { status, stdout, stderr } = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (status !== 0) throw new Error(`npm run build failed:\n${stdout}${stderr}`);
}

/** The peer as plain JavaScript in .bench-out/ (its imports resolve from the repository's node_modules). */
function transpilePeer(): string {
  const source = readFileSync(
    new URL('scripts/bench/peers/yoga-response-cache.ts', `file://${ROOT}`),
    'utf8',
  );
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  mkdirSync(new URL('.bench-out/', `file://${ROOT}`), { recursive: true });
  const path = '.bench-out/yoga-response-cache.mjs';
  writeFileSync(new URL(path, `file://${ROOT}`), outputText);
  return path;
}

function command(slot: SlotName, sandbox: Sandbox, peer: string) {
  const live = sandboxProviderEnv(sandbox, UPSTREAMS, { rpm: 1_000_000 });
  const peerEnv = {
    COINGECKO_URL: sandbox.endpoints.coingecko!.url,
    TTL_MS: String(loadConfig({ env: {} }).cache.ttl.price),
  };
  const gatewayEnv = { MARKETGRAPH_LOG_LEVEL: 'error' };
  switch (slot) {
    case 'npm start':
      return { args: [...scriptNodeArgs('start'), '--port', '0'], env: gatewayEnv, ready: READY };
    case 'start:prod':
      return { args: [...scriptNodeArgs('start:prod'), '--port', '0'], env: gatewayEnv, ready: READY };
    case 'start:prod live':
      return {
        args: [...scriptNodeArgs('start:prod'), '--profile', 'live', '--port', '0'],
        // Auth off: the live profile requires keys, and this slot measures memory, not identity.
        env: { ...gatewayEnv, ...live, MARKETGRAPH_AUTH: 'off' },
        ready: READY,
      };
    case 'yoga (tsx)':
      return {
        args: ['--import', 'tsx', 'scripts/bench/peers/yoga-response-cache.ts'],
        env: peerEnv,
        ready: PEER_READY,
      };
    case 'yoga (node)':
      return { args: [peer], env: peerEnv, ready: PEER_READY };
  }
}

async function measure(slot: SlotName, round: number, sandbox: Sandbox, peer: string): Promise<Reading> {
  const { args, env, ready } = command(slot, sandbox, peer);
  const server = await spawnServerProcess({
    args: [...MEASURE_FLAGS, ...args],
    env,
    cpu: 0,
    ready: (output) => ready.exec(output)?.[1],
    readyTimeoutMs: 30_000,
  });
  try {
    await sleep(SETTLE_MS);
    const idleMb = readRssMb(server.pid);
    await sleep(SETTLED_MS - SETTLE_MS);
    const settledMb = readRssMb(server.pid);
    const idleGcMb = await rssAfterGc(server.pid);
    for (let i = 0; i < QUERIES; i++) {
      const response = await fetch(server.address, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query: RACE_QUERY }),
      });
      const problem = validateAssetsAnswer(await response.text());
      if (problem) throw new Error(`idle: ${slot}: query ${i + 1}: ${problem}`);
    }
    const queriedMb = readRssMb(server.pid);
    const queriedGcMb = await rssAfterGc(server.pid);
    const heap = [...server.output().matchAll(/^gc-on-signal (\{.*\})$/gm)].at(-1)?.[1];
    const parsed = heap ? (JSON.parse(heap) as { heapUsed: number; heapTotal: number }) : undefined;
    return {
      round,
      slot,
      idleMb: round1(idleMb),
      settledMb: round1(settledMb),
      idleGcMb: round1(idleGcMb),
      queriedMb: round1(queriedMb),
      queriedGcMb: round1(queriedGcMb),
      heapUsedMb: parsed?.heapUsed,
      heapTotalMb: parsed?.heapTotal,
    };
  } finally {
    await server.stop();
  }
}

async function rssAfterGc(pid: number): Promise<number> {
  process.kill(pid, 'SIGUSR2');
  await sleep(GC_MS);
  return readRssMb(pid);
}

function format(readings: Reading[]): string {
  const header = [
    'slot',
    'idle MB',
    'settled MB',
    'then GC MB',
    'after queries MB',
    'after queries+GC MB',
    'heap used/total MB',
  ];
  const rows = SLOTS.map((slot) => {
    const of = readings.filter((r) => r.slot === slot);
    const med = (pick: (r: Reading) => number | undefined) =>
      median(of.map(pick).filter((v): v is number => v !== undefined));
    return [
      slot,
      med((r) => r.idleMb).toFixed(1),
      med((r) => r.settledMb).toFixed(1),
      med((r) => r.idleGcMb).toFixed(1),
      med((r) => r.queriedMb).toFixed(1),
      med((r) => r.queriedGcMb).toFixed(1),
      `${med((r) => r.heapUsedMb).toFixed(1)}/${med((r) => r.heapTotalMb).toFixed(1)}`,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  const rounds = new Set(readings.map((r) => r.round)).size;
  const all = readings.map(
    (r) =>
      `  round ${r.round} ${r.slot}: ${r.idleMb} / ${r.settledMb} / ${r.idleGcMb} / ${r.queriedMb} / ${r.queriedGcMb}`,
  );
  return [`medians of ${rounds} round(s)`, line(header), ...rows.map(line), '', ...all].join('\n');
}

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
