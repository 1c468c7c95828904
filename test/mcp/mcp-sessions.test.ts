import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { initializeMcp } from '../helpers/mcp-http.js';

// MCP sessions over HTTP are bounded (MARKETGRAPH_MCP_MAX_SESSIONS) and one caller may hold only a
// share of them: initializes arriving together were all admitted (the count only grew once each had
// been answered), and one address could hold every session for the whole idle time.

const MAX = 8;

describe('MCP sessions over HTTP', () => {
  let t: TestGateway;
  let url: string;
  beforeAll(async () => {
    t = await startTestGateway({
      env: { MARKETGRAPH_MCP_MAX_SESSIONS: String(MAX), MARKETGRAPH_TRUST_PROXY: 'loopback' },
    });
    const { port } = await t.gateway.start();
    url = `http://127.0.0.1:${port}/mcp`;
  });
  afterAll(() => t?.close());

  const initialize = (address: string) => initializeMcp(url, { 'x-forwarded-for': address });

  it('admits a caller only its share of sessions, also when its initializes arrive together', async () => {
    const flood = await Promise.all(Array.from({ length: 40 }, () => initialize('203.0.113.7')));
    const admitted = flood.filter((r) => r.status === 200).length;
    expect(admitted).toBe(MAX / 4);
    const refused = flood.find((r) => r.status === 503)!;
    expect(refused.retryAfter).toBe('30');
    expect(JSON.parse(refused.text).error.message).toMatch(/this client holds 2 MCP sessions/);

    // Other callers still get theirs, up to the gateway's bound, also arriving together.
    const others = await Promise.all(
      Array.from({ length: 40 }, (_, i) => initialize(`198.51.100.${1 + (i % 20)}`)),
    );
    expect(others.filter((r) => r.status === 200).length).toBe(MAX - admitted);

    // A session ended by its client frees its place, for its caller too.
    const mine = flood.find((r) => r.status === 200)!;
    const ended = await fetch(url, {
      method: 'DELETE',
      headers: { 'mcp-session-id': mine.session!, 'x-forwarded-for': '203.0.113.7' },
    });
    expect(ended.status).toBe(200);
    expect((await initialize('203.0.113.7')).status).toBe(200);
    expect((await initialize('203.0.113.7')).status).toBe(503);
  });
});

describe('MCP sessions over HTTP from loopback, without a trusted proxy', () => {
  // Behind a proxy on the same machine every caller is 127.0.0.1: the share would hold them all to a
  // quarter of the sessions together, so loopback is held only to the gateway's bound.
  let t: TestGateway;
  let url: string;
  beforeAll(async () => {
    t = await startTestGateway({ env: { MARKETGRAPH_MCP_MAX_SESSIONS: String(MAX) } });
    const { port } = await t.gateway.start();
    url = `http://127.0.0.1:${port}/mcp`;
  });
  afterAll(() => t?.close());

  it('admits loopback callers up to the gateway bound', async () => {
    const answers = await Promise.all(Array.from({ length: MAX + 2 }, () => initializeMcp(url, {})));
    expect(answers.filter((r) => r.status === 200).length).toBe(MAX);
    expect(JSON.parse(answers.find((r) => r.status === 503)!.text).error.message).toMatch(
      /the most this gateway holds/,
    );
  });
});
