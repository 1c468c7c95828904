import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { isLoopback } from '../auth/client-address.js';
import { BodyTooLargeError, declaresTooLarge, readCappedBody } from '../read-capped-body.js';
import { markCaller } from './caller.js';
import { withClientErrors } from './rpc-errors.js';
import { createMcpSession, type McpSession, type SessionDeps } from './session.js';

// MCP over Streamable HTTP at /mcp: one SDK transport and session per client session (the
// `mcp-session-id` header), so a session can hold price subscriptions and be sent notifications on its
// GET stream. Sessions are capped in number, in all and per caller (its address: a session is opened
// before any credential is checked), and closed after they have been idle for a while. A session counts
// from the moment its initialize is admitted, not once it has been answered, so initializes arriving
// together cannot all pass the cap.
// The SDK queues a session's notifications for its GET stream without a bound (its stream ignores
// backpressure), so a client that keeps its session but stops reading would grow the process for as
// long as it liked: a stream whose socket has not drained for `stalledStreamMs` is closed.

export interface McpHttpOptions {
  maxSessions: number;
  idleMs: number;
  /** A GET stream whose socket has not drained for this long is closed (the SDK queues without a bound). */
  stalledStreamMs: number;
  maxBodyBytes: number;
  /** The caller's address (src/auth/client-address.ts); its GraphQL calls are charged to it. */
  addressOf?: (req: IncomingMessage) => string;
  onError?: (error: unknown) => void;
}

export interface McpHttp {
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  sessions(): number;
  close(): Promise<void>;
}

interface Entry {
  transport: StreamableHTTPServerTransport;
  session: McpSession;
  lastSeen: number;
  caller: string;
}

/** One caller may hold this share of the sessions (at least one). */
const CALLER_SHARE = 4;

export function createMcpHttp(deps: Omit<SessionDeps, 'headers'>, options: McpHttpOptions): McpHttp {
  const sessions = new Map<string, Entry>();
  /** Admitted sessions (initializing or open) per caller, and initializes not answered yet. */
  const perCaller = new Map<string, number>();
  let initializing = 0;
  const maxPerCaller = Math.max(1, Math.floor(options.maxSessions / CALLER_SHARE));
  const release = (caller: string) => {
    const held = (perCaller.get(caller) ?? 1) - 1;
    if (held > 0) perCaller.set(caller, held);
    else perCaller.delete(caller);
  };
  /** Set by close(): a request still reading its body then must not open a session close() never ends. */
  let closed = false;
  const sweep = setInterval(
    () => {
      const cutoff = Date.now() - options.idleMs;
      for (const [id, entry] of sessions) if (entry.lastSeen < cutoff) void end(id, entry);
    },
    Math.max(1_000, Math.min(60_000, options.idleMs / 2)),
  );
  sweep.unref();

  /** Open GET streams, each with since when its response has been waiting for a drain. */
  const streams = new Map<ServerResponse, number | undefined>();
  let watch: NodeJS.Timeout | undefined;
  const checkStreams = () => {
    const now = Date.now();
    for (const [res, since] of streams) {
      if (!res.writableNeedDrain) streams.set(res, undefined);
      else if (since === undefined) streams.set(res, now);
      else if (now - since >= options.stalledStreamMs) {
        streams.delete(res);
        res.destroy();
      }
    }
    if (streams.size === 0) {
      clearInterval(watch);
      watch = undefined;
    }
  };
  const watchStream = (res: ServerResponse) => {
    streams.set(res, undefined);
    res.once('close', () => streams.delete(res));
    if (watch) return;
    watch = setInterval(checkStreams, Math.max(100, Math.min(1_000, options.stalledStreamMs / 4)));
    watch.unref();
  };

  const end = async (id: string, entry: Entry) => {
    if (sessions.get(id) !== entry) return;
    sessions.delete(id);
    release(entry.caller);
    await entry.session.close().catch(options.onError);
    await entry.transport.close().catch(options.onError);
  };

  const refuse = (res: ServerResponse, status: number, message: string) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
  };

  const readBody = async (req: IncomingMessage): Promise<unknown> => {
    if (declaresTooLarge(req.headers['content-length'], options.maxBodyBytes))
      throw new BodyTooLargeError(options.maxBodyBytes);
    return JSON.parse(await readCappedBody(req, options.maxBodyBytes));
  };

  return {
    async handle(req, res) {
      try {
        const caller = options.addressOf?.(req) ?? '';
        if (options.addressOf) markCaller(req, caller);
        const id = req.headers['mcp-session-id'];
        const sessionId = Array.isArray(id) ? id[0] : id;
        if (sessionId) {
          const entry = sessions.get(sessionId);
          if (!entry) return refuse(res, 404, 'unknown or expired MCP session: initialize a new one');
          entry.lastSeen = Date.now();
          if (req.method === 'GET') watchStream(res);
          await entry.transport.handleRequest(req, res);
          return;
        }
        if (req.method !== 'POST')
          return refuse(res, 400, 'no mcp-session-id: POST an initialize request first');
        let body: unknown;
        try {
          body = await readBody(req);
        } catch (error) {
          return error instanceof BodyTooLargeError
            ? refuse(res, 413, `the request body is over ${options.maxBodyBytes} bytes`)
            : refuse(res, 400, 'the body is not JSON');
        }
        if (!isInitializeRequest(body))
          return refuse(res, 400, 'no mcp-session-id: POST an initialize request first');
        if (closed) return refuse(res, 503, 'the gateway is shutting down');
        const held = perCaller.get(caller) ?? 0;
        // Loopback speaks for many clients (a proxy on this machine), as for the connection cap.
        if (held >= maxPerCaller && !isLoopback(caller)) {
          res.setHeader('retry-after', '30');
          return refuse(
            res,
            503,
            `this client holds ${held} MCP sessions, the most one client may: close one (DELETE) or retry later`,
          );
        }
        if (sessions.size + initializing >= options.maxSessions) {
          res.setHeader('retry-after', '30');
          return refuse(
            res,
            503,
            `${sessions.size + initializing} MCP sessions are open, the most this gateway holds: retry later`,
          );
        }
        perCaller.set(caller, held + 1);
        initializing += 1;
        let admitted = true;
        /** The admission becomes the session's, or is handed back: once, either way. */
        const settle = (opened: boolean) => {
          if (!admitted) return;
          admitted = false;
          initializing -= 1;
          if (!opened) release(caller);
        };
        const session = createMcpSession(deps);
        const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          maxRequestBodySize: options.maxBodyBytes,
          onsessioninitialized: (sid) => {
            settle(true);
            const entry = { transport, session, lastSeen: Date.now(), caller };
            sessions.set(sid, entry);
            if (closed) void end(sid, entry);
          },
          onsessionclosed: (sid) => {
            const entry = sessions.get(sid);
            if (entry) void end(sid, entry);
          },
        });
        transport.onerror = (error) => options.onError?.(error);
        try {
          await session.server.connect(withClientErrors(transport));
          await transport.handleRequest(req, res, body);
        } finally {
          if (admitted) {
            // Not initialized (refused by the SDK, or failed): nothing holds this session.
            settle(false);
            await session.close().catch(options.onError);
            await transport.close().catch(options.onError);
          }
        }
      } catch (error) {
        options.onError?.(error);
        if (!res.headersSent) refuse(res, 500, 'MCP request failed');
        else res.end();
      }
    },
    sessions: () => sessions.size,
    async close() {
      closed = true;
      clearInterval(sweep);
      clearInterval(watch);
      await Promise.all([...sessions].map(([id, entry]) => end(id, entry)));
    },
  };
}
