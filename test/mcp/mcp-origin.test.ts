import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

// /mcp has no CORS of its own, so a browser page on another origin could reach a local gateway's MCP
// through DNS rebinding. The gateway answers only origins its allow-list names (MARKETGRAPH_CORS_ORIGINS;
// in the sandbox profile without it, localhost origins) and clients that send no Origin (MCP hosts).

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '1' } },
};

describe('/mcp and the Origin header', () => {
  let t: TestGateway;
  let url: string;
  beforeAll(async () => {
    t = await startTestGateway({ env: { MARKETGRAPH_CORS_ORIGINS: 'https://app.example.com' } });
    url = `${(await t.gateway.start()).url.replace(/\/graphql$/, '')}/mcp`;
  });
  afterAll(async () => {
    await t?.close();
  });

  const initialize = (headers: Record<string, string>) =>
    fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...headers,
      },
      body: JSON.stringify(INITIALIZE),
    });

  it('refuses an origin the allow-list does not name, with a JSON-RPC error', async () => {
    const res = await initialize({ origin: 'http://rebound.example' });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message).toMatch(/origin "http:\/\/rebound\.example" may not call \/mcp/);
  });

  it('does not echo a long origin back', async () => {
    const res = await initialize({ origin: `http://${'o'.repeat(10_000)}.example` });
    expect(res.status).toBe(403);
    const text = await res.text();
    expect(text.length).toBeLessThan(300);
    expect((JSON.parse(text) as { error: { message: string } }).error.message).toMatch(
      /^origin \(a 10\d{3}-character string\) may not call \/mcp/,
    );
  });

  it('serves a listed origin and a client that sends none', async () => {
    const cases: Array<Record<string, string>> = [{ origin: 'https://app.example.com' }, {}];
    for (const headers of cases) {
      const res = await initialize(headers);
      expect(res.status).toBe(200);
      expect(res.headers.get('mcp-session-id')).toBeTruthy();
      await res.body?.cancel();
    }
  });
});
