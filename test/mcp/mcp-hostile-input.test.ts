import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { initializeMcp, MCP_ACCEPT, MCP_PROTOCOL } from '../helpers/mcp-http.js';

// Issue #15 over /mcp: what an agent (or anyone who can reach /mcp) sends in a tool call is bounded like
// any client's input. A tool name or argument is never echoed back at length, and arguments nested
// deeper than JSON can be re-serialized are a coded tool error, not a JSON-RPC internal error; a
// refusal of the call itself carries a hint about the call, not "unexpected error".

const DEPTH = 100_000;

describe('MCP: hostile tool calls', () => {
  let t: TestGateway;
  let url: string;
  let session: Record<string, string>;
  let id = 1;
  beforeAll(async () => {
    t = await startTestGateway();
    url = `${(await t.gateway.start()).url.replace(/\/graphql$/, '')}/mcp`;
    const { session: id } = await initializeMcp(url);
    session = {
      'content-type': 'application/json',
      accept: MCP_ACCEPT,
      'mcp-session-id': id!,
      'mcp-protocol-version': MCP_PROTOCOL,
    };
  });
  afterAll(async () => {
    await t?.close();
  });

  /** A tools/call written as raw JSON (a client's JSON.stringify could not write the deep ones). */
  const call = async (name: string, argumentsJson: string) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: session,
      body: `{"jsonrpc":"2.0","id":${id++},"method":"tools/call","params":{"name":${JSON.stringify(name)},"arguments":${argumentsJson}}}`,
    });
    const text = await response.text();
    return { status: response.status, text, body: JSON.parse(text.replace(/^[^{]*/, '')) as Rpc };
  };
  type Rpc = {
    result?: {
      isError?: boolean;
      structuredContent?: { errors?: Array<{ code: string; message: string; hint?: string }> };
    };
    error?: { code: number; message: string };
  };

  it('params the SDK refuses are Invalid params (-32602) in one short line, not an internal error', async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: session,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: id++,
        method: 'tools/call',
        params: { name: 1, arguments: 'x', task: 2 },
      }),
    });
    const body = JSON.parse((await response.text()).replace(/^[^{]*/, '')) as Rpc;
    expect(body.error?.code).toBe(-32602);
    expect(body.error?.message).toMatch(/^Invalid params: .*params\.name: expected string, received number/);
    expect(body.error!.message.length).toBeLessThanOrEqual(300);
  });

  it.each([
    ['a document over the size limit', `{ __typename ${'@x '.repeat(20_000)} }`, 'DOCUMENT_TOO_LARGE'],
    ['too many directives', `{ __typename ${'@include(if: true) '.repeat(60)} }`, 'DIRECTIVE_LIMIT_EXCEEDED'],
    [
      'two operations, none named',
      'query A { __typename } query B { __typename }',
      'OPERATION_RESOLUTION_FAILURE',
    ],
  ])(
    'run_graphql with %s: its code, and a hint about the call, not "unexpected error"',
    async (_label, query, code) => {
      const answer = await call('run_graphql', JSON.stringify({ query }));
      const error = answer.body.result?.structuredContent?.errors?.[0];
      expect(error?.code).toBe(code);
      expect(error?.hint).toEqual(expect.any(String));
      expect(error?.hint).not.toMatch(/unexpected/);
    },
  );

  it('an unknown tool with a 900 KB name: NOT_FOUND, the name not echoed', async () => {
    const answer = await call('x'.repeat(900_000), '{}');
    expect(answer.body.result?.isError).toBe(true);
    expect(answer.body.result?.structuredContent?.errors?.[0]?.code).toBe('NOT_FOUND');
    expect(answer.text.length).toBeLessThan(1_000);
  });

  it.each([
    [
      'run_graphql variables',
      'run_graphql',
      `{"query":"query($v:[ID!]!){nodes(ids:$v){id}}","variables":{"v":${'['.repeat(DEPTH)}"x"${']'.repeat(DEPTH)}}}`,
    ],
    ['asset_prices ids', 'asset_prices', `{"ids":${'['.repeat(DEPTH)}"x"${']'.repeat(DEPTH)}}`],
    ['search_assets filter', 'search_assets', `{"filter":${'{"a":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}}`],
  ])(
    '%s nested 100,000 deep: a BAD_USER_INPUT tool error, not an internal error',
    async (_label, tool, args) => {
      t.sandbox.resetCounts();
      const answer = await call(tool, args);
      expect(answer.body.error).toBeUndefined();
      expect(answer.body.result?.isError).toBe(true);
      expect(answer.body.result?.structuredContent?.errors?.map((e) => e.code)).toEqual(['BAD_USER_INPUT']);
      expect(answer.text.length).toBeLessThan(1_000);
      expect(t.sandbox.counts()).toEqual({});
    },
  );
});
