import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { createCache as CreateCache, FetchResult } from '../../src/cache.js';
import type { loadConfig as LoadConfig } from '../../src/config.js';

// `npx tsx scripts/bench/cache-read.ts [--keys 50] [--iterations 10000] [--rounds 9] [--baseline DIR]`
//
// The in-process cache's read path, no Redis: one getMany of --keys keys, all fresh (hit), and one of
// --keys keys never seen (miss: the fetch answers at once and the entries are written; a tenth of the
// iterations). Prints the median over the rounds of the CPU time (user + system) per getMany, in µs:
// CPU time rather than wall time, so that other processes on a shared machine disturb it less.
// --baseline points at another version's src/ (`git archive <commit> src | tar -x -C /tmp/before`,
// with a node_modules symlink beside it); both versions then run in this process, round by round in
// turn, and the difference is printed too.

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '50' },
    iterations: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '9' },
    baseline: { type: 'string' },
  },
});
const count = Number(values.keys);
const iterations = Number(values.iterations);
const rounds = Number(values.rounds);

type Value = { usd: number; at: Date };
const value = (key: string): Value => ({ usd: key.length + 0.5, at: new Date(0) });
const fetch = async (keys: string[]): Promise<FetchResult<Value>> => new Map(keys.map((k) => [k, value(k)]));
const missing = (key: string) => new Error(`no ${key}`);

async function subject(src: string) {
  const { createCache } = (await import(`${src}cache.ts`)) as { createCache: typeof CreateCache };
  const { loadConfig } = (await import(`${src}config.ts`)) as { loadConfig: typeof LoadConfig };
  const cache = createCache({ config: loadConfig({ env: {} }) });
  const ns = cache.namespace<Value>('quote', 3_600_000);
  const hot = Array.from({ length: count }, (_, i) => `asset-${i}`);
  await ns.prime(new Map(hot.map((k) => [k, value(k)])));
  let fresh = 0;
  const cold = () => Array.from({ length: count }, () => `cold-${fresh++}`);
  const run = async (keys: () => readonly string[], n: number) => {
    const started = process.cpuUsage();
    for (let i = 0; i < n; i++) await ns.getMany(keys(), fetch, missing);
    const used = process.cpuUsage(started);
    return (used.user + used.system) / n;
  };
  return {
    hit: () => run(() => hot, iterations),
    miss: () => run(cold, Math.ceil(iterations / 10)),
    close: () => cache.close(),
  };
}

const here = new URL('../../src/', import.meta.url).href;
const versions: Array<[string, string]> = [['current', here]];
if (values.baseline)
  versions.unshift(['baseline', pathToFileURL(`${values.baseline.replace(/\/$/, '')}/`).href]);
const subjects = await Promise.all(versions.map(([, src]) => subject(src)));
const samples = versions.map(() => ({ hit: [] as number[], miss: [] as number[] }));
for (const s of subjects) await s.hit(); // warm-up
for (let r = 0; r < rounds; r++) {
  for (const [i, s] of subjects.entries()) {
    samples[i]!.hit.push(await s.hit());
    samples[i]!.miss.push(await s.miss());
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const out: Record<string, unknown> = { keys: count, iterations, rounds };
for (const [i, [name]] of versions.entries()) {
  out[name] = { hitUs: +median(samples[i]!.hit).toFixed(2), missUs: +median(samples[i]!.miss).toFixed(2) };
}
if (values.baseline) {
  const diff = (pick: 'hit' | 'miss') =>
    +median(samples[1]![pick].map((x, r) => x - samples[0]![pick][r]!)).toFixed(2);
  out.currentMinusBaseline = { hitUs: diff('hit'), missUs: diff('miss') };
}
console.log(JSON.stringify(out));
await Promise.all(subjects.map((s) => s.close()));
