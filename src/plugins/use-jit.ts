import type { Plugin } from '@envelop/core';
import { type JITCache, useGraphQlJit } from '@envelop/graphql-jit';
import { BREAK, type DocumentNode, getOperationAST, visit } from 'graphql';

// Queries run through graphql-jit, which compiles a document once into a function that resolves and
// serializes it; the response cache's misses spent ~0.8× the CPU per request (docs/benchmarks.md,
// "Execution strategy for misses"). Left to Yoga's executor: subscriptions (their per-event execution
// is shared, src/plugins/use-shared-subscription-results.ts) and documents with @defer or @stream,
// which graphql-jit does not implement. Compiled queries live as long as their parsed document (a
// WeakMap keyed by it inside the plugin), so the document cache's byte bound also bounds them.

export interface JitOptions {
  /** A second, string-keyed cache of compiled documents (the plugin's own option; tests count it). */
  cache?: JITCache;
}

const eligibility = new WeakMap<DocumentNode, Map<string, boolean>>();

/** Whether this operation of the document is a query with no @defer or @stream anywhere. */
export function jitEligible(document: DocumentNode, operationName?: string | null): boolean {
  let byOperation = eligibility.get(document);
  if (!byOperation) {
    byOperation = new Map();
    eligibility.set(document, byOperation);
  }
  const key = operationName ?? '';
  let eligible = byOperation.get(key);
  if (eligible === undefined) {
    eligible =
      getOperationAST(document, operationName)?.operation === 'query' && !hasIncrementalDirective(document);
    byOperation.set(key, eligible);
  }
  return eligible;
}

function hasIncrementalDirective(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Directive(node) {
      if (node.name.value !== 'defer' && node.name.value !== 'stream') return undefined;
      found = true;
      return BREAK;
    },
  });
  return found;
}

export function useJit(options: JitOptions = {}): Plugin {
  return useGraphQlJit(
    {},
    {
      enableIf: (args) => jitEligible(args.document, args.operationName),
      ...(options.cache ? { cache: options.cache } : {}),
    },
  );
}
