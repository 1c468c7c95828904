import { GraphQLError } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { ClientBudgets } from '../auth/budgets.js';
import { chargeError } from '../auth/errors.js';
import { RequestAuth } from '../auth/request-auth.js';

// Charges each operation to its client's budgets when it starts executing (src/auth/budgets.ts): one
// request (unless the fast path charged it already) and the operation's estimated cost, which the
// cost plugins before this one have put in the context (`costEstimate`, 1 when none did). Over either
// budget the operation is refused with RATE_LIMITED, `extensions.retryAfter` and HTTP 429 with
// Retry-After. A subscription also takes one of its client's slots (plan.maxSubscriptions) for as long
// as its stream is open: `streamOpened` hands the release to the shared-results plugin, which sees
// every stream end without a per-event layer.

export const SUBSCRIPTION_LIMIT_EXCEEDED = 'SUBSCRIPTION_LIMIT_EXCEEDED';

interface BudgetedContext {
  clientBudget?: unknown;
  costEstimate?: number;
}

export function useClientBudgets(budgets: ClientBudgets): Plugin {
  async function charge(context: BudgetedContext): Promise<GraphQLError | undefined> {
    const auth = context.clientBudget;
    if (!(auth instanceof RequestAuth) || !auth.identity.client) return undefined;
    const cost = context.costEstimate ?? 1;
    // One request per operation. A batch's operations share their HTTP request's record, whose first
    // operation the fast path's gate may have charged already.
    const first = auth.operations++ === 0;
    const outcome = await budgets.charge(auth.identity.client, {
      requests: first && auth.requestCharged ? 0 : 1,
      cost: Math.max(0, Math.ceil(cost)),
    });
    auth.requestCharged = true;
    if ('snapshot' in outcome) auth.snapshot = outcome.snapshot;
    return outcome.ok ? undefined : chargeError(outcome);
  }

  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const refused = await charge(args.contextValue as BudgetedContext);
      if (refused) setResultAndStopExecution({ errors: [refused] });
    },
    async onSubscribe({ args, setResultAndStopExecution }) {
      const context = args.contextValue as BudgetedContext;
      const refused = await charge(context);
      if (refused) {
        setResultAndStopExecution({ errors: [refused] });
        return;
      }
      const auth = context.clientBudget;
      const client = auth instanceof RequestAuth ? auth.identity.client : undefined;
      if (!(auth instanceof RequestAuth) || !client) return;
      const release = await budgets.openSubscription(client);
      if (!release) {
        setResultAndStopExecution({
          errors: [
            new GraphQLError(
              `this client may hold at most ${client.plan.maxSubscriptions} subscriptions at once; complete one first`,
              {
                extensions: {
                  code: SUBSCRIPTION_LIMIT_EXCEEDED,
                  maxSubscriptions: client.plan.maxSubscriptions,
                },
              },
            ),
          ],
        });
        return;
      }
      auth.releaseSlot = release;
      return {
        onSubscribeResult({ result }) {
          // No stream opened (refused by the schema, bad arguments): the slot is free again. A stream
          // frees it when it ends, however it ends (useSharedSubscriptionResults' onStream).
          if (!isAsyncIterable(result)) release();
        },
      };
    },
  };
}

/** For useSharedSubscriptionResults' onStream: what frees the stream's slot when it ends. */
export function streamOpened(contextValue: unknown): () => void {
  const auth = (contextValue as BudgetedContext | undefined)?.clientBudget;
  return auth instanceof RequestAuth && auth.releaseSlot ? auth.releaseSlot : noop;
}

function noop() {}
