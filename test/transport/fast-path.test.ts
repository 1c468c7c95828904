import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createCache } from '../../src/cache.js';
import { loadConfig } from '../../src/config.js';
import { createResponseCache } from '../../src/response-cache.js';
import {
  createFastPath,
  type GateVerdict,
  MAX_BUFFERED_BODY,
  type RequestGate,
} from '../../src/transport/fast-path.js';

// The fast path's seam on its own, over a real socket, with a stand-in for Yoga: which requests it
// takes, and that gates run on every request it takes, hits included, with their scope in the key.
// With the real gateway: test/gateway/response-cache.test.ts.

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function start(gates: RequestGate[] = []) {
  const now = () => 1_000_000;
  const responses = createResponseCache({ maxBytes: 1 << 20, now });
  const cache = responses.watch(createCache({ config: loadConfig({ env: {} }), now }));
  const seen = { executions: 0, passedThrough: 0 };
  const listener = createFastPath({
    path: '/graphql',
    cache: responses,
    gates,
    async execute(_url, init, context) {
      seen.executions++;
      const [quote] = await context.freshness
        .observe(cache)
        .namespace<string>('quote', 15_000)
        .getMany(
          ['btc'],
          async () => new Map([['btc', '42']]),
          () => new Error('none'),
        );
      context.freshness.markComplete();
      const body = JSON.stringify({
        data: { quote: (quote as { value: string }).value, scope: context.scope, method: init.method },
      });
      return new Response(body, { headers: { 'content-type': 'application/json; charset=utf-8' } });
    },
    passThrough(_req, res) {
      seen.passedThrough++;
      res.writeHead(299);
      res.end('yoga');
    },
  });
  server = createServer(listener);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  return { url, seen };
}

const QUERY = `?query=${encodeURIComponent('{ quote }')}`;

describe('fast path', () => {
  it('runs every gate on every request it takes, hits included, and keys private answers on their scope', async () => {
    const calls: string[] = [];
    const auth: RequestGate = {
      name: 'auth',
      check(req: IncomingMessage): GateVerdict {
        calls.push('auth');
        const token = req.headers.authorization;
        if (token === 'Bearer revoked')
          return { reject: { status: 401, body: '{"errors":[{"message":"no"}]}' } };
        return { scope: token?.replace('Bearer ', '') ?? '' };
      },
    };
    const rate: RequestGate = {
      name: 'rate',
      async check() {
        calls.push('rate');
        return {};
      },
    };
    const { url, seen } = await start([auth, rate]);

    const anonymous = await fetch(url + QUERY);
    expect(anonymous.headers.get('cache-control')).toBe('public, max-age=15');
    const alice = await fetch(url + QUERY, { headers: { authorization: 'Bearer alice' } });
    expect(alice.headers.get('x-response-cache')).toBe('miss');
    expect(alice.headers.get('cache-control')).toBe('private, max-age=15');
    expect((await alice.json()).data.scope).toBe('auth=alice;');
    const bob = await fetch(url + QUERY, { headers: { authorization: 'Bearer bob' } });
    expect(bob.headers.get('x-response-cache')).toBe('miss');
    const aliceAgain = await fetch(url + QUERY, { headers: { authorization: 'Bearer alice' } });
    expect(aliceAgain.headers.get('x-response-cache')).toBe('hit');
    expect((await aliceAgain.json()).data.scope).toBe('auth=alice;');
    expect(seen.executions).toBe(3);

    // A caller refused by a gate is refused on a request whose answer is stored.
    const revoked = await fetch(url + QUERY, { headers: { authorization: 'Bearer revoked' } });
    expect(revoked.status).toBe(401);
    expect(calls).toEqual(['auth', 'rate', 'auth', 'rate', 'auth', 'rate', 'auth', 'rate', 'auth']);
    expect(seen.executions).toBe(3);
  });

  it('takes POST bodies up to its buffer with a Content-Length, and leaves the rest to Yoga', async () => {
    const { url, seen } = await start();
    const body = JSON.stringify({ query: '{ quote }' });
    const post = (init: RequestInit) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, ...init });
    expect((await post({ body })).headers.get('x-response-cache')).toBe('miss');
    expect((await post({ body })).headers.get('x-response-cache')).toBe('hit');
    expect((await post({ body: `${body}${' '.repeat(MAX_BUFFERED_BODY)}` })).status).toBe(299);
    // A streamed body has no Content-Length.
    const streamed = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(body));
        controller.close();
      },
    });
    expect((await post({ body: streamed, duplex: 'half' } as RequestInit)).status).toBe(299);
    expect(seen).toEqual({ executions: 1, passedThrough: 2 });
  });

  it("leaves graphql-sse's single-connection operations (a POST with a stream token) to Yoga", async () => {
    const { url, seen } = await start();
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-graphql-event-stream-token': 'a-token' },
      body: JSON.stringify({ query: '{ quote }', extensions: { operationId: '1' } }),
    });
    expect(response.status).toBe(299);
    expect(seen).toEqual({ executions: 0, passedThrough: 1 });
  });

  it.each([
    ['another path', '/graphqlx', {}],
    ['a trailing slash', '/graphql/', {}],
    ['GET without a query string', '/graphql', {}],
    ['SSE', `/graphql${QUERY}`, { accept: 'text/event-stream' }],
    ['multipart', `/graphql${QUERY}`, { accept: 'multipart/mixed' }],
    ['a browser (GraphiQL)', `/graphql${QUERY}`, { accept: 'text/html,application/xhtml+xml' }],
  ])('leaves %s to Yoga', async (_name, path, headers) => {
    const { url, seen } = await start();
    const response = await fetch(url.replace('/graphql', path), { headers });
    expect(response.status).toBe(299);
    expect(seen).toEqual({ executions: 0, passedThrough: 1 });
  });
});
