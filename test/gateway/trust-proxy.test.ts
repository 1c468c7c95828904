import { Writable } from 'node:stream';
import { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient } from 'graphql-ws';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CALLER_ADDRESS_HEADER } from '../../src/auth/client-address.js';
import { subscribeWs, waitFor } from '../helpers/clients.js';
import { useKeyedGateways } from '../helpers/keyed-gateways.js';

// MARKETGRAPH_TRUST_PROXY over real loopback sockets, the test being the "proxy" in front of the
// gateway: anonymous callers get one request a minute, so whether two requests with different
// X-Forwarded-For share a budget shows whose address the gateway charged. Trusting nothing, a client's
// own X-Forwarded-For changes nothing; trusting loopback, each forwarded client has its own budget on
// POST, on GET hits of the response cache (the fast path's gate), over graphql-ws, and through MCP.

// biome-ignore lint/suspicious/noExplicitAny: GraphQL answers are probed field by field
type Body = any;

const NAMES = '{ assets(first: 3) { edges { node { id symbol name } } } }';
const A = '203.0.113.7';
const B = '198.51.100.20';

const { cleanups, start } = useKeyedGateways();

/** A gateway whose anonymous callers may send one request a minute; `lines` are its log lines. */
async function started(env: Record<string, string> = {}) {
  const lines: Body[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  );
  const { url } = await start({
    anonymous: { requestsPerMinute: 1 },
    env: { MARKETGRAPH_AUTH: 'optional', ...env },
    upstreams: ['coingecko'],
    deps: { logger },
  });
  const clients = () => lines.filter((l) => l.msg === 'graphql operation').map((l) => l.client);
  return { url, clients };
}

async function post(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query: NAMES }),
  });
  return { status: response.status, body: (await response.json()) as Body };
}

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}?query=${encodeURIComponent(NAMES)}`, {
    headers: { accept: 'application/graphql-response+json', ...headers },
  });
  return {
    status: response.status,
    cache: response.headers.get('x-response-cache'),
    body: (await response.json()) as Body,
  };
}

const xff = (address: string) => ({ 'x-forwarded-for': address });
const codeOf = (answer: { body: Body }) => answer.body.errors?.[0]?.extensions?.code;

/** One query over graphql-ws on a socket whose upgrade request carried `headers`. */
async function wsQuery(url: string, headers: Record<string, string>) {
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: class extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { headers });
      }
    },
    retryAttempts: 0,
    lazy: true,
  });
  cleanups.push(() => client.dispose() as Promise<void>);
  return {
    async run() {
      const answer = subscribeWs(client, NAMES);
      await waitFor(() => answer.events.length > 0 || answer.failure() !== undefined, 10_000, 'an answer');
      const errors = (answer.failure() ?? answer.events[0]?.errors) as Body[] | undefined;
      return { data: answer.events[0]?.data, code: errors?.[0]?.extensions?.code as string | undefined };
    },
  };
}

async function mcpClient(url: string, headers: Record<string, string>) {
  const client = new McpClient({ name: 'test', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url.replace(/\/graphql$/, '')}/mcp`), {
      requestInit: { headers },
    }),
  );
  cleanups.push(() => client.close());
  return async () => {
    const result = (await client.callTool({ name: 'run_graphql', arguments: { query: NAMES } })) as {
      isError?: boolean;
      structuredContent?: { errors?: Array<{ code?: string }> };
    };
    return result.isError ? result.structuredContent?.errors?.[0]?.code : 'ok';
  };
}

describe('trusting no proxy (the default)', () => {
  it('ignores a client\'s X-Forwarded-For: two "clients" on one socket address share one budget', async () => {
    const { url, clients } = await started({ MARKETGRAPH_RESPONSE_CACHE: 'false' });
    expect((await post(url, xff(A))).status).toBe(200);
    const second = await post(url, xff(B));
    expect(second.status).toBe(429);
    expect(codeOf(second)).toBe('RATE_LIMITED');
    expect(clients()).toEqual(['anonymous:127.0.0.1', 'anonymous:127.0.0.1']);
  });

  it('on a response-cache hit too', async () => {
    const { url } = await started();
    expect((await get(url, xff(A))).cache).toBe('miss');
    const hit = await get(url, xff(B));
    expect(hit.status).toBe(429);
    expect(codeOf(hit)).toBe('RATE_LIMITED');
  });

  it('over graphql-ws too', async () => {
    const { url } = await started();
    expect((await (await wsQuery(url, xff(A))).run()).code).toBeUndefined();
    expect((await (await wsQuery(url, xff(B))).run()).code).toBe('RATE_LIMITED');
  });

  it('charges MCP calls to the /mcp caller (not the in-process call), which cannot name its own address', async () => {
    // No response cache: a refusal at the fast path's gate is answered before the log plugin sees it.
    const { url, clients } = await started({ MARKETGRAPH_RESPONSE_CACHE: 'false' });
    const agent = await mcpClient(url, { ...xff(A), [CALLER_ADDRESS_HEADER]: B });
    expect(await agent()).toBe('ok');
    // The same caller over /graphql: its one request is spent.
    expect(codeOf(await post(url))).toBe('RATE_LIMITED');
    expect(clients()).toEqual(['anonymous:127.0.0.1', 'anonymous:127.0.0.1']);
  });
});

describe('MARKETGRAPH_TRUST_PROXY=loopback', () => {
  const env = { MARKETGRAPH_TRUST_PROXY: 'loopback' };

  it('POST: each forwarded client has its own budget, and the log names it', async () => {
    const { url, clients } = await started({ ...env, MARKETGRAPH_RESPONSE_CACHE: 'false' });
    expect((await post(url, xff(A))).status).toBe(200);
    expect((await post(url, xff(B))).status).toBe(200);
    expect(codeOf(await post(url, xff(A)))).toBe('RATE_LIMITED');
    // A client's own entry left of the proxy's changes nothing: the first untrusted hop is B.
    expect(codeOf(await post(url, xff(`192.0.2.99, ${B}`)))).toBe('RATE_LIMITED');
    // The proxy itself (no header) is a client of its own.
    expect((await post(url)).status).toBe(200);
    expect(clients()).toEqual([
      `anonymous:${A}`,
      `anonymous:${B}`,
      `anonymous:${A}`,
      `anonymous:${B}`,
      'anonymous:127.0.0.1',
    ]);
  });

  it('with an inner proxy not trusted, the inner proxy is the client; trusted, the address it forwarded', async () => {
    const outer = await started({ ...env, MARKETGRAPH_RESPONSE_CACHE: 'false' });
    expect((await post(outer.url, xff(`${A}, 10.0.0.2`))).status).toBe(200);
    expect(codeOf(await post(outer.url, xff(`${B}, 10.0.0.2`)))).toBe('RATE_LIMITED');
    expect(outer.clients()).toEqual(['anonymous:10.0.0.2', 'anonymous:10.0.0.2']);

    const both = await started({
      MARKETGRAPH_TRUST_PROXY: 'loopback, 10.0.0.0/8',
      MARKETGRAPH_RESPONSE_CACHE: 'false',
    });
    expect((await post(both.url, xff(`${A}, 10.0.0.2`))).status).toBe(200);
    expect((await post(both.url, xff(`${B}, 10.0.0.2`))).status).toBe(200);
    expect(both.clients()).toEqual([`anonymous:${A}`, `anonymous:${B}`]);
  });

  it('GET hits of the response cache are charged to each forwarded client', async () => {
    const { url } = await started(env);
    expect((await get(url, xff(A))).cache).toBe('miss');
    const hit = await get(url, xff(B));
    expect(hit.status).toBe(200);
    expect(hit.cache).toBe('hit');
    expect(codeOf(await get(url, xff(A)))).toBe('RATE_LIMITED');
    expect(codeOf(await get(url, xff(B)))).toBe('RATE_LIMITED');
  });

  it('graphql-ws: each socket is charged to the client its upgrade request was forwarded for', async () => {
    const { url } = await started(env);
    const a = await wsQuery(url, xff(A));
    const b = await wsQuery(url, xff(B));
    const first = await a.run();
    expect(first.code).toBeUndefined();
    expect(first.data).toMatchObject({ assets: { edges: expect.any(Array) } });
    expect((await b.run()).code).toBeUndefined();
    expect((await a.run()).code).toBe('RATE_LIMITED');
  });

  it("graphql-sse's single-connection mode charges the forwarded client", async () => {
    const { url } = await started({ ...env, MARKETGRAPH_RESPONSE_CACHE: 'false' });
    const sse = createSseClient({
      url,
      singleConnection: true,
      retryAttempts: 0,
      fetchFn: (input: RequestInfo | URL, init?: RequestInit) =>
        fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...xff(A) } }),
    });
    cleanups.push(async () => sse.dispose());
    const results: Body[] = [];
    for await (const result of sse.iterate({ query: NAMES })) results.push(result);
    expect(results).toHaveLength(1);
    expect(results[0].errors).toBeUndefined();
    expect(codeOf(await post(url, xff(A)))).toBe('RATE_LIMITED');
    expect((await post(url, xff(B))).status).toBe(200);
  });

  it('MCP: each forwarded agent has its own budget', async () => {
    const { url, clients } = await started(env);
    const a = await mcpClient(url, xff(A));
    const b = await mcpClient(url, xff(B));
    expect(await a()).toBe('ok');
    expect(await b()).toBe('ok');
    expect(await a()).toBe('RATE_LIMITED');
    expect(clients()).toEqual([`anonymous:${A}`, `anonymous:${B}`, `anonymous:${A}`]);
  });
});
