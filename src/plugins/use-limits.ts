import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { GraphQLError } from 'graphql';
import { type ComplexityEstimator, getComplexity } from 'graphql-query-complexity';
import type { Plugin } from 'graphql-yoga';

// Query cost and depth limits. Cost follows what a query makes us do upstream: a field costs its
// `extensions.cost` (fields that need an unbatchable provider call per parent, like candles, cost more)
// plus its children, times how many items it asks for (`first`, or the length of `ids` / `assetIds`),
// unless `extensions.paged` is false (a page of candles is one upstream window, not one call per row).
// Rejected operations get COST_LIMIT_EXCEEDED before any resolver runs.

export interface LimitOptions {
  maxCost: number;
  maxDepth?: number;
  /** Page size assumed for connections queried without `first`. */
  defaultPageSize?: number;
  /** Larger pages are refused by the resolvers with BAD_USER_INPUT; cost them at this size. */
  maxPageSize?: number;
}

export function useLimits({
  maxCost,
  maxDepth = 12,
  defaultPageSize = 50,
  maxPageSize = 250,
}: LimitOptions): Plugin {
  const estimator: ComplexityEstimator = ({ field, args, childComplexity }) => {
    const own = typeof field.extensions?.cost === 'number' ? field.extensions.cost : 1;
    const count =
      field.extensions?.paged === false
        ? 1
        : ((typeof args.first === 'number' ? args.first : undefined) ??
          (Array.isArray(args.ids) ? args.ids.length : undefined) ??
          (Array.isArray(args.assetIds) ? args.assetIds.length : undefined) ??
          (field.name === 'assets' ? defaultPageSize : 1));
    return Math.min(Math.max(1, count), maxPageSize) * (own + childComplexity);
  };

  const check = (args: {
    schema: Parameters<typeof getComplexity>[0]['schema'];
    document: Parameters<typeof getComplexity>[0]['query'];
    variableValues?: Record<string, unknown> | null;
    operationName?: string | null;
  }) => {
    const cost = getComplexity({
      schema: args.schema,
      query: args.document,
      variables: args.variableValues ?? {},
      ...(args.operationName ? { operationName: args.operationName } : {}),
      estimators: [estimator],
    });
    if (cost <= maxCost) return undefined;
    return new GraphQLError(
      `query cost ${Math.ceil(cost)} exceeds the limit of ${maxCost}; ask for fewer items (first, ids) or fewer costly fields (candles, signals, onChainMetrics, quotes)`,
      { extensions: { code: 'COST_LIMIT_EXCEEDED', cost: Math.ceil(cost), maxCost } },
    );
  };

  return {
    onPluginInit({ addPlugin }) {
      addPlugin(maxDepthPlugin({ n: maxDepth, exposeLimits: true }) as Plugin);
    },
    onExecute({ args, setResultAndStopExecution }) {
      const error = check(args);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = check(args);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}
