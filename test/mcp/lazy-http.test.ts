import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { McpHttp } from '../../src/mcp/http.js';
import { lazyMcpHttp } from '../../src/mcp/lazy-http.js';

// /mcp is built on its first request (src/mcp/lazy-http.ts). What must hold around that: a failed
// build is a JSON-RPC 500 and is reported, not an unhandled rejection, and the next request tries
// again; the endpoint is built once however many requests race for it; closing before anything was
// built builds nothing, and a request after close is refused.

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

async function serve(http: McpHttp): Promise<string> {
  server = createServer((req, res) => void http.handle(req, res));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
}

/** An McpHttp that answers 200 with `name` and counts what it was asked. */
function fakeHttp(name: string) {
  const calls = { handled: 0, closed: 0 };
  const http: McpHttp = {
    async handle(_req, res) {
      calls.handled++;
      res.writeHead(200, { 'content-type': 'text/plain' }).end(name);
    },
    sessions: () => 7,
    async close() {
      calls.closed++;
    },
  };
  return { http, calls };
}

describe('lazyMcpHttp', () => {
  it('answers 500 and reports when the build fails, and builds on the next request', async () => {
    const errors: unknown[] = [];
    const built = fakeHttp('built');
    let attempts = 0;
    const http = lazyMcpHttp({
      create: async () => {
        if (++attempts === 1) throw new Error('cannot load the SDK');
        return built.http;
      },
      onError: (error) => errors.push(error),
    });
    const url = await serve(http);
    const failed = await fetch(url, { method: 'POST', body: '{}' });
    expect(failed.status).toBe(500);
    expect(await failed.json()).toMatchObject({ jsonrpc: '2.0', error: { message: 'MCP request failed' } });
    expect(errors).toHaveLength(1);
    expect(http.sessions()).toBe(0);

    const ok = await fetch(url, { method: 'POST', body: '{}' });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('built');
    expect(attempts).toBe(2);
    expect(http.sessions()).toBe(7);
  });

  it('builds once for requests that arrive together, and closes what it built', async () => {
    const built = fakeHttp('built');
    let attempts = 0;
    const http = lazyMcpHttp({
      create: async () => {
        attempts++;
        return built.http;
      },
    });
    const url = await serve(http);
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => fetch(url, { method: 'POST', body: '{}' }).then((r) => r.text())),
    );
    expect(answers).toEqual(Array(5).fill('built'));
    expect(attempts).toBe(1);
    expect(built.calls.handled).toBe(5);
    await http.close();
    expect(built.calls.closed).toBe(1);
  });

  it('builds nothing when closed before its first request, and refuses requests after close', async () => {
    let attempts = 0;
    const http = lazyMcpHttp({
      create: async () => {
        attempts++;
        return fakeHttp('built').http;
      },
    });
    await http.close();
    const url = await serve(http);
    const res = await fetch(url, { method: 'POST', body: '{}' });
    expect(res.status).toBe(503);
    expect(attempts).toBe(0);
  });

  it('refuses a request that waited on the build while the endpoint closed, so no session outlives close()', async () => {
    const built = fakeHttp('built');
    let finish!: (http: McpHttp) => void;
    let building!: () => void;
    const reached = new Promise<void>((resolve) => (building = resolve));
    const http = lazyMcpHttp({
      create: () => {
        building();
        return new Promise<McpHttp>((resolve) => (finish = resolve));
      },
    });
    const url = await serve(http);
    const answer = fetch(url, { method: 'POST', body: '{}' });
    await reached;
    const closing = http.close();
    finish(built.http);
    await closing;
    expect((await answer).status).toBe(503);
    expect(built.calls.handled).toBe(0);
    expect(built.calls.closed).toBe(1);
  });
});
