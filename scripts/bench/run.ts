import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { UPSTREAMS } from '../../src/config.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';
import { sandboxProviderEnv, spawnGateway } from '../lib/gateway-process.js';
import { type AnyScenario, type BenchTarget, isStandalone, type Scenario } from './scenario.js';
import { SCENARIOS } from './scenarios/index.js';

// `npm run bench [-- <scenario>... --duration S --warmup S --connections N --rounds N --json]`
//
// Starts the sandbox in this process (quotas off: the bench measures the gateway, not the providers'
// free tiers) and, for each scenario, a fresh gateway as a child process (what `npm start`
// runs, with `--profile live`; scripts/lib/gateway-process.ts) whose provider URLs all point at the sandbox, so nothing leaves
// loopback and the gateway gets a core of its own while autocannon and the sandbox share the other.
// Every run is bounded (warm-up + duration per scenario) and stops by itself.

interface Options {
  names: string[];
  duration: number;
  warmup: number;
  connections: number;
  rounds: number;
  json: boolean;
}

interface Measured {
  scenario: string;
  connections: number;
  durationS: number;
  requests: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  socketErrors: number;
  graphqlErrors: number;
  upstreamCalls: number;
  upstreamPerRequest: number;
  upstreamByEndpoint: Record<string, Record<string, number>>;
  /** Mean wall time of the gateway's upstream attempts during the measurement (its own histogram). */
  upstreamMeanMs: number | null;
}

async function main() {
  // Gateways run in their own process groups (a Ctrl-C does not reach them): exit through 'exit'
  // handlers, which kill them.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  const options = readOptions(process.argv.slice(2));
  const chosen = options.names.length === 0 ? [...SCENARIOS] : options.names.map(findScenario);
  console.log(describeMachine());
  const http = chosen.filter((s): s is Scenario => !isStandalone(s));
  const results: Measured[] = [];
  if (http.length > 0) {
    const sandbox = await startSandbox({ quotas: false });
    try {
      for (const scenario of http) results.push(await runScenario(scenario, sandbox, options));
    } finally {
      await sandbox.close();
    }
  }
  const standalone: Array<{ scenario: string; text: string; json: unknown }> = [];
  for (const scenario of chosen.filter(isStandalone)) {
    console.error(`\n${scenario.name}: ${scenario.description}`);
    const out = await scenario.run({
      durationS: options.duration,
      warmupS: options.warmup,
      connections: options.connections || undefined,
      rounds: options.rounds,
      json: options.json,
    });
    standalone.push({ scenario: scenario.name, ...out });
  }
  if (options.json) {
    const json = [...results, ...standalone.map((s) => ({ scenario: s.scenario, result: s.json }))];
    console.log(JSON.stringify(json, null, 2));
  } else {
    if (results.length > 0) console.log(formatTable(results));
    for (const s of standalone) console.log(`\n${s.scenario}\n${s.text}`);
  }
}

async function runScenario(scenario: Scenario, sandbox: Sandbox, options: Options): Promise<Measured> {
  const gateway = await spawnGateway({
    env: { ...providerEnv(sandbox), ...scenario.gatewayEnv },
    readyTimeoutMs: 20_000,
    onStderr: (chunk) => process.stderr.write(chunk),
  });
  try {
    const target: BenchTarget = { url: gateway.url, sandbox, query: (q, v) => postQuery(gateway.url, q, v) };
    const connections = scenario.connections ?? (options.connections || 10);
    console.error(`\n${scenario.name}: ${scenario.description} (${connections} connections)`);
    await scenario.prepare?.(target);
    const requests = scenario.requests(target);
    if (options.warmup > 0) await cannon(gateway.url, requests, connections, options.warmup);
    sandbox.resetCounts();
    const before = await scrapeUpstreamSeconds(gateway.url);
    const { result, graphqlErrors } = await cannon(gateway.url, requests, connections, options.duration);
    const after = await scrapeUpstreamSeconds(gateway.url);
    const attempts = after.count - before.count;
    const byEndpoint = sandbox.counts();
    const upstreamCalls = Object.values(byEndpoint)
      .flatMap((endpoints) => Object.values(endpoints))
      .reduce((sum, n) => sum + n, 0);
    const completed = result.requests.total;
    return {
      scenario: scenario.name,
      connections,
      durationS: result.duration,
      requests: completed,
      reqPerSec: round(completed / result.duration, 1),
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      non2xx: result.non2xx,
      socketErrors: result.errors,
      graphqlErrors,
      upstreamCalls,
      upstreamPerRequest: completed > 0 ? round(upstreamCalls / completed, 3) : 0,
      upstreamByEndpoint: byEndpoint,
      upstreamMeanMs: attempts > 0 ? round(((after.sum - before.sum) / attempts) * 1000, 1) : null,
    };
  } finally {
    await gateway.stop();
  }
}

async function cannon(
  url: string,
  requests: ReturnType<Scenario['requests']>,
  connections: number,
  duration: number,
): Promise<{ result: autocannon.Result; graphqlErrors: number }> {
  let graphqlErrors = 0;
  const result = await autocannon({
    url,
    connections,
    duration,
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    requests: requests.map((r) => ({
      method: 'POST' as const,
      body: JSON.stringify({ query: r.query, variables: r.variables }),
      onResponse: (_status: number, body: string) => {
        if (body.includes('"errors"')) graphqlErrors++;
      },
    })),
  });
  return { result, graphqlErrors };
}

/** Sum and count of the gateway's upstream latency histogram, over every provider and endpoint. */
async function scrapeUpstreamSeconds(graphqlUrl: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(graphqlUrl.replace(/\/graphql$/, '/metrics'))).text();
  const total = (suffix: string) =>
    [
      ...text.matchAll(
        new RegExp(`^marketgraph_upstream_request_duration_seconds_${suffix}\\{[^}]*\\} (\\S+)$`, 'gm'),
      ),
    ]
      .map((m) => Number(m[1]))
      .reduce((a, b) => a + b, 0);
  return { sum: total('sum'), count: total('count') };
}

/** Every provider at the sandbox, with its demo key; quotas raised so the gateway never sheds. */
function providerEnv(sandbox: Sandbox): Record<string, string> {
  return { MARKETGRAPH_LOG_LEVEL: 'error', ...sandboxProviderEnv(sandbox, UPSTREAMS, { rpm: 1_000_000 }) };
}

async function postQuery(url: string, query: string, variables?: Record<string, unknown>) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: unknown; errors?: unknown[] };
}

function readOptions(argv: string[]): Options {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      connections: { type: 'string' },
      rounds: { type: 'string', default: '3' },
      json: { type: 'boolean', default: false },
    },
  });
  const number = (name: string, raw: string | undefined, min: number, max: number) => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    }
    return value;
  };
  return {
    names: positionals,
    duration: number('duration', values.duration, 1, 600),
    warmup: number('warmup', values.warmup, 0, 60),
    connections: values.connections === undefined ? 0 : number('connections', values.connections, 1, 1000),
    rounds: number('rounds', values.rounds, 1, 50),
    json: values.json ?? false,
  };
}

function findScenario(name: string): AnyScenario {
  const scenario = SCENARIOS.find((s) => s.name === name);
  if (!scenario) {
    throw new Error(
      `unknown scenario ${JSON.stringify(name)}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`,
    );
  }
  return scenario;
}

function describeMachine(): string {
  const cpuModel = readCpuModel() ?? cpus()[0]?.model ?? 'unknown CPU';
  const memGiB = (totalmem() / 2 ** 30).toFixed(1);
  return `machine: ${cpus().length} CPUs (${cpuModel}), ${memGiB} GiB RAM, node ${process.version}, ${new Date().toISOString()}`;
}

function readCpuModel(): string | undefined {
  try {
    return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim();
  } catch {
    return undefined;
  }
}

function formatTable(results: Measured[]): string {
  const header = [
    'scenario',
    'conns',
    'requests',
    'req/s',
    'p50 ms',
    'p99 ms',
    'upstream',
    'upstream/req',
    'upstream mean ms',
    'errors',
  ];
  const rows = results.map((r) => [
    r.scenario,
    String(r.connections),
    String(r.requests),
    r.reqPerSec.toFixed(1),
    String(r.p50Ms),
    String(r.p99Ms),
    String(r.upstreamCalls),
    r.upstreamPerRequest.toFixed(3),
    r.upstreamMeanMs === null ? '-' : r.upstreamMeanMs.toFixed(1),
    `${r.graphqlErrors} gql, ${r.non2xx} non-2xx, ${r.socketErrors} socket`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  const detail = results.map((r) => `  ${r.scenario} upstream: ${JSON.stringify(r.upstreamByEndpoint)}`);
  return ['', line(header), ...rows.map(line), '', ...detail].join('\n');
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
