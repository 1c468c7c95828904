import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pino from 'pino';
import { loadConfig } from '../../../src/config.js';
import { sandboxEndpoints } from '../../../src/sandbox/dialects.js';
import { startSandbox } from '../../../src/sandbox/server.js';
import { createGateway } from '../../../src/server.js';

// What one live subscription costs in memory, measured where RSS cannot say it: the gateway runs in
// this process (with the sandbox ticking every 100 ms), N graphql-transport-ws subscribers connect from
// a child process, and the V8 heap is compared after forced full GCs, before and with the N
// subscriptions (connection included) held and receiving. RSS is printed too; it moves with V8's heap
// sizing (the young generation alone grows by tens of MB under load), which is why fanout.ts's RSS per
// 1k subscriptions is higher than the live heap per subscription.
//   npx tsx scripts/bench/scenarios/fanout-heap.ts [N=3000]

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

async function main() {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const n = Number(process.argv[2] ?? '3000');
  const sandbox = await startSandbox({ quotas: false, tickMs: 100 });
  const env = { MARKETGRAPH_PORT: '0', MARKETGRAPH_LOG_LEVEL: 'silent' };
  const endpoints = sandboxEndpoints(sandbox);
  const gateway = createGateway(loadConfig({ env, endpoints }), {
    logger: pino({ level: 'silent' }),
  });
  const { url } = await gateway.start();
  await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ assets(first: 20) { edges { node { id price { value } } } } }' }),
  });
  const assets = sandbox.market.assets
    .filter((a) => a.binanceBase)
    .slice(0, 10)
    .map((a) => a.id);

  const measure = async () => {
    for (let i = 0; i < 4; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 50));
    }
    const m = process.memoryUsage();
    return { heap: m.heapUsed, rss: m.rss };
  };
  const before = await measure();
  const client = spawn(
    process.execPath,
    ['-e', CLIENT, JSON.stringify({ url: url.replace(/^http/, 'ws'), n, assets })],
    { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  await new Promise((resolve) => client.once('message', resolve));
  await new Promise((r) => setTimeout(r, 2_000));
  const after = await measure();
  const perSubKb = (bytes: number) => bytes / n / 1024;
  const heapKb = perSubKb(after.heap - before.heap);
  const rssKb = perSubKb(after.rss - before.rss);
  console.log(
    `${n} subscriptions: live heap ${heapKb.toFixed(1)} KB each (${((heapKb * 1000) / 1024).toFixed(1)} MB per 1k); ` +
      `RSS ${rssKb.toFixed(1)} KB each (${((rssKb * 1000) / 1024).toFixed(1)} MB per 1k)`,
  );
  client.kill();
  await gateway.close();
  await sandbox.close();
}

/** Bare graphql-transport-ws subscribers (one connection each), run with `node -e`. */
const CLIENT = `
const WebSocket = require('ws');
const { url, n, assets } = JSON.parse(process.argv[1]);
const query = 'subscription ($ids: [ID!]!) { priceUpdated(assetIds: $ids) { assetId value asOf } }';
let ready = 0;
let opened = 0;
// At most 100 handshakes in flight: the server's listen backlog is 511.
function open() {
  const i = opened++;
  if (i >= n) return;
  const socket = new WebSocket(url, 'graphql-transport-ws');
  let subscribed = false;
  let first = true;
  socket.on('error', (error) => { console.error('fanout-heap client:', error.message); process.exit(1); });
  socket.on('open', () => socket.send('{"type":"connection_init"}'));
  socket.on('message', () => {
    if (!subscribed) {
      subscribed = true;
      socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables: { ids: [assets[i % assets.length]] } } }));
    } else if (first) {
      first = false;
      if (++ready === n) process.send('ready');
      else open();
    }
  });
}
for (let k = 0; k < 100; k++) open();
`;

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
