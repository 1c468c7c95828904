import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { AppContext } from '../context.js';
import { costReport, type FreshnessReport, type QuotaView } from '../cost/report.js';

// extensions.cost and extensions.freshness on every query and mutation answer (README "Cost and
// freshness"): `freshness` first, `cost` last, so the serialized answer ends with the cost object and
// the response cache can splice in a hit's own (src/transport/fast-path.ts reads `costSplice`).
// Incremental delivery (@defer/@stream) carries them on every payload, as they stand when it is sent.
// Subscriptions carry neither: their events are shared between subscribers (src/live/shared-results.ts).

/** Left by the transport in the server context; the plugin writes the cost JSON it serialized last. */
export interface CostSplice {
  json?: string;
}

export function useCostReport(deps: {
  quota: QuotaView;
}): Plugin<Partial<AppContext> & { costSplice?: CostSplice }> {
  return {
    onExecute({ args }) {
      const ctx = args.contextValue;
      if (!ctx.upstream) return;
      const extensions = (existing: Record<string, unknown> | undefined) => {
        const reads = ctx.reads;
        const freshness: FreshnessReport = {
          oldestAsOf: reads?.oldestAsOf === undefined ? null : new Date(reads.oldestAsOf).toISOString(),
          stale: reads?.stale ?? false,
        };
        const cost = costReport({
          estimate: ctx.costEstimate,
          calls: ctx.upstream!.calls(),
          cacheHits: reads?.hits ?? 0,
          budget: ctx.clientBudget?.remaining(),
          quota: deps.quota,
        });
        if (ctx.costSplice) ctx.costSplice.json = JSON.stringify(cost);
        // `cost` must stay the last key: see the top of this file.
        const { cost: _cost, freshness: _freshness, ...rest } = existing ?? {};
        return { ...rest, freshness, cost };
      };
      return {
        onExecuteDone({ result, setResult }) {
          if (!isAsyncIterable(result)) {
            // `extensions` last in the answer too.
            const { extensions: existing, ...rest } = result;
            setResult({ ...rest, extensions: extensions(existing) });
            return;
          }
          return {
            onNext({ result: part, setResult: setPart }) {
              setPart({ ...part, extensions: extensions(part.extensions) });
            },
          };
        },
      };
    },
  };
}
