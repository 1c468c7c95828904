import { createYoga, type Plugin } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { upstreamCostTable } from '../../src/cost/upstream-cost.js';
import { useLimits } from '../../src/plugins/use-limits.js';
import { buildSchema } from '../../src/schema/index.js';

// use-limits on its own: the estimate it leaves on the context (what per-client cost budgets charge at
// onExecute) follows the variables, and over the limit nothing executes.

const table = upstreamCostTable({ config: loadConfig({ env: {} }), defaultPageSize: 50, maxPageSize: 250 });
const CANDLES = 'query($n: Int) { assets(first: $n) { edges { node { candles { gaps { from } } } } } }';

function gateway(maxCost: number) {
  const seen: Array<number | undefined> = [];
  /** After use-limits: records the estimate and stops, so no resolver (and no service) is needed. */
  const probe: Plugin<{ costEstimate?: number }> = {
    onExecute({ args, setResultAndStopExecution }) {
      seen.push(args.contextValue.costEstimate);
      setResultAndStopExecution({ data: { executed: true } });
    },
  };
  const yoga = createYoga({ schema: buildSchema(), plugins: [useLimits({ maxCost, table }), probe] });
  const post = async (query: string, variables?: Record<string, unknown>) => {
    const response = await yoga.fetch('http://test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query, variables }),
    });
    // biome-ignore lint/suspicious/noExplicitAny: probed field by field
    return { status: response.status, body: (await response.json()) as any };
  };
  return { post, seen };
}

describe('useLimits', () => {
  it('leaves the estimate on the context before execution, following the variables', async () => {
    const g = gateway(50);
    expect((await g.post(CANDLES, { n: 10 })).body.data).toEqual({ executed: true });
    expect((await g.post(CANDLES, { n: 40 })).body.data).toEqual({ executed: true });
    expect(g.seen).toEqual([11, 41]);
  });

  it('refuses over the limit with a coded 400, before execution', async () => {
    const g = gateway(50);
    const res = await g.post(CANDLES, { n: 100 });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].extensions).toEqual({ code: 'COST_LIMIT_EXCEEDED', cost: 101, maxCost: 50 });
    expect(g.seen).toEqual([]);
  });

  it('codes a variable of the wrong type as BAD_USER_INPUT', async () => {
    const g = gateway(50);
    const res = await g.post(CANDLES, { n: 'ten' });
    expect(res.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(g.seen).toEqual([]);
  });
});
