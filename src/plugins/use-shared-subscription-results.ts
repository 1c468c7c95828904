import type { Plugin } from 'graphql-yoga';
import type { SharedResults } from '../live/shared-results.js';

// Subscriptions execute each live event once per distinct (document, operation, variables) and share
// the result between subscribers (see src/live/shared-results.ts for the contract: public data only).

export function useSharedSubscriptionResults(shared: SharedResults): Plugin {
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(shared.subscribe as Parameters<typeof setSubscribeFn>[0]);
    },
  };
}
