import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { MAX_MESSAGE } from '../src/limits/short-error.js';
import { startSandbox } from '../src/sandbox/server.js';
import { createFuzzer, createFuzzState, type FetchLike, judge, sendFuzz } from './lib/fuzz-cases.js';
import { sandboxProviderEnv, spawnGateway } from './lib/gateway-process.js';

// `npx tsx scripts/fuzz.ts [--count N] [--seed S] [--concurrency C] [--rss-limit-mb M]`
//
// The long run of test/gateway/fuzz.test.ts, against a real gateway process (what `npm start` runs,
// over the embedded sandbox) through its socket. Reports every failed judgement (5xx, uncoded error,
// message over the bound, a hang), the process's peak RSS (sampled from /proc) and whether it is still
// alive and answering at the end. Exits 1 on any failure. Bounded: it stops after N requests.

interface Options {
  count: number;
  seed: number;
  concurrency: number;
  rssLimitMb: number;
}

async function main() {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  const options = readOptions(process.argv.slice(2));
  const maxBody = loadConfig().limits.maxBodyBytes;
  const sandbox = await startSandbox({ quotas: false });
  // No keys, and an anonymous plan no fuzz run spends: every credential sent is wrong (401), and the
  // requests without one are not shed by a per-minute budget.
  const keysDir = mkdtempSync(join(tmpdir(), 'marketgraph-fuzz-'));
  const keysFile = join(keysDir, 'keys.json');
  writeFileSync(
    keysFile,
    JSON.stringify({
      keys: [],
      anonymous: { requestsPerMinute: 10_000_000, costPerMinute: 1_000_000_000, maxSubscriptions: 1_000 },
    }),
  );
  const gateway = await spawnGateway({
    env: {
      MARKETGRAPH_LOG_LEVEL: 'error',
      // Credentials are checked when sent (every one sent here is wrong), and the persisted-operation
      // cases meet a manifest (the MCP tools' one is in the trusted-documents format).
      MARKETGRAPH_AUTH: 'optional',
      MARKETGRAPH_API_KEYS_FILE: keysFile,
      MARKETGRAPH_TRUSTED_DOCUMENTS: 'mcp/operations.json',
      MARKETGRAPH_TRUSTED_DOCUMENTS_MODE: 'allow',
      ...sandboxProviderEnv(sandbox),
    },
  });
  const failures: string[] = [];
  const kinds = new Map<string, number>();
  let closedOnOversize = 0;
  let peakRssMb = rssMb(gateway.pid);
  const sampler = setInterval(() => {
    peakRssMb = Math.max(peakRssMb, rssMb(gateway.pid));
  }, 200);
  const started = performance.now();
  try {
    const fuzzer = createFuzzer(options.seed);
    const fetchFn: FetchLike = (url, init) => fetch(url, init);
    const state = createFuzzState();
    let next = 0;
    const worker = async () => {
      while (next < options.count) {
        const n = next++;
        const request = fuzzer.next();
        kinds.set(request.kind, (kinds.get(request.kind) ?? 0) + 1);
        try {
          const answer = await sendFuzz(fetchFn, gateway.url, request, 15_000, state);
          const problem = judge(answer, MAX_MESSAGE, request);
          if (problem) failures.push(`#${n} ${request.kind}: ${problem}`);
        } catch (error) {
          // The server may answer 413 and close while an oversized body is still being sent.
          if (Buffer.byteLength(request.body ?? '') > maxBody) closedOnOversize += 1;
          else
            failures.push(`#${n} ${request.kind}: ${error instanceof Error ? error.message : String(error)}`);
        }
        if (n % 1_000 === 999)
          console.log(`${n + 1} requests, ${failures.length} failures, peak RSS ${peakRssMb} MB`);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    const after = await gateway.query<{ sources: unknown[] }>('{ sources { name } }');
    if (!after.body.data?.sources.length) failures.push('the gateway no longer answers { sources { name } }');
  } finally {
    clearInterval(sampler);
    await gateway.stop();
    await sandbox.close();
    rmSync(keysDir, { recursive: true, force: true });
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`seed ${options.seed}: ${options.count} requests in ${seconds.toFixed(1)} s`);
  console.log(`by kind: ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  console.log(`oversized bodies cut off by the server: ${closedOnOversize}`);
  console.log(`peak gateway RSS: ${peakRssMb} MB (limit ${options.rssLimitMb} MB)`);
  if (peakRssMb > options.rssLimitMb) failures.push(`peak RSS ${peakRssMb} MB over ${options.rssLimitMb} MB`);
  console.log(`failures: ${failures.length}`);
  for (const failure of failures.slice(0, 50)) console.log(`  ${failure}`);
  process.exitCode = failures.length > 0 ? 1 : 0;
}

function rssMb(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round(Number(match[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

function readOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      count: { type: 'string', default: '10000' },
      seed: { type: 'string', default: '1' },
      concurrency: { type: 'string', default: '8' },
      'rss-limit-mb': { type: 'string', default: '512' },
    },
    strict: true,
  });
  const number = (name: string, raw: string) => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive whole number`);
    return value;
  };
  return {
    count: number('count', values.count),
    seed: number('seed', values.seed),
    concurrency: number('concurrency', values.concurrency),
    rssLimitMb: number('rss-limit-mb', values['rss-limit-mb']),
  };
}

await main();
