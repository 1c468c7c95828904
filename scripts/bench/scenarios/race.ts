import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { loadConfig, UPSTREAMS } from '../../../src/config.js';
import { type Sandbox, startSandbox } from '../../../src/sandbox/server.js';
import { sandboxProviderEnv, spawnGateway } from '../../lib/gateway-process.js';
import {
  canPin,
  pinProcess,
  readAffinity,
  readCpuMs,
  readMachineBusyMs,
  readRssMb,
  readStealMs,
} from '../processes.js';
import type { StandaloneScenario } from '../scenario.js';
import { spawnServerProcess } from '../server-process.js';
import { hasWrk, rawAnswer, runWrk } from '../wrk.js';
import { checkAssetsBody, RACE_QUERY, validateAssetsAnswer } from './race-answer.js';
import { formatRace, SLOTS, type SlotName, type SlotResult, summarize } from './race-report.js';

// The race: marketgraph next to what its users would otherwise pick, on the same machine in the same
// run. Three slots, each a fresh process per round, rounds interleaved (the slot order rotates from
// one round to the next, so none always runs first on a cold or a warm machine):
// - marketgraph: `npm start`'s command (scripts/lib/gateway-process.ts) with default TTLs, every
//   provider at the sandbox;
// - yoga: a stock graphql-yoga 5 + @graphql-yoga/plugin-response-cache (scripts/bench/peers/
//   yoga-response-cache.ts) over the same sandbox's CoinGecko markets page, cache TTL = the gateway's
//   price TTL;
// - ceiling: node:http answering "hello world" (scripts/bench/peers/ceiling-http.ts).
// The server under test is pinned to CPU 0, this runner (autocannon, and the sandbox, which the
// cached slots barely call) to CPU 1. Each slot is primed with one fully validated answer, warmed for
// --warmup seconds, then measured for --duration seconds with --connections (default 50) connections;
// every answer of the warm-up and the measurement is checked (2xx, and for the GraphQL slots no
// "errors" and 50 edges each with an id, a positive price and an asOf), and a slot with a single bad
// answer fails. The ceiling is driven by wrk when it is installed (autocannon saturates before a
// hello-world server does), else by autocannon, and says which; under wrk its answers are checked by
// status and by the exact byte count (they are all the same bytes), since a per-answer Lua check
// would make wrk the bottleneck. Server CPU per request is the server's utime+stime delta over the
// measured window (/proc) divided by the answers received.

const DEFAULT_CONNECTIONS = 50;
const CEILING_BODY = 'hello world';

interface Measurement {
  tool: SlotResult['tool'];
  requests: number;
  durationS: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  badBodies: number;
  socketErrors: number;
  loadCpuMs: number;
}

interface RaceOptions {
  durationS: number;
  warmupS: number;
  connections: number;
  rounds: number;
}

export const race: StandaloneScenario = {
  kind: 'standalone',
  name: 'race',
  description:
    'marketgraph vs stock graphql-yoga + response cache vs node:http hello world, cached 50-asset query, interleaved rounds',
  async run({ durationS, warmupS, connections, rounds }) {
    const options = { durationS, warmupS, connections: connections ?? DEFAULT_CONNECTIONS, rounds };
    const results = await runRace(options);
    const text = formatRace(results, options);
    const failed = results.filter((r) => !r.ok);
    if (failed.length > 0) {
      throw new Error(
        `race: ${failed.length} slot(s) failed:\n${failed.map((r) => `  round ${r.round} ${r.slot}: ${r.failure}`).join('\n')}\n${text}`,
      );
    }
    return { text, json: { options, results, summary: summarize(results) } };
  },
};

async function runRace(options: RaceOptions): Promise<SlotResult[]> {
  const pinned = canPin();
  if (!pinned) console.error('race: taskset not found: nothing is pinned, figures are not comparable');
  const wrk = hasWrk();
  if (!wrk)
    console.error('race: wrk not found: the ceiling is measured with autocannon, which saturates first');
  if (options.rounds < 3) console.error(`race: ${options.rounds} round(s); medians want at least 3`);
  const sandbox = await startSandbox({ quotas: false });
  const affinity = pinned ? readAffinity(process.pid) : undefined;
  if (pinned) pinProcess(process.pid, '1');
  const results: SlotResult[] = [];
  try {
    for (let round = 1; round <= options.rounds; round++) {
      const order = SLOTS.map((_, i) => SLOTS[(i + round - 1) % SLOTS.length]!);
      for (const slot of order) {
        console.error(`race: round ${round}/${options.rounds}, ${slot}`);
        results.push(await runSlot(slot, round, sandbox, options, { pinned, wrk }));
      }
    }
  } finally {
    if (affinity) pinProcess(process.pid, affinity);
    await sandbox.close();
  }
  return results;
}

interface Started {
  pid: number;
  url: string;
  stop(): Promise<void>;
}

/** The key the `marketgraph+key` slot sends, and a keys file that lets it spend freely. */
const RACE_KEY = `mg_race_${randomBytes(18).toString('base64url')}`;

function raceKeysFile(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'marketgraph-race-')), 'keys.json');
  const plan = { requestsPerMinute: 10_000_000, costPerMinute: 10_000_000, maxSubscriptions: 10 };
  const sha256 = createHash('sha256').update(RACE_KEY).digest('hex');
  writeFileSync(path, JSON.stringify({ keys: [{ id: 'race', sha256, scopes: [], ...plan }] }));
  return path;
}

async function startSlot(slot: SlotName, sandbox: Sandbox, pinned: boolean): Promise<Started> {
  const cpu = pinned ? 0 : undefined;
  const url = (output: string) => /^\{"url":"([^"]+)"\}$/m.exec(output)?.[1];
  if (slot === 'marketgraph' || slot === 'marketgraph+key') {
    const auth: Record<string, string> =
      slot === 'marketgraph+key'
        ? { MARKETGRAPH_AUTH: 'required', MARKETGRAPH_API_KEYS_FILE: raceKeysFile() }
        : {};
    const gateway = await spawnGateway({
      env: {
        MARKETGRAPH_LOG_LEVEL: 'error',
        ...sandboxProviderEnv(sandbox, UPSTREAMS, { rpm: 1_000_000 }),
        ...auth,
      },
      readyTimeoutMs: 30_000,
      onStderr: (chunk) => process.stderr.write(chunk),
    });
    if (cpu !== undefined) pinProcess(gateway.pid, String(cpu));
    return { pid: gateway.pid, url: gateway.url, stop: () => gateway.stop() };
  }
  const server =
    slot === 'yoga'
      ? await spawnServerProcess({
          args: ['--import', 'tsx', 'scripts/bench/peers/yoga-response-cache.ts'],
          env: {
            COINGECKO_URL: sandbox.endpoints.coingecko!.url,
            TTL_MS: String(loadConfig({ env: {} }).cache.ttl.price),
          },
          cpu,
          ready: url,
          readyTimeoutMs: 30_000,
        })
      : await spawnServerProcess({
          args: ['--import', 'tsx', 'scripts/bench/peers/ceiling-http.ts'],
          cpu,
          ready: url,
        });
  return { pid: server.pid, url: server.address, stop: () => server.stop() };
}

async function runSlot(
  slot: SlotName,
  round: number,
  sandbox: Sandbox,
  options: RaceOptions,
  tools: { pinned: boolean; wrk: boolean },
): Promise<SlotResult> {
  const server = await startSlot(slot, sandbox, tools.pinned);
  const useWrk = slot === 'ceiling' && tools.wrk;
  const base = { round, slot, tool: useWrk ? ('wrk' as const) : ('autocannon' as const) };
  try {
    const primed = await prime(slot, server.url);
    if (primed) return failedSlot(base, `first answer: ${primed}`);
    const rssIdleMb = readRssMb(server.pid);
    const raw = useWrk ? await rawAnswer(server.url) : undefined;
    if (raw && raw.body !== CEILING_BODY) return failedSlot(base, `raw answer: ${raw.body.slice(0, 200)}`);
    const drive = (seconds: number) =>
      raw
        ? driveWrk(server.url, options.connections, seconds, raw.bytes)
        : driveAutocannon(slot, server.url, options.connections, seconds);
    if (options.warmupS > 0) {
      const warm = await drive(options.warmupS);
      const problem = describeErrors(warm);
      if (problem) return failedSlot(base, `warm-up: ${problem}`);
    }
    const cpuBefore = readCpuMs(server.pid);
    const busyBefore = readMachineBusyMs();
    const stealBefore = readStealMs();
    const m = await drive(options.durationS);
    const serverCpuMs = readCpuMs(server.pid) - cpuBefore;
    const stealMs = readStealMs() - stealBefore;
    const otherMs = readMachineBusyMs() - busyBefore - serverCpuMs - m.loadCpuMs - stealMs;
    const rssMb = readRssMb(server.pid);
    const windowMs = m.durationS * 1000;
    const problem = describeErrors(m);
    return {
      ...base,
      ok: problem === undefined,
      ...(problem ? { failure: problem } : {}),
      requests: m.requests,
      reqPerSec: round1(m.requests / m.durationS),
      p50Ms: m.p50Ms,
      p99Ms: m.p99Ms,
      serverCpuUsPerRequest: m.requests > 0 ? round1((serverCpuMs * 1000) / m.requests) : 0,
      serverCpuPct: Math.round((serverCpuMs / windowMs) * 100),
      rssIdleMb: round1(rssIdleMb),
      rssMb: round1(rssMb),
      loadCpuPct: Math.round((m.loadCpuMs / windowMs) * 100),
      otherCpuPct: Math.max(0, Math.round((otherMs / windowMs) * 100)),
      stealPct: Math.round((stealMs / windowMs) * 100),
      non2xx: m.non2xx,
      badBodies: m.badBodies,
      socketErrors: m.socketErrors,
    };
  } finally {
    await server.stop();
  }
}

/** One request, checked in full; returns what is wrong with it, or undefined. */
async function prime(slot: SlotName, url: string): Promise<string | undefined> {
  if (slot === 'ceiling') {
    const response = await fetch(url);
    const text = await response.text();
    return response.ok && text === CEILING_BODY ? undefined : `${response.status} ${text.slice(0, 200)}`;
  }
  const response = await fetch(url, graphqlRequest(slot));
  const text = await response.text();
  if (!response.ok) return `HTTP ${response.status}: ${text.slice(0, 300)}`;
  const invalid = validateAssetsAnswer(text);
  if (invalid) return invalid;
  // The fast per-answer check must accept what the full one accepts, or every answer would count as bad.
  return checkAssetsBody(text)
    ? undefined
    : `the per-answer check rejects a valid answer: ${text.slice(0, 300)}`;
}

function graphqlRequest(slot: SlotName) {
  const key: Record<string, string> =
    slot === 'marketgraph+key' ? { authorization: `Bearer ${RACE_KEY}` } : {};
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...key },
    body: JSON.stringify({ query: RACE_QUERY }),
  };
}

async function driveAutocannon(
  slot: SlotName,
  url: string,
  connections: number,
  durationS: number,
): Promise<Measurement> {
  let badBodies = 0;
  const check = slot === 'ceiling' ? (body: string) => body === CEILING_BODY : checkAssetsBody;
  const request =
    slot === 'ceiling' ? { method: 'GET' as const } : { ...graphqlRequest(slot), method: 'POST' as const };
  const cpuBefore = process.cpuUsage();
  const result = await autocannon({
    url,
    connections,
    duration: durationS,
    ...request,
    requests: [
      {
        ...request,
        onResponse: (status: number, body: string) => {
          if (status >= 200 && status < 300 && !check(body)) badBodies++;
        },
      },
    ],
  });
  const cpu = process.cpuUsage(cpuBefore);
  return {
    tool: 'autocannon',
    requests: result.requests.total,
    durationS: result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    badBodies,
    socketErrors: result.errors + result.timeouts,
    loadCpuMs: (cpu.user + cpu.system) / 1000,
  };
}

async function driveWrk(
  url: string,
  connections: number,
  durationS: number,
  answerBytes: number,
): Promise<Measurement> {
  const r = await runWrk(url, { connections, durationS, answerBytes });
  return {
    tool: 'wrk',
    requests: r.requests,
    durationS: r.durationS,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    non2xx: r.non2xx,
    badBodies: r.badAnswers,
    socketErrors: r.socketErrors,
    loadCpuMs: r.cpuMs,
  };
}

function describeErrors(m: Measurement): string | undefined {
  const parts = [
    m.non2xx > 0 ? `${m.non2xx} non-2xx` : '',
    m.badBodies > 0 ? `${m.badBodies} bad bodies` : '',
    m.socketErrors > 0 ? `${m.socketErrors} socket errors/timeouts` : '',
    m.requests === 0 ? 'no answer at all' : '',
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(', ') : undefined;
}

function failedSlot(base: Pick<SlotResult, 'round' | 'slot' | 'tool'>, failure: string): SlotResult {
  return {
    ...base,
    ok: false,
    failure,
    requests: 0,
    reqPerSec: 0,
    p50Ms: 0,
    p99Ms: 0,
    serverCpuUsPerRequest: 0,
    serverCpuPct: 0,
    rssIdleMb: 0,
    rssMb: 0,
    loadCpuPct: 0,
    otherCpuPct: 0,
    stealPct: 0,
    non2xx: 0,
    badBodies: 0,
    socketErrors: 0,
  };
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
