import { execFileSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { spawnGateway } from '../lib/gateway-process.js';

// By hand: `npx tsx scripts/bench/silent-sockets.ts [silent] [slowloris] [maxConnections]`.
// Starts `npm start`'s gateway (sandbox profile, default socket settings unless MARKETGRAPH_* are set
// in this script's env), opens `silent` connections that send nothing and `slowloris` ones that
// trickle header bytes, and reports how many are still open each second, how the ones over the cap
// were answered, and whether a normal request is served meanwhile and afterwards.
// What the gateway holds is its side of the connections (`ss`, where there is one). The client's view
// can stay higher: with the listen queue full, the kernel completes a client's handshake it then drops
// on the server's side, so the client sees an open connection the gateway never had.

const silentCount = Number(process.argv[2] ?? 2_000);
const slowCount = Number(process.argv[3] ?? 200);
const maxConnections = process.argv[4];

interface Tracked {
  socket: Socket;
  firstLine: string;
  closed: boolean;
}

function track(port: number): Tracked {
  const socket = connect(port, '127.0.0.1');
  const tracked: Tracked = { socket, firstLine: '', closed: false };
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    tracked.firstLine ||= chunk.split('\r\n')[0] ?? '';
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    tracked.closed = true;
  });
  return tracked;
}

/** Established connections on the gateway's side of its port, or '?' without `ss`. */
function serverSide(port: number): string {
  try {
    const out = execFileSync('ss', ['-Htn', 'state', 'established', `( sport = :${port} )`], {
      encoding: 'utf8',
    });
    return String(out.split('\n').filter(Boolean).length);
  } catch {
    return '?';
  }
}

const env: Record<string, string> = {};
for (const [name, value] of Object.entries(process.env)) {
  if (name.startsWith('MARKETGRAPH_') && value !== undefined) env[name] = value;
}
if (maxConnections) env.MARKETGRAPH_MAX_CONNECTIONS = maxConnections;
const gateway = await spawnGateway({ args: ['--profile', 'sandbox', '--port', '0'], env });
const port = Number(new URL(gateway.url).port);
console.log(`gateway on port ${port} (its side: ss -Htn state established '( sport = :${port} )' | wc -l)`);
try {
  const started = Date.now();
  const silent = Array.from({ length: silentCount }, () => track(port));
  const slow = Array.from({ length: slowCount }, () => track(port));
  const header = 'GET /graphql HTTP/1.1\r\nHost: gateway\r\nX-Slow: ';
  let sent = 0;
  const trickle = setInterval(() => {
    for (const t of slow) if (!t.closed) t.socket.write(sent < header.length ? header[sent]! : 'a');
    sent += 1;
  }, 100);
  const served = async () => {
    try {
      const response = await gateway.query('{ __typename }');
      return response.status;
    } catch (error) {
      return String(error);
    }
  };
  const during = await served();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const openSilent = silent.filter((t) => !t.closed).length;
    const openSlow = slow.filter((t) => !t.closed).length;
    console.log(
      `${((Date.now() - started) / 1000).toFixed(0)} s: open silent ${openSilent}, slowloris ${openSlow} (client's view); the gateway holds ${serverSide(port)}`,
    );
    if ((openSilent === 0 && openSlow === 0) || Date.now() - started > 60_000) break;
  }
  clearInterval(trickle);
  const answers = new Map<string, number>();
  for (const t of [...silent, ...slow]) {
    const key = t.firstLine || '(closed unanswered)';
    answers.set(key, (answers.get(key) ?? 0) + 1);
  }
  console.log('answers:', Object.fromEntries(answers));
  console.log(`a normal request while they were open: ${during}; after: ${await served()}`);
  for (const t of [...silent, ...slow]) t.socket.destroy();
} finally {
  await gateway.stop();
}
