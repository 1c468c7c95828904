import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { BodyTooLargeError, declaresTooLarge, readCappedBody } from '../read-capped-body.js';
import { markCaller } from './caller.js';
import { withClientErrors } from './rpc-errors.js';
import { createMcpSession, type McpSession, type SessionDeps } from './session.js';

// MCP over Streamable HTTP at /mcp: one SDK transport and session per client session (the
// `mcp-session-id` header), so a session can hold price subscriptions and be sent notifications on its
// GET stream. Sessions are capped in number and closed after they have been idle for a while.

export interface McpHttpOptions {
  maxSessions: number;
  idleMs: number;
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
}

export function createMcpHttp(deps: Omit<SessionDeps, 'headers'>, options: McpHttpOptions): McpHttp {
  const sessions = new Map<string, Entry>();
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

  const end = async (id: string, entry: Entry) => {
    sessions.delete(id);
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
        if (options.addressOf) markCaller(req, options.addressOf(req));
        const id = req.headers['mcp-session-id'];
        const sessionId = Array.isArray(id) ? id[0] : id;
        if (sessionId) {
          const entry = sessions.get(sessionId);
          if (!entry) return refuse(res, 404, 'unknown or expired MCP session: initialize a new one');
          entry.lastSeen = Date.now();
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
        if (sessions.size >= options.maxSessions) {
          res.setHeader('retry-after', '30');
          return refuse(
            res,
            503,
            `${sessions.size} MCP sessions are open, the most this gateway holds: retry later`,
          );
        }
        const session = createMcpSession(deps);
        const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          maxRequestBodySize: options.maxBodyBytes,
          onsessioninitialized: (sid) => {
            const entry = { transport, session, lastSeen: Date.now() };
            sessions.set(sid, entry);
            if (closed) void end(sid, entry);
          },
          onsessionclosed: (sid) => {
            const entry = sessions.get(sid);
            if (entry) void end(sid, entry);
          },
        });
        transport.onerror = (error) => options.onError?.(error);
        await session.server.connect(withClientErrors(transport));
        await transport.handleRequest(req, res, body);
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
      await Promise.all([...sessions].map(([id, entry]) => end(id, entry)));
    },
  };
}
