import type { ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import WebSocket from 'ws';
import { UPSTREAMS } from '../../../src/config.js';
import { GATEWAY_NODE_FLAGS } from '../../../src/node-flags.js';
import { type Sandbox, startSandbox } from '../../../src/sandbox/server.js';
import { sandboxProviderEnv } from '../../lib/gateway-process.js';
import { readCpuMs, readMachineBusyMs, readRssMb, readStealMs, spawnPinned } from '../processes.js';
import type { StandaloneScenario } from '../scenario.js';
import { type HeapReading, parseHeapMetrics } from './fanout-heap-metrics.js';

// Fan-out: N live subscribers (1k, 5k) of priceUpdated on ONE gateway process, fed by the sandbox's
// Binance streams ticking every 100 ms (10 ticks/s per asset, 10 assets, subscribers spread evenly),
// next to the ceiling: a plain `ws` server (scripts/bench/ceiling-ws.ts) that serializes one frame per
// asset per tick and sends those bytes to every client, with the same clients, tick rate and shape.
// Process layout on a 2-core machine: the server under test (gateway or ceiling) pinned to CPU 0, the
// load generator (scenarios/fanout-client.ts: graphql-transport-ws clients, 20 of them graphql-ws's
// own createClient and the rest a lean protocol client, the same for both servers) pinned to CPU 1, this runner and the sandbox unpinned (one upstream connection, 10 frames/s).
// Reported per case: deliveries/s and delivered/offered (offered = subscribers × upstream ticks in the
// window), tick-to-client latency p50/p99 (receive time − the event's own tick timestamp), RSS per 1k
// subscriptions (server RSS with N subscribers − RSS before any), and server/client CPU use.

const READY = /GraphiQL, HTTP, SSE\s+(http:\/\/\S+\/graphql)/;
const TICK_MS = 100;
const ASSETS = 10;
const SETTLE_MS = 3_000;

export const fanout: StandaloneScenario = {
  kind: 'standalone',
  name: 'fanout',
  description:
    'priceUpdated fan-out: 1k and 5k graphql-ws subscribers × 10 ticks/s on one gateway process, next to a plain ws ceiling',
  async run({ durationS, workers }) {
    const { cases, text } = await runFanout({ durationS, workers });
    return { text, json: cases };
  },
};

export interface FanoutOptions {
  durationS: number;
  sizes?: number[];
  /**
   * The gateway's --workers (default 1). With more, the gateway is pinned to every CPU instead of CPU 0
   * (sharing them with the load generator), and its CPU and RSS are those of all its processes.
   */
  workers?: number;
  /** The gateway's Node flags (default GATEWAY_NODE_FLAGS, what `npm start` passes). */
  gatewayFlags?: readonly string[];
  /** Which servers to measure (default both; FANOUT_SERVERS overrides it). */
  servers?: ReadonlyArray<'gateway' | 'ceiling'>;
}

export interface FanoutCase {
  server: 'gateway' | 'ceiling';
  subscribers: number;
  durationS: number;
  offered: number;
  delivered: number;
  deliveredPerSec: number;
  deliveredRatio: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  rssBaseMb: number;
  /** RSS at the end of the measurement, events flowing (garbage not yet collected included). */
  rssMb: number;
  rssPer1kMb: number;
  serverCpuPct: number;
  /** Server CPU time per delivered event. */
  serverCpuUsPerDelivery: number;
  clientCpuPct: number;
  /** CPU used by other processes on the machine during the window (% of one core). */
  otherCpuPct: number;
  /** CPU time stolen by the hypervisor during the window (% of one core). */
  stealPct: number;
  openS: number;
  clientErrors: number;
  /** The gateway's V8 heap before any client and at the end of the window (from its /metrics). */
  heap?: { base: HeapReading; end: HeapReading };
}

interface ClientResult {
  received: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
  cpuMs: number;
}

export async function runFanout(options: FanoutOptions): Promise<{ cases: FanoutCase[]; text: string }> {
  // FANOUT_SIZES=200,1000 overrides the subscriber counts (quick runs while developing).
  const sizes = options.sizes ??
    process.env.FANOUT_SIZES?.split(',')
      .map(Number)
      .filter((n) => n > 0) ?? [1_000, 5_000];
  const sandbox = await startSandbox({ quotas: false, tickMs: TICK_MS });
  const assets = sandbox.market.assets
    .filter((a) => a.binanceBase)
    .slice(0, ASSETS)
    .map((a) => a.id);
  const cases: FanoutCase[] = [];
  try {
    // FANOUT_SERVERS=gateway (or ceiling) measures one side only (quick runs while developing).
    const servers: readonly string[] = process.env.FANOUT_SERVERS?.split(',') ??
      options.servers ?? ['gateway', 'ceiling'];
    for (const n of sizes) {
      if (servers.includes('gateway'))
        cases.push(
          await measureGateway(
            sandbox,
            assets,
            n,
            options.durationS,
            options.workers ?? 1,
            options.gatewayFlags,
          ),
        );
      if (servers.includes('ceiling')) cases.push(await measureCeiling(assets, n, options.durationS));
    }
  } finally {
    await sandbox.close();
  }
  return { cases, text: formatFanout(cases) };
}

async function measureGateway(
  sandbox: Sandbox,
  assets: string[],
  n: number,
  durationS: number,
  workers: number,
  gatewayFlags: readonly string[] = GATEWAY_NODE_FLAGS,
) {
  const many = workers > 1 ? ` (${workers} workers)` : '';
  console.error(`\nfanout: gateway${many}, ${n} graphql-ws subscribers over ${assets.length} assets`);
  const gateway = await spawnServer(
    [
      ...gatewayFlags,
      '--import',
      'tsx',
      'src/main.ts',
      '--profile',
      'live',
      '--port',
      '0',
      ...(workers > 1 ? ['--workers', String(workers)] : []),
    ],
    providerEnv(sandbox),
    workers > 1 ? '0-1' : 0,
    (output) => READY.exec(output)?.[1],
  );
  try {
    const url = gateway.address;
    // Warm the registry and price cache the subscriptions read on their way in.
    await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ assets(first: 20) { edges { node { id price { value } } } } }' }),
    });
    await sleep(1_000);
    const rssBase = readRssMb(gateway.pid);
    const heapBase = await readHeap(url);
    let heapEnd: HeapReading | undefined;
    const upstream = countUpstreamTicks(sandbox, assets);
    let ticksPerAsset = 0;
    const measured = await drive(url.replace(/^http/, 'ws'), n, assets, durationS, gateway.pid, {
      onMeasureStart: () => upstream.reset(),
      onMeasureEnd: async () => {
        ticksPerAsset = upstream.ticks() / assets.length;
        upstream.close();
        heapEnd = await readHeap(url);
      },
    });
    const summary = summarize('gateway', n, durationS, n * ticksPerAsset, rssBase, measured);
    return heapBase && heapEnd ? { ...summary, heap: { base: heapBase, end: heapEnd } } : summary;
  } finally {
    await gateway.stop();
  }
}

async function measureCeiling(assets: string[], n: number, durationS: number) {
  console.error(`fanout: ceiling (plain ws, one pre-serialized frame per asset per tick), ${n} clients`);
  const ceiling = await spawnServer(
    ['--import', 'tsx', 'scripts/bench/ceiling-ws.ts', String(TICK_MS)],
    {},
    0,
    (output) => {
      const port = /\{"port":(\d+)\}/.exec(output)?.[1];
      return port ? `ws://127.0.0.1:${port}` : undefined;
    },
  );
  try {
    await sleep(500);
    const rssBase = readRssMb(ceiling.pid);
    let ticksAtStart = 0;
    let ticks = 0;
    const measured = await drive(ceiling.address, n, assets, durationS, ceiling.pid, {
      onMeasureStart: async () => {
        ticksAtStart = await ceiling.ticks();
      },
      onMeasureEnd: async () => {
        ticks = (await ceiling.ticks()) - ticksAtStart;
      },
    });
    return summarize('ceiling', n, durationS, n * ticks, rssBase, measured);
  } finally {
    await ceiling.stop();
  }
}

/** Opens the clients, lets them settle, measures for durationS; returns client results and server use. */
async function drive(
  url: string,
  n: number,
  assets: string[],
  durationS: number,
  serverPid: number,
  hooks: { onMeasureStart(): void | Promise<void>; onMeasureEnd(): void | Promise<void> },
) {
  const config = JSON.stringify({ url, count: n, assets });
  const client = spawnPinned(1, ['--import', 'tsx', 'scripts/bench/scenarios/fanout-client.ts', config], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => client.once('exit', () => resolve()));
  try {
    const ready = await nextMessage<{ openMs: number; errors: number }>(client, 'ready', 60_000 + n * 30);
    await sleep(SETTLE_MS);
    const rss = readRssMb(serverPid);
    const cpuBefore = readCpuMs(serverPid);
    const machineBefore = readMachineBusyMs();
    const stealBefore = readStealMs();
    const runnerBefore = process.cpuUsage();
    await hooks.onMeasureStart();
    client.send({ type: 'measure', ms: durationS * 1000 });
    const result = await nextMessage<ClientResult>(client, 'result', durationS * 1000 + 30_000);
    const serverCpuMs = readCpuMs(serverPid) - cpuBefore;
    const runner = process.cpuUsage(runnerBefore);
    const rssLoaded = Math.max(rss, readRssMb(serverPid));
    // CPU the machine spent on anything but the server, the load generator and this runner: other
    // people's work competing for the two cores during the measurement.
    const otherCpuMs =
      readMachineBusyMs() - machineBefore - serverCpuMs - result.cpuMs - (runner.user + runner.system) / 1000;
    await hooks.onMeasureEnd();
    // Time the hypervisor gave this VM's CPUs to someone else (invisible as processes).
    const stealMs = readStealMs() - stealBefore;
    return { ready, result, rss: rssLoaded, serverCpuMs, otherCpuMs: otherCpuMs - stealMs, stealMs };
  } finally {
    if (client.connected) client.send({ type: 'stop' });
    const timer = setTimeout(() => client.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

function summarize(
  server: FanoutCase['server'],
  n: number,
  durationS: number,
  offered: number,
  rssBase: number,
  m: Awaited<ReturnType<typeof drive>>,
): FanoutCase {
  const ms = durationS * 1000;
  return {
    server,
    subscribers: n,
    durationS,
    offered: Math.round(offered),
    delivered: m.result.received,
    deliveredPerSec: round(m.result.received / durationS, 0),
    deliveredRatio: offered > 0 ? round(m.result.received / offered, 3) : 0,
    p50Ms: m.result.p50,
    p99Ms: m.result.p99,
    maxMs: m.result.max,
    rssBaseMb: round(rssBase, 1),
    rssMb: round(m.rss, 1),
    rssPer1kMb: round(((m.rss - rssBase) / n) * 1000, 1),
    serverCpuPct: round((m.serverCpuMs / ms) * 100, 0),
    serverCpuUsPerDelivery: m.result.received > 0 ? round((m.serverCpuMs * 1000) / m.result.received, 1) : 0,
    clientCpuPct: round((m.result.cpuMs / ms) * 100, 0),
    otherCpuPct: Math.max(0, round((m.otherCpuMs / ms) * 100, 0)),
    stealPct: round((m.stealMs / ms) * 100, 0),
    openS: round(m.ready.openMs / 1000, 1),
    clientErrors: m.result.errors,
  };
}

export function formatFanout(cases: FanoutCase[]): string {
  const header = [
    'server',
    'subs',
    'offered/s',
    'delivered/s',
    'deliv/offered',
    'p50 ms',
    'p99 ms',
    'max ms',
    'RSS MB (base→N)',
    'MB/1k subs',
    'server CPU',
    'µs CPU/delivery',
    'client CPU',
    'other CPU',
    'steal',
    'errors',
  ];
  const rows = cases.map((c) => [
    c.server,
    String(c.subscribers),
    String(Math.round(c.offered / c.durationS)),
    String(c.deliveredPerSec),
    c.deliveredRatio.toFixed(3),
    String(c.p50Ms),
    String(c.p99Ms),
    String(c.maxMs),
    `${c.rssBaseMb}→${c.rssMb}`,
    c.rssPer1kMb.toFixed(1),
    `${c.serverCpuPct}%`,
    c.serverCpuUsPerDelivery.toFixed(1),
    `${c.clientCpuPct}%`,
    `${c.otherCpuPct}%`,
    `${c.stealPct}%`,
    String(c.clientErrors),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  const verdicts = [...new Set(cases.map((c) => c.subscribers))].map((n) => {
    const g = cases.find((c) => c.server === 'gateway' && c.subscribers === n);
    const c = cases.find((x) => x.server === 'ceiling' && x.subscribers === n);
    if (!g || !c) return '';
    const share = g.deliveredPerSec / c.deliveredPerSec;
    const p99 = g.p99Ms / Math.max(1, c.p99Ms);
    const mark = (ok: boolean) => (ok ? 'ok' : 'MISSED');
    return (
      `  ${n} subs: deliveries ${(share * 100).toFixed(0)}% of ceiling (target ≥70%: ${mark(share >= 0.7)}), ` +
      `p99 ${p99.toFixed(2)}× ceiling's (target ≤2×: ${mark(p99 <= 2)}), ` +
      `${g.rssPer1kMb} MB RSS per 1k subs (target ≤40: ${mark(g.rssPer1kMb <= 40)})`
    );
  });
  const heaps = cases.flatMap((c) => {
    if (!c.heap) return [];
    const { base, end } = c.heap;
    const mb = (v: number) => v.toFixed(0);
    return [
      `  gateway ${c.subscribers}: V8 heap ${mb(base.heapTotal)}→${mb(end.heapTotal)} MB reserved, ` +
        `${mb(base.heapUsed)}→${mb(end.heapUsed)} MB used; new space ${mb(base.newTotal)}→${mb(end.newTotal)} MB; ` +
        `old space ${mb(base.oldUsed)}/${mb(base.oldTotal)}→${mb(end.oldUsed)}/${mb(end.oldTotal)} MB (used/reserved); ` +
        `external ${mb(base.external)}→${mb(end.external)} MB`,
    ];
  });
  return [
    '',
    'fan-out (priceUpdated, 10 ticks/s per asset)',
    line(header),
    ...rows.map(line),
    '',
    ...verdicts,
    ...(heaps.length > 0 ? ['', ...heaps] : []),
  ].join('\n');
}

/** The gateway's heap figures from its /metrics (prom-client's Node metrics; main.ts turns them on). */
async function readHeap(graphqlUrl: string): Promise<HeapReading | undefined> {
  let text: string;
  try {
    text = await (await fetch(graphqlUrl.replace(/\/graphql$/, '/metrics'))).text();
  } catch {
    return undefined;
  }
  const parsed = parseHeapMetrics(text);
  if ('heap' in parsed) return parsed.heap;
  console.error(`fanout: the gateway's /metrics has no ${parsed.missing.join(', ')}: no heap line`);
  return undefined;
}

/** A raw subscriber to the sandbox's streams, counting the upstream ticks the gateway is offered. */
function countUpstreamTicks(sandbox: Sandbox, assets: string[]) {
  const symbols = sandbox.market.assets
    .filter((a) => assets.includes(a.id))
    .map((a) => `${a.binanceBase!.toLowerCase()}usdt@ticker`);
  const socket = new WebSocket(`${sandbox.endpoints.binance!.wsUrl}/stream?streams=${symbols.join('/')}`);
  let ticks = 0;
  socket.on('message', () => {
    ticks++;
  });
  socket.on('error', () => undefined);
  return {
    reset: () => {
      ticks = 0;
    },
    ticks: () => ticks,
    close: () => socket.terminate(),
  };
}

interface Server {
  pid: number;
  address: string;
  ticks(): Promise<number>;
  stop(): Promise<void>;
}

async function spawnServer(
  args: string[],
  env: Record<string, string>,
  cpu: number | string,
  ready: (output: string) => string | undefined,
): Promise<Server> {
  // FANOUT_SERVER_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" or "--trace-gc") and
  // FANOUT_SERVER_LOG (a file for the server's output) are for finding where the server's time goes.
  const flags = process.env.FANOUT_SERVER_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
  const child = spawnPinned(cpu, [...flags, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const kill = () => signal(child, 'SIGKILL');
  process.once('exit', kill);
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const listeners: Array<(line: string) => void> = [];
  const log = process.env.FANOUT_SERVER_LOG;
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    if (log) appendFileSync(log, chunk);
    output += chunk.length > 10_000 ? chunk.slice(-10_000) : chunk;
    for (const line of chunk.split('\n')) for (const l of listeners) l(line);
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
    process.stderr.write(chunk);
  });
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const found = ready(output);
      if (found) {
        clearInterval(timer);
        resolve(found);
      }
    }, 25);
    void exited.then(() => {
      clearInterval(timer);
      reject(new Error(`server exited before it was ready:\n${output}`));
    });
  });
  return {
    pid: child.pid!,
    address,
    ticks: () =>
      new Promise((resolve) => {
        const listener = (line: string) => {
          const match = /\{"ticks":(\d+)\}/.exec(line);
          if (!match) return;
          listeners.splice(listeners.indexOf(listener), 1);
          resolve(Number(match[1]));
        };
        listeners.push(listener);
        child.stdin!.write('stats\n');
      }),
    async stop() {
      signal(child, 'SIGTERM');
      const timer = setTimeout(kill, 5_000);
      await exited;
      clearTimeout(timer);
      process.removeListener('exit', kill);
    },
  };
}

function signal(child: ChildProcess, sig: NodeJS.Signals) {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    child.kill(sig);
  }
}

function nextMessage<T>(child: ChildProcess, type: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`fanout client: no '${type}' within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onMessage = (message: { type: string } & T) => {
      if (message.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`fanout client exited with ${code} before '${type}'`)));
  });
}

/**
 * Every provider at the sandbox, with its demo key; quotas raised so the gateway never sheds. Auth off:
 * the live profile requires keys, and all subscribers come from one address, past any anonymous plan.
 */
function providerEnv(sandbox: Sandbox): Record<string, string> {
  return {
    MARKETGRAPH_LOG_LEVEL: 'error',
    MARKETGRAPH_AUTH: 'off',
    ...sandboxProviderEnv(sandbox, UPSTREAMS, { rpm: 1_000_000 }),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
