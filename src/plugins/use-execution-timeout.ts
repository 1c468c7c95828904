import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { AppContext } from '../context.js';

// A query or mutation gets `timeoutMs` to produce its (first) result. Past it the client gets
// EXECUTION_TIMEOUT (HTTP 504) and the request's upstream budget is abandoned, so no retry, fallback
// or later batch of it leaves the process; a fetch other requests share through the cache goes on for
// them. Subscriptions are not bounded: they last as long as their client wants.

export function useExecutionTimeout({ timeoutMs }: { timeoutMs: number }): Plugin<Partial<AppContext>> {
  return {
    onExecute({ executeFn, setExecuteFn, args }) {
      const budget = args.contextValue.upstream;
      setExecuteFn((executionArgs) => {
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<{ errors: GraphQLError[] }>((resolve) => {
          timer = setTimeout(() => {
            budget?.abandon();
            resolve({
              errors: [
                new GraphQLError(
                  `the operation did not finish within ${timeoutMs} ms (MARKETGRAPH_EXECUTION_TIMEOUT_MS)`,
                  {
                    extensions: { code: 'EXECUTION_TIMEOUT', timeoutMs, http: { status: 504 } },
                  },
                ),
              ],
            });
          }, timeoutMs);
          timer.unref();
        });
        return Promise.race([Promise.resolve(executeFn(executionArgs)), timedOut]).finally(() =>
          clearTimeout(timer),
        ) as ReturnType<typeof executeFn>;
      });
    },
  };
}
