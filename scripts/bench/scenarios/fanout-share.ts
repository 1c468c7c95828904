import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { loadConfig } from '../../../src/config.js';
import { sandboxEndpoints } from '../../../src/sandbox/dialects.js';
import { type Sandbox, startSandbox } from '../../../src/sandbox/server.js';
import { createGateway } from '../../../src/server.js';

// What sharing execution and serialization between subscribers (src/transport/shared-results.ts) saves:
// the same fan-out (N graphql-transport-ws subscribers over 10 assets, 10 ticks/s, clients in a child
// process) against a gateway in this process with sharing on and off, alternated, reporting this
// process's CPU per delivered event and how many selection-set executions and serializations ran.
//   npx tsx scripts/bench/scenarios/fanout-share.ts [N=1000] [seconds=8]

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

async function main() {
  const n = Number(process.argv[2] ?? '1000');
  const seconds = Number(process.argv[3] ?? '8');
  const sandbox = await startSandbox({ quotas: false, tickMs: 100 });
  try {
    for (const share of [true, false, true, false]) console.log(await measure(sandbox, n, seconds, share));
  } finally {
    await sandbox.close();
  }
}

async function measure(sandbox: Sandbox, n: number, seconds: number, share: boolean): Promise<string> {
  const env = { MARKETGRAPH_PORT: '0', MARKETGRAPH_LOG_LEVEL: 'silent' };
  const endpoints = sandboxEndpoints(sandbox);
  const gateway = createGateway(loadConfig({ env, endpoints }), {
    logger: pino({ level: 'silent' }),
    shareLiveResults: share,
  });
  const { url } = await gateway.start();
  const assets = sandbox.market.assets
    .filter((a) => a.binanceBase)
    .slice(0, 10)
    .map((a) => a.id);
  const client = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'scripts/bench/scenarios/fanout-client.ts',
      JSON.stringify({ url: url.replace(/^http/, 'ws'), count: n, assets }),
    ],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
  );
  try {
    await next(client, 'ready');
    await new Promise((r) => setTimeout(r, 2_000));
    const before = gateway.services.live.stats().shared;
    const cpu = process.cpuUsage();
    client.send({ type: 'measure', ms: seconds * 1000 });
    const result = await next<{ received: number; p50: number; p99: number }>(client, 'result');
    const used = process.cpuUsage(cpu);
    const after = gateway.services.live.stats().shared;
    const perDelivery = (used.user + used.system) / result.received;
    return (
      `sharing ${share ? 'on ' : 'off'}: ${result.received} deliveries, ${perDelivery.toFixed(1)} µs CPU each ` +
      `(gateway + sandbox), p50 ${result.p50} ms, p99 ${result.p99} ms; ` +
      `${after.executions - before.executions} executions, ` +
      `${after.serializations - before.serializations} shared serializations`
    );
  } finally {
    client.send({ type: 'stop' });
    await new Promise((resolve) => client.once('exit', resolve));
    await gateway.close();
  }
}

function next<T = unknown>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { type: string } & T) => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`client exited with ${code} before '${type}'`)));
  });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
