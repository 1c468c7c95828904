import type { RequestListener, Server } from 'node:http';

// Draining one HTTP server: stop accepting connections, let every request in flight finish, end the
// streams (SSE, graphql-ws) with their protocol's `complete`, and close each connection as soon as it
// is idle — all within a grace period, after which whatever is left is cut. Requests that arrive on an
// open keep-alive connection meanwhile are still served, with `Connection: close`.

export interface DrainOptions {
  server: Server;
  graceMs: number;
  /** Ends the streams (called again every `pollMs` for ones that started meanwhile). */
  endStreams(): void;
  /** Cuts what is left when the grace runs out (open connections, WebSockets). */
  cut(): void;
  pollMs?: number;
}

export interface Drain {
  /** Wraps the request listener: during a drain, answers say `Connection: close`. */
  requests(handler: RequestListener): RequestListener;
  readonly draining: boolean;
  /** Resolves true when every connection closed within the grace, false when some were cut. */
  drain(options: DrainOptions): Promise<boolean>;
}

export function createDrain(): Drain {
  let draining = false;
  return {
    requests: (handler) => (req, res) => {
      if (draining) res.setHeader('connection', 'close');
      handler(req, res);
    },
    get draining() {
      return draining;
    },
    async drain({ server, graceMs, endStreams, cut, pollMs = 25 }) {
      draining = true;
      // Closing stops accepting at once; its callback runs when the last connection is gone.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const sweep = () => {
        endStreams();
        server.closeIdleConnections();
      };
      sweep();
      const interval = setInterval(sweep, pollMs);
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<'expired'>((resolve) => {
        timer = setTimeout(() => resolve('expired'), graceMs);
      });
      const outcome = await Promise.race([closed.then(() => 'closed' as const), expired]);
      clearInterval(interval);
      clearTimeout(timer);
      if (outcome === 'closed') return true;
      cut();
      server.closeAllConnections();
      await closed;
      return false;
    },
  };
}
