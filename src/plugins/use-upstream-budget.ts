import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { AppContext } from '../context.js';
import type { BudgetSummary } from '../http/budget.js';

// One warning line per request that had upstream calls refused — by its own limits (http/budget.ts),
// the process's quota, a Retry-After block or an open breaker — with the counts, instead of one line per
// refused call (those stay at debug, see http/admission.ts). Subscriptions are exempt from the limits:
// their resolvers run for every event for as long as they last, which no per-request cap can bound.

export function useUpstreamBudget(deps: { logger: Logger }): Plugin {
  return {
    onExecute({ args }) {
      const budget = (args.contextValue as Partial<AppContext>).upstream;
      if (!budget) return;
      return {
        onExecuteDone() {
          if (budget.refusals() === 0) return;
          deps.logger.warn(
            { operation: args.operationName ?? undefined, upstream: describe(budget.summary()) },
            'request had upstream calls refused',
          );
        },
      };
    },
    onSubscribe({ args }) {
      (args.contextValue as Partial<AppContext>).upstream?.exempt();
    },
  };
}

/** Providers with their calls and only the refusal counts that are not zero. */
function describe(summary: BudgetSummary) {
  const providers: Record<string, Record<string, number>> = {};
  for (const [provider, spend] of Object.entries(summary.providers)) {
    providers[provider] = Object.fromEntries(
      Object.entries(spend).filter(([name, n]) => n > 0 || name === 'calls'),
    );
  }
  return {
    refused: summary.refusals,
    providers,
    ...(summary.candleRows > 0 ? { candleRows: summary.candleRows } : {}),
    ...(Object.keys(summary.overBudget).length > 0 ? { overBudget: summary.overBudget } : {}),
  };
}
