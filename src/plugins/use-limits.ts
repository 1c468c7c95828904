import {
  type DocumentNode,
  GraphQLError,
  type GraphQLSchema,
  getOperationAST,
  getVariableValues,
} from 'graphql';
import { type ComplexityEstimator, getComplexity } from 'graphql-query-complexity';
import type { Plugin } from 'graphql-yoga';
import { limitExceeded, quote } from '../errors.js';
import { checkVariables, type VariableSite, variableSites } from '../limits/input-values.js';
import { shortenError } from '../limits/short-error.js';

// What an operation may make us do, checked with its variables before any resolver runs, in this order:
// variable values against their argument limits (on the raw JSON, so a million ids are refused on the
// length of the list), variable coercion (coded BAD_USER_INPUT), then the field count (fragments
// expanded) and the query cost. Cost follows what a query makes us do upstream: a field costs its
// `extensions.cost` (fields that need an unbatchable provider call per parent, like candles, cost more)
// plus its children, times how many items it asks for (`first`, or the length of `ids` / `assetIds`),
// unless `extensions.paged` is false (a page of candles is one upstream window, not one call per row).
// Depth, aliases and directives are checked earlier, at validation (use-operation-limits.ts).

export interface LimitOptions {
  maxCost: number;
  /** Field selections per operation, fragments expanded. */
  maxNodes?: number;
  /** Page size assumed for connections queried without `first`. */
  defaultPageSize?: number;
  /** Larger pages are refused by the resolvers with BAD_USER_INPUT; cost them at this size. */
  maxPageSize?: number;
}

/** graphql-query-complexity's own message for its node cap (test/plugins/use-limits.test.ts pins it). */
export const NODE_CAP_MESSAGE = /maximum allowed number of nodes/;

export function useLimits({
  maxCost,
  maxNodes = 1_000,
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
  const sitesByDocument = new WeakMap<DocumentNode, VariableSite[]>();

  const check = (args: {
    schema: GraphQLSchema;
    document: DocumentNode;
    variableValues?: Record<string, unknown> | null;
    operationName?: string | null;
  }): GraphQLError[] | undefined => {
    const variables = args.variableValues ?? {};
    const operation = getOperationAST(args.document, args.operationName);
    if (!operation) {
      // Over HTTP Yoga refuses this earlier; graphql-ws gets here.
      return [
        new GraphQLError(
          args.operationName
            ? `the document has no operation named ${quote(args.operationName)}`
            : 'the document has several operations: name one with operationName',
          { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } },
        ),
      ];
    }
    if (operation.variableDefinitions?.length) {
      const sites = sitesByDocument.get(args.document) ?? variableSites(args.schema, args.document);
      sitesByDocument.set(args.document, sites);
      const refused = checkVariables(sites, variables);
      if (refused) return [refused];
      const coerced = getVariableValues(args.schema, operation.variableDefinitions, variables, {
        maxErrors: 5,
      });
      if (coerced.errors) return coerced.errors.map((e) => shortenError(asBadUserInput(e)));
    }
    let cost: number;
    try {
      cost = getComplexity({
        schema: args.schema,
        query: args.document,
        variables,
        ...(args.operationName ? { operationName: args.operationName } : {}),
        estimators: [estimator],
        // The library throws once it has evaluated this many; our limit is on the ones before it.
        maxQueryNodes: maxNodes + 1,
      });
    } catch (error) {
      if (!(error instanceof GraphQLError && NODE_CAP_MESSAGE.test(error.message))) throw error;
      return [
        limitExceeded(
          'NODE_LIMIT_EXCEEDED',
          `the operation selects more than ${maxNodes} fields (fragments expanded), the limit`,
          maxNodes,
        ),
      ];
    }
    if (cost <= maxCost) return undefined;
    return [
      new GraphQLError(
        `query cost ${Math.ceil(cost)} exceeds the limit of ${maxCost}; ask for fewer items (first, ids) or fewer costly fields (candles, signals, onChainMetrics, quotes)`,
        { extensions: { code: 'COST_LIMIT_EXCEEDED', cost: Math.ceil(cost), maxCost } },
      ),
    ];
  };

  const refuse = (
    args: Parameters<typeof check>[0] & { contextValue?: unknown },
    stop: (result: { errors: GraphQLError[] }) => void,
  ) => {
    const errors = check(args);
    if (!errors) return;
    const overHttp = (args.contextValue as { request?: unknown } | undefined)?.request !== undefined;
    stop({ errors: overHttp ? errors.map(asRequestError) : errors });
  };

  return {
    onExecute({ args, setResultAndStopExecution }) {
      refuse(args, setResultAndStopExecution);
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      refuse(args, setResultAndStopExecution);
    },
  };
}

/**
 * The operation is refused whole, so over HTTP it is a request error: 400 for
 * application/graphql-response+json, 200 for application/json (Yoga's `spec` flag, as for validation;
 * Yoga strips `http` from what it sends).
 */
function asRequestError(error: GraphQLError): GraphQLError {
  (error.extensions as Record<string, unknown>).http ??= { status: 400, spec: true };
  return error;
}

function asBadUserInput(error: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    extensions: { ...error.extensions, code: 'BAD_USER_INPUT' },
  });
}
