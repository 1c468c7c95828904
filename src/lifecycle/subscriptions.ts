import type { ServerResponse } from 'node:http';
import { GraphQLError } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';

// The subscriptions a shutdown must end cleanly, as far as Yoga's HTTP transports are concerned (SSE
// over node:http; graphql-ws ends its own, see src/transport/ws-transport.ts). Ending one means returning its
// stream: the feed behind it settles the pending read as done, and Yoga's SSE processor then writes
// `event: complete` and ends the response. Tracking costs nothing per event: a stream is noted when
// it starts and dropped when its response closes, and no iterator layer is added (which is why this
// plugin sits before useSharedSubscriptionResults, whose result it sees, and adds no onNext/onEnd).

export const SHUTTING_DOWN = 'SHUTTING_DOWN';

export interface SubscriptionTracker {
  plugin: Plugin;
  /** From now on new subscriptions are answered with a SHUTTING_DOWN error. */
  refuse(): void;
  /** Ends every tracked subscription (idempotent; call again for ones that started meanwhile). */
  endAll(): void;
  /** Subscriptions streaming now. */
  open(): number;
}

type Returnable = AsyncIterator<unknown> & { return?: () => unknown };

export function trackSubscriptions(): SubscriptionTracker {
  const streams = new Set<Returnable>();
  let refusing = false;

  const plugin: Plugin = {
    onSubscribe({ args, setResultAndStopExecution }) {
      if (refusing) {
        setResultAndStopExecution({
          errors: [
            new GraphQLError('the server is shutting down; subscribe again to reach another instance', {
              extensions: { code: SHUTTING_DOWN },
            }),
          ],
        });
        return;
      }
      const context = args.contextValue as { res?: ServerResponse; socket?: unknown };
      // graphql-ws subscriptions carry their socket; yoga.fetch ones (in-process) have no response.
      const res = context.socket === undefined ? context.res : undefined;
      if (!res || typeof res.once !== 'function') return;
      return {
        onSubscribeResult({ result }) {
          if (!isAsyncIterable(result)) return;
          const stream = result as unknown as Returnable;
          streams.add(stream);
          res.once('close', () => streams.delete(stream));
        },
      };
    },
  };

  return {
    plugin,
    refuse() {
      refusing = true;
    },
    endAll() {
      for (const stream of streams) {
        try {
          void Promise.resolve(stream.return?.()).catch(() => undefined);
        } catch {
          // A stream that throws on return is ending anyway.
        }
      }
    },
    open: () => streams.size,
  };
}
