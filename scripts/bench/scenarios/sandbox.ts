import autocannon from 'autocannon';
import { CATALOGUE } from '../../../src/sandbox/market/catalogue.js';
import { SANDBOX_COINCAP_KEY } from '../../../src/sandbox/providers/coincap/dialect.js';
import type { ProviderEndpoint } from '../../../src/sandbox/server.js';
import { canPin, pinProcess, readAffinity, readCpuMs } from '../processes.js';
import type { StandaloneScenario } from '../scenario.js';
import { spawnServerProcess } from '../server-process.js';

// The sandbox on its own: the endpoints the 50-asset query and the price queries call, in the exact
// form the gateway sends them, each hammered directly (no gateway) by autocannon. The sandbox runs as
// its own process (scripts/bench/peers/sandbox.ts) pinned to CPU 0, this runner and autocannon on
// CPU 1, so a figure here is what the sandbox can serve, and tells whether a cold gateway benchmark
// measures the gateway or the sandbox behind it.

const DEFAULT_CONNECTIONS = 10;

interface Row {
  endpoint: string;
  requests: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  kbPerResponse: number;
  serverCpuUsPerRequest: number;
  /** The sandbox's CPU over the window, % of one core. */
  serverCpuPct: number;
  non2xx: number;
  socketErrors: number;
}

export const sandbox: StandaloneScenario = {
  kind: 'standalone',
  name: 'sandbox',
  description: "the sandbox alone: the gateway's hot upstream requests sent straight to it (no gateway)",
  async run({ durationS, warmupS, connections }) {
    const rows = await runSandboxDirect({
      durationS,
      warmupS,
      connections: connections ?? DEFAULT_CONNECTIONS,
    });
    return { text: formatRows(rows, connections ?? DEFAULT_CONNECTIONS), json: rows };
  },
};

async function runSandboxDirect(options: { durationS: number; warmupS: number; connections: number }) {
  const pinned = canPin();
  if (!pinned) console.error('sandbox: taskset not found, nothing is pinned');
  const server = await spawnServerProcess({
    args: ['--import', 'tsx', 'scripts/bench/peers/sandbox.ts'],
    cpu: pinned ? 0 : undefined,
    ready: (output) => /^(\{"endpoints".*\})$/m.exec(output)?.[1],
  });
  const affinity = pinned ? readAffinity(process.pid) : undefined;
  if (pinned) pinProcess(process.pid, '1');
  try {
    const { endpoints } = JSON.parse(server.address) as { endpoints: Record<string, ProviderEndpoint> };
    const rows: Row[] = [];
    for (const target of hotRequests(endpoints)) {
      console.error(`sandbox: ${target.endpoint}`);
      if (options.warmupS > 0) await cannon(target, options.connections, options.warmupS);
      const before = readCpuMs(server.pid);
      const result = await cannon(target, options.connections, options.durationS);
      const cpuMs = readCpuMs(server.pid) - before;
      const requests = result.requests.total;
      rows.push({
        endpoint: target.endpoint,
        requests,
        reqPerSec: Math.round((requests / result.duration) * 10) / 10,
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        kbPerResponse: requests > 0 ? Math.round(result.throughput.total / requests / 102.4) / 10 : 0,
        serverCpuUsPerRequest: requests > 0 ? Math.round((cpuMs * 1000) / requests) : 0,
        serverCpuPct: Math.round((cpuMs / (result.duration * 1000)) * 100),
        non2xx: result.non2xx,
        socketErrors: result.errors,
      });
    }
    const failed = rows.filter((r) => r.non2xx > 0 || r.socketErrors > 0);
    if (failed.length > 0) {
      throw new Error(
        `sandbox: errors on ${failed.map((r) => r.endpoint).join(', ')}: ${formatRows(rows, 0)}`,
      );
    }
    return rows;
  } finally {
    if (affinity) pinProcess(process.pid, affinity);
    await server.stop();
  }
}

interface Target {
  endpoint: string;
  url: string;
  headers?: Record<string, string>;
}

/** The requests a cold 50-asset query and the price queries send, built the way the gateway builds them. */
function hotRequests(endpoints: Record<string, ProviderEndpoint>): Target[] {
  const top = [...CATALOGUE].sort((a, b) => a.rank - b.rank).slice(0, 50);
  const url = (provider: string, path: string, query: Record<string, string>) => {
    const base = endpoints[provider]?.url;
    if (!base) throw new Error(`sandbox: no ${provider} endpoint`);
    return `${base}${path}?${new URLSearchParams(query)}`;
  };
  const binance = top.filter((a) => a.binanceBase).map((a) => `${a.binanceBase}USDT`);
  const coincap = top.flatMap((a) => (a.coincapId ? [a.coincapId] : []));
  return [
    {
      endpoint: 'coingecko coins/markets (the ranking page)',
      url: url('coingecko', '/coins/markets', {
        vs_currency: 'usd',
        order: 'market_cap_desc',
        per_page: '250',
        page: '1',
      }),
    },
    {
      endpoint: 'coingecko coins/markets (50 rows)',
      url: url('coingecko', '/coins/markets', {
        vs_currency: 'usd',
        order: 'market_cap_desc',
        per_page: '50',
        page: '1',
      }),
    },
    {
      endpoint: 'coingecko simple/price (50 ids)',
      url: url('coingecko', '/simple/price', {
        ids: top.map((a) => a.id).join(','),
        vs_currencies: 'usd',
        include_24hr_change: 'true',
        include_last_updated_at: 'true',
      }),
    },
    {
      endpoint: `binance ticker/price (${binance.length} symbols)`,
      url: url('binance', '/api/v3/ticker/price', { symbols: JSON.stringify(binance) }),
    },
    {
      endpoint: `coincap assets (${coincap.length} ids)`,
      url: url('coincap', '/assets', { ids: coincap.join(','), limit: String(coincap.length) }),
      headers: { authorization: `Bearer ${SANDBOX_COINCAP_KEY}` },
    },
  ];
}

function cannon(target: Target, connections: number, duration: number): Promise<autocannon.Result> {
  return autocannon({ url: target.url, headers: target.headers, connections, duration });
}

function formatRows(rows: Row[], connections: number): string {
  const header = [
    'endpoint',
    'requests',
    'req/s',
    'p50 ms',
    'p99 ms',
    'KB/resp',
    'server µs CPU/req',
    'server CPU',
    'errors',
  ];
  const cells = rows.map((r) => [
    r.endpoint,
    String(r.requests),
    r.reqPerSec.toFixed(1),
    String(r.p50Ms),
    String(r.p99Ms),
    r.kbPerResponse.toFixed(1),
    String(r.serverCpuUsPerRequest),
    `${r.serverCpuPct}%`,
    `${r.non2xx} non-2xx, ${r.socketErrors} socket`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i]!)).join('  ');
  return [`sandbox direct (${connections} connections)`, line(header), ...cells.map(line)].join('\n');
}
