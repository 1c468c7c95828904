import { createClient } from 'graphql-ws';
import WebSocket, { type RawData } from 'ws';

// The fan-out load generator, run as its own process (so it never shares an event loop with the
// server it measures): opens N subscribers, one WebSocket connection each, all speaking the
// graphql-transport-ws protocol to subscribe to priceUpdated, and records every event's tick-to-client
// latency (receive time minus the event's own timestamp: `asOf`, which the gateway copies from the
// upstream tick's event time, or the ceiling server's send-tick time).
// - The first CANARIES subscribers are graphql-ws's own client (createClient): full protocol
//   handling, JSON parsing and validation of every message; any error they see is reported.
// - The others are lean protocol clients on a bare `ws` socket: connection_init, subscribe, and for
//   each `next` message they read `asOf` by position (every 100th is fully parsed and checked). The
//   library client costs ~18 µs of CPU per message here, ~2× the lean one; at 5k subscribers × 10
//   events/s it alone would saturate the load generator's core and the bench would measure the client.
// Both servers (gateway and ceiling) get the same clients. Subscription ids are all "1" (one
// subscription per connection), which lets the ceiling send one identical frame to every client.
// Driven over IPC by fanout.ts: → {type:'ready'} once every subscriber has its first event;
// ← {type:'measure', ms} → {type:'result', ...}; ← {type:'stop'} closes everything and exits.

interface Config {
  url: string;
  count: number;
  assets: string[];
}

type Parent = { type: 'measure'; ms: number } | { type: 'stop' };

const QUERY = 'subscription ($ids: [ID!]!) { priceUpdated(assetIds: $ids) { assetId value asOf } }';
const CANARIES = 20;
const OPEN_BATCH = 200;
const MAX_MS = 60_000;
const AS_OF = Buffer.from('"asOf":"');

const config = JSON.parse(process.argv[2] ?? '{}') as Config;
const histogram = new Uint32Array(MAX_MS + 1);
let received = 0;
let errors = 0;
let measuring = false;
let checked = 0;
let stopping = false;
/** Slowest open / ack / first event (ms after connecting) in the current batch, for the progress log. */
const phases = { open: 0, ack: 0, first: 0 };
const closers: Array<() => void> = [];

function record(asOfMs: number) {
  if (!measuring) return;
  received++;
  const ms = Date.now() - asOfMs;
  histogram[Math.min(MAX_MS, Math.max(0, ms))]!++;
}

function percentile(p: number): number {
  const target = Math.ceil(received * p);
  let seen = 0;
  for (let ms = 0; ms <= MAX_MS; ms++) {
    seen += histogram[ms]!;
    if (seen >= target) return ms;
  }
  return MAX_MS;
}

function fail(why: string) {
  errors++;
  if (errors <= 5) console.error(`fanout-client: ${why}`);
}

function openLibraryClient(i: number): Promise<void> {
  return new Promise((resolve) => {
    let first = true;
    const client = createClient({
      url: config.url,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      generateID: () => '1',
      onNonLazyError: (error) => {
        fail(`graphql-ws client: ${String(error)}`);
        resolve();
      },
    });
    const dispose = client.subscribe(
      { query: QUERY, variables: { ids: [config.assets[i % config.assets.length]] } },
      {
        next: (result) => {
          const price = (result.data as { priceUpdated?: { asOf: string } } | null)?.priceUpdated;
          if (result.errors || !price) fail(`unexpected result ${JSON.stringify(result).slice(0, 200)}`);
          else record(Date.parse(price.asOf));
          if (first) {
            first = false;
            resolve();
          }
        },
        error: (error) => {
          fail(`subscription error ${JSON.stringify(error).slice(0, 200)}`);
          resolve();
        },
        complete: () => undefined,
      },
    );
    closers.push(() => {
      dispose();
      void client.dispose();
    });
  });
}

function openLeanClient(i: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = new WebSocket(config.url, 'graphql-transport-ws', { perMessageDeflate: false });
    let acknowledged = false;
    let first = true;
    const t0 = Date.now();
    socket.on('open', () => {
      phases.open = Math.max(phases.open, Date.now() - t0);
      socket.send('{"type":"connection_init"}');
    });
    socket.on('message', (data: RawData) => {
      const buffer = data as Buffer;
      if (!acknowledged) {
        acknowledged = true;
        phases.ack = Math.max(phases.ack, Date.now() - t0);
        if (!buffer.toString().includes('"connection_ack"')) fail(`expected connection_ack, got ${buffer}`);
        socket.send(
          JSON.stringify({
            id: '1',
            type: 'subscribe',
            payload: { query: QUERY, variables: { ids: [config.assets[i % config.assets.length]] } },
          }),
        );
        return;
      }
      const at = buffer.indexOf(AS_OF);
      if (at < 0 || ++checked % 100 === 0) {
        const message = JSON.parse(buffer.toString()) as {
          type?: string;
          payload?: { data?: { priceUpdated?: { asOf?: string } }; errors?: unknown };
        };
        if (message.type === 'ping') return void socket.send('{"type":"pong"}');
        if (message.type !== 'next' || message.payload?.errors || !message.payload?.data?.priceUpdated?.asOf) {
          fail(`unexpected message ${buffer.toString().slice(0, 200)}`);
        }
      }
      if (at >= 0) {
        const start = at + AS_OF.length;
        record(Date.parse(buffer.toString('latin1', start, start + 24)));
      }
      if (first) {
        first = false;
        phases.first = Math.max(phases.first, Date.now() - t0);
        resolve();
      }
    });
    socket.on('error', (error) => {
      fail(`socket error ${error.message}`);
      resolve();
    });
    socket.on('close', (code, reason) => {
      if (!first || stopping) return;
      fail(`closed before the first event: ${code} ${reason}`);
      resolve();
    });
    closers.push(() => socket.terminate());
  });
}

async function main() {
  const started = Date.now();
  let opened = 0;
  const progress = setInterval(() => {
    console.error(`fanout-client: ${opened}/${config.count} subscribed, ${errors} errors`);
  }, 5_000);
  for (let i = 0; i < config.count; i += OPEN_BATCH) {
    const batchStarted = Date.now();
    const batch: Array<Promise<void>> = [];
    for (let j = i; j < Math.min(config.count, i + OPEN_BATCH); j++) {
      batch.push(j < CANARIES ? openLibraryClient(j) : openLeanClient(j));
    }
    await Promise.all(batch);
    opened += batch.length;
    if (Date.now() - batchStarted > 2_000) {
      console.error(
        `fanout-client: ${batch.length} subscribers took ${Date.now() - batchStarted} ms (slowest open ${phases.open} ms, ack ${phases.ack} ms, first event ${phases.first} ms)`,
      );
    }
    phases.open = phases.ack = phases.first = 0;
  }
  clearInterval(progress);
  process.send!({ type: 'ready', openMs: Date.now() - started, errors });

  process.on('message', (message: Parent) => {
    if (message.type === 'measure') {
      histogram.fill(0);
      received = 0;
      measuring = true;
      const from = process.cpuUsage();
      setTimeout(() => {
        measuring = false;
        const cpu = process.cpuUsage(from);
        process.send!({
          type: 'result',
          received,
          errors,
          p50: percentile(0.5),
          p99: percentile(0.99),
          max: percentile(1),
          cpuMs: (cpu.user + cpu.system) / 1000,
        });
      }, message.ms);
    } else if (message.type === 'stop') {
      stopping = true;
      for (const close of closers) close();
      setTimeout(() => process.exit(0), 200);
    }
  });
}

main().catch((error: unknown) => {
  console.error(`fanout-client: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
