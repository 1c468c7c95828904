import { useGraphQLSSE } from '@graphql-yoga/plugin-graphql-sse';
import { GraphQLError } from 'graphql';
import { makeServer } from 'graphql-ws';
import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';

// What src/transport/ relies on in graphql-yoga, Envelop and graphql-ws beyond their documented API,
// checked against the installed versions: an upgrade that changes any of it fails here, by name,
// before the gateway's own tests fail in some less obvious way.

const schema = createSchema({
  typeDefs: /* GraphQL */ `
    type Query { ok: Boolean }
    type Subscription { tick: Int }
  `,
  resolvers: {
    Subscription: {
      tick: {
        subscribe: async function* () {
          yield { tick: 1 };
        },
      },
    },
  },
});

async function sseText(yoga: ReturnType<typeof createYoga>): Promise<string> {
  const response = await yoga.fetch('http://yoga.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ query: 'subscription { tick }' }),
  });
  return response.text();
}

describe('graphql-yoga / Envelop', () => {
  it("Yoga's SSE processor writes a result with its own `stringify` hook (shared-results.ts)", async () => {
    const hooked: Plugin = {
      onSubscribe: () => ({
        onSubscribeResult: ({ result, setResult }) => {
          if (!(Symbol.asyncIterator in (result as object))) return;
          const source = result as AsyncIterable<object>;
          setResult(
            (async function* () {
              for await (const value of source) {
                const copy = { ...value };
                Object.defineProperty(copy, 'stringify', { value: () => '{"data":{"tick":42}}' });
                yield copy;
              }
            })(),
          );
        },
      }),
    };
    const text = await sseText(createYoga({ schema, plugins: [hooked] }));
    expect(text).toContain('data: {"data":{"tick":42}}');
  });

  it('setResultAndStopExecution in onSubscribe ends the hooks: a plugin listed after never sees the subscription (use-shared-subscription-results.ts)', async () => {
    const seenAfter: string[] = [];
    const first: Plugin = {
      onSubscribe: ({ setResultAndStopExecution }) => {
        setResultAndStopExecution(
          (async function* () {
            yield { data: { tick: 7 } };
          })(),
        );
      },
    };
    const after: Plugin = {
      onSubscribe: () => {
        seenAfter.push('onSubscribe');
      },
    };
    const text = await sseText(createYoga({ schema, plugins: [first, after] }));
    expect(text).toContain('data: {"data":{"tick":7}}');
    expect(seenAfter).toEqual([]);
  });
});

describe('@graphql-yoga/plugin-graphql-sse', () => {
  const reserve = (yoga: ReturnType<typeof createYoga>) =>
    yoga.fetch('http://yoga.test/graphql', { method: 'PUT', headers: { accept: '*/*' } });

  it('serves single-connection requests from onRequest, before Yoga answers PUT with 405 (use-graphql-sse.ts)', async () => {
    expect((await reserve(createYoga({ schema }))).status).toBe(405);
    const sse = useGraphQLSSE({ endpoint: '/graphql' });
    expect(Object.keys(sse).sort()).toEqual(['onRequest', 'onYogaInit']);
    const reserved = await reserve(createYoga({ schema, plugins: [sse] }));
    expect(reserved.status).toBe(201);
    expect(await reserved.text()).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('hands graphql-sse a refused subscription as a result without data, which it answers 400 (use-graphql-sse.ts)', async () => {
    const refusing: Plugin = {
      onSubscribe: ({ setResultAndStopExecution }) =>
        setResultAndStopExecution({ errors: [new GraphQLError('refused')] }),
    };
    const yoga = createYoga({ schema, plugins: [useGraphQLSSE({ endpoint: '/graphql' }), refusing] });
    const token = await (await reserve(yoga)).text();
    const posted = await yoga.fetch('http://yoga.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-graphql-event-stream-token': token },
      body: JSON.stringify({ query: 'subscription { tick }', extensions: { operationId: '1' } }),
    });
    expect(posted.status).toBe(400);
    expect(await posted.text()).toContain('Unable to detect operation AST');
  });

  it('keeps a reservation until asked to open it with an aborted request, and refuses without a code (use-graphql-sse.ts)', async () => {
    const sse = useGraphQLSSE({ endpoint: '/graphql' });
    const yoga = createYoga({ schema, plugins: [sse] });
    const token = { 'x-graphql-event-stream-token': 'chosen' };
    const put = () =>
      yoga.fetch('http://yoga.test/graphql', { method: 'PUT', headers: { accept: '*/*', ...token } });
    expect(await (await put()).text()).toBe('chosen');
    const conflict = await put();
    expect([conflict.status, await conflict.json()]).toEqual([
      409,
      { errors: [{ message: 'Stream already registered' }] },
    ]);
    // As the wrapper drops an expired reservation: straight to the plugin (yoga.fetch refuses an aborted signal).
    let answered: Response | undefined;
    await sse.onRequest!({
      request: new Request('http://localhost/graphql', {
        headers: { accept: 'text/event-stream', ...token },
        signal: AbortSignal.abort(),
      }),
      endResponse: (response: Response) => {
        answered = response;
      },
      serverContext: {},
    } as unknown as Parameters<NonNullable<typeof sse.onRequest>>[0]);
    await answered?.body?.cancel();
    expect(answered?.status).toBe(200);
    expect((await put()).status).toBe(201);
  });

  it('opens a stream only for Accept exactly text/event-stream (use-graphql-sse.ts)', async () => {
    const yoga = createYoga({ schema, plugins: [useGraphQLSSE({ endpoint: '/graphql' })] });
    const token = await (await reserve(yoga)).text();
    const open = (accept: string) =>
      yoga.fetch('http://yoga.test/graphql', { headers: { accept, 'x-graphql-event-stream-token': token } });
    const mixed = await open('text/event-stream, */*');
    expect(String(mixed.headers.get('content-type'))).not.toMatch(/event-stream/);
    await mixed.body?.cancel();
    const exact = await open('text/event-stream');
    expect([exact.status, exact.headers.get('content-type')]).toEqual([
      200,
      'text/event-stream; charset=utf-8',
    ]);
    await exact.body?.cancel();
  });
});

describe('graphql-ws', () => {
  it('in onSubscribe, ctx.subscriptions already holds the operation being subscribed, and ctx.extra is ours (ws-transport.ts)', async () => {
    const seen: Array<{ ids: string[]; extra: unknown }> = [];
    const server = makeServer<undefined, { socket: string }>({
      schema,
      onSubscribe: (ctx, id) => {
        seen.push({ ids: Object.keys(ctx.subscriptions), extra: ctx.extra });
        return [new GraphQLError(`refused ${id}`)];
      },
    });
    const sent: string[] = [];
    let onMessage: ((data: string) => Promise<void>) | undefined;
    const closed = server.opened(
      {
        protocol: 'graphql-transport-ws',
        send: (data) => {
          sent.push(data);
        },
        close: () => undefined,
        onMessage: (cb) => {
          onMessage = cb;
        },
      },
      { socket: 'our-socket' },
    );
    await onMessage!(JSON.stringify({ type: 'connection_init' }));
    await onMessage!(
      JSON.stringify({ id: 'op-1', type: 'subscribe', payload: { query: 'subscription { tick }' } }),
    );
    await closed(1000, 'done');
    expect(seen).toEqual([{ ids: ['op-1'], extra: { socket: 'our-socket' } }]);
    // A refusal from onSubscribe is an `error` message to that operation, not a closed socket.
    expect(sent.map((m) => JSON.parse(m).type)).toEqual(['connection_ack', 'error']);
  });
});
