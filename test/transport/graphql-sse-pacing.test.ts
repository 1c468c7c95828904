import { createSchema, createYoga } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { STREAM_TOKEN_HEADER, useGraphqlSseSingleConnection } from '../../src/transport/use-graphql-sse.js';
import { waitFor } from '../helpers/clients.js';

// graphql-sse's handler queues every result an operation yields for its stream, without a bound, and
// pulls the next one at once: behind an event stream whose client stopped reading, a live subscription
// grew the process by megabytes a minute (its conflation defeated: every tick was taken and queued).
// The gateway paces each posted operation by what its stream's reader has taken.

/** A subscription that yields as fast as it is pulled, counting the pulls. */
function countingSchema() {
  const pulls = { count: 0 };
  const schema = createSchema({
    typeDefs: /* GraphQL */ `
      type Query { ok: Boolean }
      type Subscription { tick: Int }
    `,
    resolvers: {
      Subscription: {
        tick: {
          subscribe: async function* () {
            for (;;) {
              await new Promise((resolve) => setImmediate(resolve));
              pulls.count += 1;
              yield { tick: pulls.count };
            }
          },
        },
      },
    },
  });
  return { schema, pulls };
}

async function openStream(yoga: ReturnType<typeof createYoga>) {
  const reserved = await yoga.fetch('http://yoga.test/graphql', { method: 'PUT' });
  expect(reserved.status).toBe(201);
  const token = await reserved.text();
  const stream = await yoga.fetch('http://yoga.test/graphql', {
    headers: { accept: 'text/event-stream', [STREAM_TOKEN_HEADER]: token },
  });
  expect(stream.status).toBe(200);
  const post = (operationId: string) =>
    yoga.fetch('http://yoga.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', [STREAM_TOKEN_HEADER]: token },
      body: JSON.stringify({ query: 'subscription { tick }', extensions: { operationId } }),
    });
  const send = (operationId: string, query: string) =>
    yoga.fetch('http://yoga.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', [STREAM_TOKEN_HEADER]: token },
      body: JSON.stringify({ query, extensions: { operationId } }),
    });
  const stop = (operationId: string) =>
    yoga.fetch(`http://yoga.test/graphql?operationId=${operationId}`, {
      method: 'DELETE',
      headers: { [STREAM_TOKEN_HEADER]: token },
    });
  return { body: stream.body!.getReader(), post, send, stop };
}

/** A query that answers when the test opens its gate, and a subscription that ticks as it is pulled. */
function gatedSchema() {
  const gate = { entered: 0, open: () => {} };
  const opened = new Promise<void>((resolve) => (gate.open = resolve));
  const schema = createSchema({
    typeDefs: /* GraphQL */ `
      type Query { ok: Boolean, gated: Boolean }
      type Subscription { tick: Int }
    `,
    resolvers: {
      Query: {
        ok: () => true,
        gated: async () => {
          gate.entered += 1;
          await opened;
          return true;
        },
      },
      Subscription: {
        tick: {
          subscribe: async function* () {
            for (let i = 0; ; i++) {
              await new Promise((resolve) => setImmediate(resolve));
              yield { tick: i };
            }
          },
        },
      },
    },
  });
  return { schema, gate };
}

function gatewayYoga(schema: ReturnType<typeof createSchema>, now?: () => number) {
  return createYoga({
    schema,
    plugins: [
      useGraphqlSseSingleConnection({
        path: '/graphql',
        maxBodyBytes: 100_000,
        maxStreamsPerCaller: 4,
        maxStreams: 10,
        reserveMs: 60_000,
        now,
      }),
    ],
  });
}

/** Reads the stream until `pattern` has been seen `count` times, or fails after `timeoutMs`. */
async function readUntil(
  body: ReadableStreamDefaultReader<Uint8Array>,
  pattern: RegExp,
  count: number,
  timeoutMs: number,
) {
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + timeoutMs;
  while ((text.match(pattern) ?? []).length < count) {
    const left = deadline - Date.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = await Promise.race([
      body.read(),
      new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), Math.max(0, left)))),
    ]);
    clearTimeout(timer);
    if (read === 'late') throw new Error(`read ${text.length} chars without ${count} × ${pattern}`);
    if (read.done) throw new Error(`the stream ended without ${count} × ${pattern}`);
    text += decoder.decode(read.value);
  }
  return text;
}

const settle = async (turns: number) => {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('graphql-sse single-connection streams', () => {
  it("take no more of an operation's results than their reader keeps up with", async () => {
    const { schema, pulls } = countingSchema();
    const yoga = gatewayYoga(schema);
    const { body, post } = await openStream(yoga);
    expect((await post('a')).status).toBe(202);
    expect((await post('b')).status).toBe(202);
    // The reader takes nothing: far fewer results than these turns could produce are taken.
    await settle(2_000);
    const whileStalled = pulls.count;
    expect(whileStalled).toBeLessThan(200);
    await settle(2_000);
    expect(pulls.count - whileStalled).toBeLessThan(5);

    // Reading again lets the operations go on.
    const decoder = new TextDecoder();
    let text = '';
    while ((text.match(/event: next/g) ?? []).length < 300) {
      const { value } = await body.read();
      text += decoder.decode(value);
    }
    await waitFor(() => pulls.count > whileStalled + 250, 5_000, 'the operations to go on');
    expect(text).toContain('"id":"a"');
    expect(text).toContain('"id":"b"');
    await body.cancel();
  });

  it('keep no count for a query stopped while it ran (its result is never written)', async () => {
    const { schema, gate } = gatedSchema();
    const yoga = gatewayYoga(schema);
    const { body, send, stop } = await openStream(yoga);
    // graphql-sse's client sends this DELETE when an operation in flight is disposed; the handler then
    // answers the POST 204 and writes nothing for it. As many as the stream may hold queued.
    const stopped = 40;
    const posts = Array.from({ length: stopped }, (_, i) => send(`q${i}`, '{ gated }'));
    await waitFor(() => gate.entered === stopped, 5_000, 'the queries to run');
    for (let i = 0; i < stopped; i++) expect((await stop(`q${i}`)).status).toBe(200);
    gate.open();
    for (const post of posts) expect((await post).status).toBe(204);

    expect((await send('sub', 'subscription { tick }')).status).toBe(202);
    const text = await readUntil(body, /"id":"sub"/g, 3, 3_000);
    expect(text).not.toMatch(/"id":"q\d+"/);
    await body.cancel();
  });

  it('refuse operations for a stream whose reader stopped taking what it holds', async () => {
    const { schema } = gatedSchema();
    let clock = 1_000_000;
    const yoga = gatewayYoga(schema, () => clock);
    const { body, send } = await openStream(yoga);
    // The reader takes nothing; each answered query's result waits on the stream.
    const sendAll = async (from: number, count: number) => {
      for (let i = from; i < from + count; i++) expect((await send(`q${i}`, '{ ok }')).status).toBe(202);
    };
    await sendAll(0, 40);
    // At the mark but not yet long without a read: a slow reader is not refused.
    clock += 500;
    await sendAll(40, 1);
    clock += 600;
    const refused = await send('late', '{ ok }');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const refusal = (await refused.json()) as { errors: Array<{ extensions: Record<string, unknown> }> };
    expect(refusal.errors[0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'STREAM_BACKLOG' });

    // Once the reader has taken them, the stream takes operations again.
    const text = await readUntil(body, /event: next/g, 41, 3_000);
    expect(text).not.toContain('"id":"late"');
    expect((await send('again', '{ ok }')).status).toBe(202);
    await readUntil(body, /"id":"again"/g, 1, 3_000);
    await body.cancel();
  });
});
