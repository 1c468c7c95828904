import type { ExecutionArgs } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { SharedResults } from './shared-results.js';

// Subscriptions execute each live event once per distinct (document, operation, variables) and share
// the result between subscribers (see src/transport/shared-results.ts for the contract: public data only).
//
// The stream is handed to Envelop as the final result (setResultAndStopExecution), so plugins listed
// after this one — Yoga's error masking among them — add no per-event layers: with masking on, Envelop
// wraps every subscriber's stream in two more async iterators (an onNext mapper and an error mapper),
// which cost ~25 % of the gateway's CPU per delivered event at 5k subscribers (docs/benchmarks-live.md).
// The shared results are masked instead, once per result, with the same mask (createSharedResults'
// maskError). Hence this plugin must come last among the gateway's plugins: one listed after it would
// not see subscriptions.

// `onStream` is told when each subscriber's stream opens and, through the function it returns, when it
// ends (the request log counts active subscriptions this way, with no per-event layer).
//
// A stream whose HTTP client left while it was being set up (a slow upstream, a Redis wait) is ended
// at once: whatwg-node never reads, nor cancels, a response whose socket has closed, so nothing else
// would end it, and it would hold its upstream feed and its client's subscription slot for good.

export function useSharedSubscriptionResults(
  shared: SharedResults,
  options: { onStream?: (args: ExecutionArgs) => () => void } = {},
): Plugin {
  const { onStream } = options;
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const subscribed = shared.subscribe(args, onStream && (() => onStream(args))).then((result) => {
        if (isAsyncIterable(result) && requestOf(args.contextValue)?.signal.aborted)
          void result[Symbol.asyncIterator]().return?.();
        return result;
      });
      // Envelop resolves a promised result like a subscribe function's (handleMaybePromise).
      setResultAndStopExecution(subscribed as unknown as Parameters<typeof setResultAndStopExecution>[0]);
    },
  };
}

/** The fetch Request an HTTP operation runs for (none over graphql-ws); Yoga's may be a ponyfill's. */
function requestOf(context: unknown): { signal: AbortSignal } | undefined {
  const request = (context as { request?: { signal?: unknown } } | undefined)?.request;
  return request?.signal instanceof AbortSignal ? (request as { signal: AbortSignal }) : undefined;
}
