import { formatQueryResults, type GatewayVariant, measureQuery, type QueryResult } from '../pinned-query.js';
import type { StandaloneScenario } from '../scenario.js';

// Execution strategy for misses (#9 part 4): the 50-asset document with the whole-response cache off
// (MARKETGRAPH_RESPONSE_CACHE=false), so every request is parsed (document cache), validated, executed
// and serialized, its values coming from the warm value cache; graphql-js (Yoga's executor) next to
// graphql-jit (@envelop/graphql-jit, MARKETGRAPH_JIT). Same harness as gc-flags
// (scripts/bench/pinned-query.ts), c=50, rounds interleaved.

const MISS = { MARKETGRAPH_RESPONSE_CACHE: 'false' };
const FLAGS = ['--initial-old-space-size=64', '--heap-growing-percent=100'];
const VARIANTS: readonly GatewayVariant[] = [
  { name: 'graphql-js', flags: FLAGS, env: { ...MISS, MARKETGRAPH_JIT: 'false' } },
  { name: 'graphql-jit', flags: FLAGS, env: { ...MISS, MARKETGRAPH_JIT: 'true' } },
];

export const execution: StandaloneScenario = {
  kind: 'standalone',
  name: 'execution',
  description: 'response cache off: graphql-js vs graphql-jit on the 50-asset query, interleaved rounds',
  async run({ durationS, warmupS, rounds, connections }) {
    const results: QueryResult[] = [];
    for (let round = 1; round <= rounds; round++) {
      const order = VARIANTS.map((_, i) => VARIANTS[(i + round - 1) % VARIANTS.length]!);
      for (const variant of order) {
        console.error(`execution: round ${round}/${rounds}, ${variant.name}`);
        results.push(await measureQuery(variant, round, durationS, warmupS, connections ?? 50));
      }
    }
    return { text: formatQueryResults(results, VARIANTS).join('\n'), json: results };
  },
};
