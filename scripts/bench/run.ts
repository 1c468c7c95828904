import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { UPSTREAMS } from '../../src/config.js';
import { GATEWAY_NODE_FLAGS } from '../../src/node-flags.js';
import { SANDBOX_KEYS } from '../../src/sandbox/dialects.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';
import { type AnyScenario, type BenchTarget, isStandalone, type Scenario } from './scenario.js';
import { SCENARIOS } from './scenarios/index.js';

// `npm run bench [-- <scenario>... --duration S --warmup S --connections N --json]`
//
// Starts the sandbox in this process (quotas off: the bench measures the gateway, not the providers'
// free tiers) and, for each scenario, a fresh gateway as a child process (`node --import tsx
// src/main.ts --profile live`) whose provider URLs all point at the sandbox, so nothing leaves
// loopback and the gateway gets a core of its own while autocannon and the sandbox share the other.
// Every run is bounded (warm-up + duration per scenario) and stops by itself.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const READY = /GraphiQL, HTTP, SSE\s+(http:\/\/\S+\/graphql)/;

interface Options {
  names: string[];
  duration: number;
  warmup: number;
  connections: number;
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
    const out = await scenario.run({ durationS: options.duration, json: options.json });
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
  const gateway = await spawnGateway({ ...providerEnv(sandbox), ...scenario.gatewayEnv });
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
  const env: Record<string, string> = { MARKETGRAPH_LOG_LEVEL: 'error' };
  for (const name of UPSTREAMS) {
    const prefix = `MARKETGRAPH_${name.toUpperCase()}`;
    const endpoint = sandbox.endpoints[name];
    env[`${prefix}_RPM`] = '1000000';
    if (!endpoint) {
      env[`${prefix}_ENABLED`] = 'false';
      env[`${prefix}_URL`] = 'http://127.0.0.1:9/disabled';
      continue;
    }
    env[`${prefix}_URL`] = endpoint.url;
    if (endpoint.wsUrl) env[`${prefix}_WS_URL`] = endpoint.wsUrl;
    const key = SANDBOX_KEYS[name];
    if (key) env[`${prefix}_KEY`] = key;
  }
  return env;
}

async function spawnGateway(env: Record<string, string>): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    [...GATEWAY_NODE_FLAGS, '--import', 'tsx', 'src/main.ts', '--profile', 'live', '--port', '0'],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const stopOnExit = () => signalGroup(child, 'SIGKILL');
  process.once('exit', stopOnExit);
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway not ready after 20 s:\n${output}`)), 20_000);
    const read = (chunk: string) => {
      output += chunk;
      const match = READY.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.setEncoding('utf8').on('data', read);
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      process.stderr.write(chunk);
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`gateway exited before it was ready:\n${output}`));
    });
  }).catch((error: unknown) => {
    signalGroup(child, 'SIGKILL');
    throw error;
  });
  return {
    url,
    async stop() {
      signalGroup(child, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
      process.removeListener('exit', stopOnExit);
    },
  };
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals) {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
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
