import {
  formatQueryResults,
  type GatewayVariant,
  measureQuery,
  median,
  type QueryResult,
} from '../pinned-query.js';
import type { StandaloneScenario } from '../scenario.js';
import { type FanoutCase, runFanout } from './fanout.js';

// Which V8 heap flags the gateway should run with (#9 part 5): the same gateway under each candidate
// set of flags, on the cached 50-asset query (the race's document, c=50, scripts/bench/pinned-query.ts:
// the compiled build pinned to CPU 0, this runner to CPU 1) and on the fan-out (scenarios/fanout.ts,
// gateway side only, 1k and 5k subscribers; it runs the gateway through tsx). A fresh process per
// variant and round, rounds interleaved (the variant order rotates). GC_FLAGS_FANOUT=off skips the
// fan-out (quick runs).

const VARIANTS: readonly GatewayVariant[] = [
  { name: 'none', flags: [] },
  { name: 'old64+grow100', flags: ['--initial-old-space-size=64', '--heap-growing-percent=100'] },
  { name: 'grow100', flags: ['--heap-growing-percent=100'] },
  { name: 'grow100+semi4', flags: ['--heap-growing-percent=100', '--max-semi-space-size=4'] },
];
const CONNECTIONS = 50;

type FanoutResult = FanoutCase & { round: number; variant: string };

export const gcFlags: StandaloneScenario = {
  kind: 'standalone',
  name: 'gc-flags',
  description: 'V8 heap flags: cached 50-asset query (c=50) and fan-out per flag set, interleaved rounds',
  async run({ durationS, warmupS, rounds, connections }) {
    const hot: QueryResult[] = [];
    const fan: FanoutResult[] = [];
    const skipFanout = process.env.GC_FLAGS_FANOUT === 'off';
    for (let round = 1; round <= rounds; round++) {
      const order = VARIANTS.map((_, i) => VARIANTS[(i + round - 1) % VARIANTS.length]!);
      for (const variant of order) {
        console.error(`gc-flags: round ${round}/${rounds}, ${variant.name}: hot`);
        hot.push(await measureQuery(variant, round, durationS, warmupS, connections ?? CONNECTIONS));
        if (skipFanout) continue;
        console.error(`gc-flags: round ${round}/${rounds}, ${variant.name}: fanout`);
        const { cases } = await runFanout({ durationS, gatewayFlags: variant.flags, servers: ['gateway'] });
        fan.push(...cases.map((c) => ({ ...c, round, variant: variant.name })));
      }
    }
    return { text: format(hot, fan), json: { hot, fanout: fan } };
  },
};

function format(hot: QueryResult[], fan: FanoutResult[]): string {
  const lines = ['hot:', ...formatQueryResults(hot, VARIANTS)];
  if (fan.length > 0) {
    lines.push(
      'fanout (medians): variant  subs  delivered/offered  p99 ms  CPU µs/delivery  RSS base→loaded MB  MB per 1k',
    );
    for (const { name } of VARIANTS) {
      for (const subs of [...new Set(fan.map((f) => f.subscribers))]) {
        const of = fan.filter((f) => f.variant === name && f.subscribers === subs);
        const med = (pick: (f: FanoutCase) => number) => median(of.map(pick));
        lines.push(
          `  ${name}  ${subs}  ${med((f) => f.deliveredRatio)}  ${med((f) => f.p99Ms)}  ${med((f) => f.serverCpuUsPerDelivery)}  ${med((f) => f.rssBaseMb)}→${med((f) => f.rssMb)}  ${med((f) => f.rssPer1kMb)}`,
        );
      }
    }
    for (const f of fan) {
      lines.push(
        `  round ${f.round} ${f.variant} ${f.subscribers}: ratio ${f.deliveredRatio} p99 ${f.p99Ms} ms, ${f.serverCpuUsPerDelivery} µs/delivery, RSS ${f.rssBaseMb}→${f.rssMb} MB`,
      );
    }
  }
  return lines.join('\n');
}
