import { getOperationAST } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Freshness } from '../freshness.js';

// Tells the response cache how an execution ended, on the Freshness record the transport put in the
// context (src/transport/fast-path.ts): only a query that produced one result without errors is
// complete. Anything else — a subscription, a stream, an error anywhere, a stopped execution — leaves
// the record incomplete or refused, and the answer is not stored.

export function useResponseCache(): Plugin<{ freshness?: Freshness }> {
  return {
    onExecute({ args }) {
      const freshness = args.contextValue.freshness;
      if (!freshness) return;
      if (getOperationAST(args.document, args.operationName)?.operation !== 'query') {
        freshness.refuse('operation');
        return;
      }
      return {
        onExecuteDone({ result }) {
          if (isAsyncIterable(result)) freshness.refuse('stream');
          else if (result.errors?.length) freshness.refuse('errors');
          else freshness.markComplete();
        },
      };
    },
    onSubscribe({ args }) {
      args.contextValue.freshness?.refuse('subscription');
    },
  };
}
