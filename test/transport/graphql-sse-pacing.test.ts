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
  return { body: stream.body!.getReader(), post };
}

const settle = async (turns: number) => {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('graphql-sse single-connection streams', () => {
  it("take no more of an operation's results than their reader keeps up with", async () => {
    const { schema, pulls } = countingSchema();
    const yoga = createYoga({
      schema,
      plugins: [
        useGraphqlSseSingleConnection({
          path: '/graphql',
          maxBodyBytes: 100_000,
          maxStreamsPerCaller: 4,
          maxStreams: 10,
          reserveMs: 60_000,
        }),
      ],
    });
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
});
