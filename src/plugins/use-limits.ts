import {
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLSchema,
  getOperationAST,
  getVariableValues,
  Kind,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { estimateCost } from '../cost/estimate.js';
import type { CostTable } from '../cost/upstream-cost.js';
import { limitExceeded, quote } from '../errors.js';
import { checkVariables, type VariableSite, variableSites } from '../limits/input-values.js';
import { shortenError } from '../limits/short-error.js';

// What an operation may make us do, checked with its variables before any resolver runs, in this order:
// variable values against their argument limits (on the raw JSON, so a million ids are refused on the
// length of the list), variable coercion (coded BAD_USER_INPUT), then the field count (fragments
// expanded) and the cost: the upstream calls the operation can cause, with the providers' real batch
// sizes (src/cost/upstream-cost.ts). The estimate is left on the context (`costEstimate`) for
// extensions.cost and per-client cost budgets. Depth, aliases and directives are checked earlier, at
// validation (use-operation-limits.ts).

export interface LimitOptions {
  /** Upstream calls one operation may be estimated to cause. */
  maxCost: number;
  /** Field selections per operation, fragments expanded. */
  maxNodes?: number;
  /** What each field costs upstream. */
  table: CostTable;
}

export function useLimits({ maxCost, maxNodes = 1_000, table }: LimitOptions): Plugin {
  const fragmentsByDocument = new WeakMap<DocumentNode, Record<string, FragmentDefinitionNode>>();
  const sitesByDocument = new WeakMap<DocumentNode, VariableSite[]>();

  const check = (args: {
    schema: GraphQLSchema;
    document: DocumentNode;
    variableValues?: Record<string, unknown> | null;
    operationName?: string | null;
    contextValue?: unknown;
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
    let coerced: Record<string, unknown> | undefined;
    if (operation.variableDefinitions?.length) {
      const sites = sitesByDocument.get(args.document) ?? variableSites(args.schema, args.document);
      sitesByDocument.set(args.document, sites);
      const refused = checkVariables(sites, variables);
      if (refused) return [refused];
      const result = getVariableValues(args.schema, operation.variableDefinitions, variables, {
        maxErrors: 5,
      });
      if (result.errors) return result.errors.map((e) => shortenError(asBadUserInput(e)));
      coerced = result.coerced;
    }
    let fragments = fragmentsByDocument.get(args.document);
    if (!fragments) {
      fragments = {};
      for (const d of args.document.definitions)
        if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
      fragmentsByDocument.set(args.document, fragments);
    }
    const estimate = estimateCost({
      schema: args.schema,
      operation,
      fragments,
      variables: coerced ?? {},
      table,
      maxNodes,
    });
    if (estimate.nodes > maxNodes) {
      return [
        limitExceeded(
          'NODE_LIMIT_EXCEEDED',
          `the operation selects more than ${maxNodes} fields (fragments expanded), the limit`,
          maxNodes,
        ),
      ];
    }
    const context = args.contextValue as { costEstimate?: number } | undefined;
    if (context) context.costEstimate = estimate.calls;
    if (estimate.calls <= maxCost) return undefined;
    return [
      new GraphQLError(
        `the operation could make ${estimate.calls} upstream calls, more than the limit of ${maxCost}; ask for fewer items (first, ids) or fewer per-item fields (candles, signals, onChainMetrics, quotes)`,
        { extensions: { code: 'COST_LIMIT_EXCEEDED', cost: estimate.calls, maxCost } },
      ),
    ];
  };

  const refuse = (args: Parameters<typeof check>[0], stop: (result: { errors: GraphQLError[] }) => void) => {
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
