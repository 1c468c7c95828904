import autocannon from 'autocannon';
import { UPSTREAMS } from '../../src/config.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';
import { sandboxProviderEnv, spawnGateway } from '../lib/gateway-process.js';
import { canPin, pinProcess, readAffinity, readCpuMs, readRssMb } from './processes.js';
import { checkAssetsBody, RACE_QUERY, validateAssetsAnswer } from './scenarios/race-answer.js';

// One measurement of the race's 50-asset document on a fresh compiled gateway (dist/main.js, `npm
// run start:prod`'s; run `npm run build` first) with the given Node flags and settings: the gateway
// pinned to CPU 0 and this runner (autocannon, and the sandbox) to CPU 1, primed with one fully
// checked answer, warmed, then measured; every answer is checked. Used by the scenarios that compare
// variants of one gateway (gc-flags, execution).

export interface GatewayVariant {
  name: string;
  /** The gateway's Node flags (replacing GATEWAY_NODE_FLAGS). */
  flags: readonly string[];
  /** Extra MARKETGRAPH_* settings. */
  env?: Record<string, string>;
}

export interface QueryResult {
  round: number;
  variant: string;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerRequest: number;
  rssMb: number;
  bad: number;
}

export async function measureQuery(
  variant: GatewayVariant,
  round: number,
  durationS: number,
  warmupS: number,
  connections: number,
): Promise<QueryResult> {
  const pinned = canPin();
  const sandbox: Sandbox = await startSandbox({ quotas: false });
  const affinity = pinned ? readAffinity(process.pid) : undefined;
  if (pinned) pinProcess(process.pid, '1');
  const gateway = await spawnGateway({
    entry: 'build',
    gatewayFlags: variant.flags,
    env: {
      MARKETGRAPH_LOG_LEVEL: 'error',
      ...sandboxProviderEnv(sandbox, UPSTREAMS, { rpm: 1_000_000 }),
      ...variant.env,
    },
    readyTimeoutMs: 30_000,
    onStderr: (chunk) => process.stderr.write(chunk),
  });
  try {
    if (pinned) pinProcess(gateway.pid, '0');
    const first = await fetch(gateway.url, request());
    const invalid = validateAssetsAnswer(await first.text());
    if (invalid) throw new Error(`${variant.name}: first answer: ${invalid}`);
    if (warmupS > 0) await drive(gateway.url, connections, warmupS);
    const cpuBefore = readCpuMs(gateway.pid);
    const m = await drive(gateway.url, connections, durationS);
    const cpuMs = readCpuMs(gateway.pid) - cpuBefore;
    return {
      round,
      variant: variant.name,
      reqPerSec: Math.round(m.requests / m.durationS),
      p50Ms: m.p50Ms,
      p99Ms: m.p99Ms,
      cpuUsPerRequest: m.requests > 0 ? Math.round((cpuMs * 1000) / m.requests) : 0,
      rssMb: Math.round(readRssMb(gateway.pid) * 10) / 10,
      bad: m.bad,
    };
  } finally {
    await gateway.stop();
    if (affinity) pinProcess(process.pid, affinity);
    await sandbox.close();
  }
}

function request() {
  return {
    method: 'POST' as const,
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query: RACE_QUERY }),
  };
}

async function drive(url: string, connections: number, durationS: number) {
  let bad = 0;
  const result = await autocannon({
    url,
    connections,
    duration: durationS,
    ...request(),
    requests: [
      {
        ...request(),
        onResponse: (status: number, body: string) => {
          if (status < 200 || status >= 300 || !checkAssetsBody(body)) bad++;
        },
      },
    ],
  });
  return {
    requests: result.requests.total,
    durationS: result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    bad: bad + result.non2xx + result.errors + result.timeouts,
  };
}

/** Per variant, the medians over rounds (one line each) and every round. */
export function formatQueryResults(results: QueryResult[], variants: readonly GatewayVariant[]): string[] {
  const lines = ['variant  req/s  p50 ms  p99 ms  CPU µs/req  RSS MB  bad answers   (medians)'];
  for (const { name } of variants) {
    const of = results.filter((h) => h.variant === name);
    const med = (pick: (h: QueryResult) => number) => median(of.map(pick));
    lines.push(
      `  ${name}  ${med((h) => h.reqPerSec)}  ${med((h) => h.p50Ms)}  ${med((h) => h.p99Ms)}  ${med((h) => h.cpuUsPerRequest)}  ${med((h) => h.rssMb)}  ${of.reduce((s, h) => s + h.bad, 0)}`,
    );
  }
  for (const h of results) lines.push(`  round ${h.round}: ${JSON.stringify(h)}`);
  return lines;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
