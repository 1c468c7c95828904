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

/** A connected subscriber: `subscribe()` resolves at its first event (or on failure). */
interface Subscriber {
  subscribe(): Promise<void>;
}

/** graphql-ws's own client: connects (and is acknowledged) first, subscribes when told. */
function connectLibraryClient(i: number): Promise<Subscriber> {
  return new Promise((connected) => {
    const client = createClient({
      url: config.url,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      generateID: () => '1',
      on: { connected: () => connected(subscriber) },
      onNonLazyError: (error) => {
        fail(`graphql-ws client: ${String(error)}`);
        connected(subscriber);
      },
    });
    closers.push(() => void client.dispose());
    const subscriber: Subscriber = {
      subscribe: () =>
        new Promise((resolve) => {
          let first = true;
          client.subscribe(
            { query: QUERY, variables: { ids: [config.assets[i % config.assets.length]] } },
            {
              next: (result) => {
                const price = (result.data as { priceUpdated?: { asOf: string } } | null)?.priceUpdated;
                if (result.errors || !price)
                  fail(`unexpected result ${JSON.stringify(result).slice(0, 200)}`);
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
        }),
    };
  });
}

/** The lean protocol client: connection_init → connection_ack, then `subscribe` when told. */
function connectLeanClient(i: number): Promise<Subscriber> {
  return new Promise((connected) => {
    const socket = new WebSocket(config.url, 'graphql-transport-ws', { perMessageDeflate: false });
    let acknowledged = false;
    let firstEvent: (() => void) | undefined;
    socket.on('open', () => socket.send('{"type":"connection_init"}'));
    socket.on('message', (data: RawData) => {
      const buffer = data as Buffer;
      if (!acknowledged) {
        acknowledged = true;
        if (!buffer.toString().includes('"connection_ack"')) fail(`expected connection_ack, got ${buffer}`);
        connected(subscriber);
        return;
      }
      const at = buffer.indexOf(AS_OF);
      if (at < 0 || ++checked % 100 === 0) {
        const message = JSON.parse(buffer.toString()) as {
          type?: string;
          payload?: { data?: { priceUpdated?: { asOf?: string } }; errors?: unknown };
        };
        if (message.type === 'ping') return void socket.send('{"type":"pong"}');
        if (
          message.type !== 'next' ||
          message.payload?.errors ||
          !message.payload?.data?.priceUpdated?.asOf
        ) {
          fail(`unexpected message ${buffer.toString().slice(0, 200)}`);
        }
      }
      if (at >= 0) {
        const start = at + AS_OF.length;
        record(Date.parse(buffer.toString('latin1', start, start + 24)));
      }
      firstEvent?.();
      firstEvent = undefined;
    });
    socket.on('error', (error) => {
      fail(`socket error ${error.message}`);
      connected(subscriber);
      firstEvent?.();
    });
    socket.on('close', (code, reason) => {
      if (stopping) return;
      fail(`closed: ${code} ${reason}`);
      connected(subscriber);
      firstEvent?.();
    });
    closers.push(() => socket.terminate());
    const subscriber: Subscriber = {
      subscribe: () =>
        new Promise((resolve) => {
          firstEvent = resolve;
          socket.send(
            JSON.stringify({
              id: '1',
              type: 'subscribe',
              payload: { query: QUERY, variables: { ids: [config.assets[i % config.assets.length]] } },
            }),
          );
        }),
    };
  });
}

/** Runs `task` for 0..count-1, `batch` at a time, logging progress; returns the results in order. */
async function inBatches<T>(what: string, count: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  const progress = setInterval(() => {
    console.error(`fanout-client: ${what} ${out.length}/${count}, ${errors} errors`);
  }, 5_000);
  for (let i = 0; i < count; i += OPEN_BATCH) {
    const batch: Array<Promise<T>> = [];
    for (let j = i; j < Math.min(count, i + OPEN_BATCH); j++) batch.push(task(j));
    out.push(...(await Promise.all(batch)));
  }
  clearInterval(progress);
  return out;
}

async function main() {
  const started = Date.now();
  // Connect everyone first, subscribe everyone next: a server already saturated by the events of
  // earlier subscribers accepts new connections slowly (Node accepts about one per event-loop turn),
  // which would make the set-up, not the fan-out, dominate a 5k run.
  const subscribers = await inBatches('connected', config.count, (i) =>
    i < CANARIES ? connectLibraryClient(i) : connectLeanClient(i),
  );
  await inBatches('subscribed', config.count, (i) => subscribers[i]!.subscribe());
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
