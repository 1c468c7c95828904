import {
  type ExecutionResult,
  type GraphQLError,
  GraphQLFloat,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  parse,
} from 'graphql';
import { maskError } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { createSharedResults, type SharedResultsOptions } from '../../src/transport/shared-results.js';

// Per-event execution shared between subscribers with the same document and variables; results
// serialized once; different variables or documents executed separately.

interface Event {
  asset: string;
  value: number;
}

function setup(options?: SharedResultsOptions) {
  const listeners = new Set<(e: Event) => void>();
  let resolved = 0;
  const Price = new GraphQLObjectType<Event>({
    name: 'Price',
    fields: {
      asset: { type: GraphQLString },
      secret: {
        type: GraphQLString,
        resolve: () => {
          throw new Error('upstream said: bad key sk-live-123');
        },
      },
      value: {
        type: GraphQLFloat,
        resolve: (e) => {
          resolved += 1;
          return e.value;
        },
      },
    },
  });
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLString } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        price: {
          type: Price,
          args: { asset: { type: GraphQLString } },
          subscribe: (_root, args) => {
            if (args.asset === 'broken') throw new Error('connect to wss://key@upstream failed');
            return events(listeners);
          },
          resolve: (e: Event) => e,
        },
      },
    }),
  });
  const shared = createSharedResults(options);
  return {
    shared,
    schema,
    emit: (e: Event) => {
      for (const l of listeners) l(e);
    },
    resolved: () => resolved,
    listeners: () => listeners.size,
  };
}

/** A minimal push stream: every listener gets the same event object. */
function events(listeners: Set<(e: Event) => void>): AsyncIterableIterator<Event> {
  const queue: Event[] = [];
  let wake: (() => void) | undefined;
  const listener = (e: Event) => {
    queue.push(e);
    wake?.();
  };
  listeners.add(listener);
  return {
    async next() {
      while (queue.length === 0) await new Promise<void>((r) => (wake = r));
      return { value: queue.shift()!, done: false };
    },
    async return() {
      listeners.delete(listener);
      return { value: undefined, done: true };
    },
    async throw(e) {
      listeners.delete(listener);
      throw e;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

const DOC = parse('subscription ($a: String) { price(asset: $a) { asset value } }');

async function subscribeMany(s: ReturnType<typeof setup>, n: number, variables: Record<string, unknown>) {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const it = (await s.shared.subscribe({
        schema: s.schema,
        document: DOC,
        variableValues: variables,
      })) as AsyncIterableIterator<ExecutionResult>;
      return it;
    }),
  );
}

describe('shared subscription results', () => {
  it('never shares a result between subscribers in different partitions (scope sets)', async () => {
    const s = setup({ partition: (args) => String((args.contextValue as { scopes: string }).scopes) });
    const subscribe = (scopes: string) =>
      s.shared.subscribe({
        schema: s.schema,
        document: DOC,
        variableValues: { a: 'btc' },
        contextValue: { scopes },
      }) as Promise<AsyncIterableIterator<ExecutionResult>>;
    const subs = await Promise.all([subscribe(''), subscribe(''), subscribe('signals:licensed')]);
    s.emit({ asset: 'btc', value: 2 });
    const results = await Promise.all(subs.map((it) => it.next()));
    expect(results[0]!.value).toBe(results[1]!.value);
    expect(results[2]!.value).not.toBe(results[0]!.value);
    expect(s.shared.stats()).toMatchObject({ executions: 2, deliveries: 3 });
    await Promise.all(subs.map((it) => it.return?.()));
  });

  it('executes each event once for all subscribers of one document and variables, and serializes it once', async () => {
    const s = setup();
    const subs = await subscribeMany(s, 50, { a: 'btc' });
    const event = { asset: 'btc', value: 1.5 };
    s.emit(event);
    const results = await Promise.all(subs.map((it) => it.next()));
    expect(results.every((r) => r.value === results[0]!.value)).toBe(true);
    expect(results[0]!.value).toEqual({ data: { price: { asset: 'btc', value: 1.5 } } });
    expect(s.resolved()).toBe(1);
    expect(s.shared.stats()).toMatchObject({ executions: 1, deliveries: 50 });

    const texts = results.map((r) => s.shared.json(r.value));
    expect(texts[0]).toBe('{"data":{"price":{"asset":"btc","value":1.5}}}');
    expect(new Set(texts).size).toBe(1);
    expect(s.shared.stats().serializations).toBe(1);
    // Yoga's SSE processor calls result.stringify(result); it reuses the same text.
    const value = results[0]!.value as ExecutionResult & { stringify(v: unknown): string };
    expect(value.stringify(value)).toBe(texts[0]);
    expect(s.shared.stats().serializations).toBe(1);

    await Promise.all(subs.map((it) => it.return?.()));
    expect(s.listeners()).toBe(0);
  });

  it('executes separately per distinct variables, and per subscriber when sharing is off', async () => {
    const s = setup();
    const subs = [...(await subscribeMany(s, 3, { a: 'btc' })), ...(await subscribeMany(s, 2, { a: 'eth' }))];
    s.emit({ asset: 'x', value: 2 });
    await Promise.all(subs.map((it) => it.next()));
    expect(s.shared.stats().executions).toBe(2);
    await Promise.all(subs.map((it) => it.return?.()));

    const off = setup({ enabled: false });
    const many = await subscribeMany(off, 4, { a: 'btc' });
    off.emit({ asset: 'x', value: 3 });
    const results = await Promise.all(many.map((it) => it.next()));
    expect(off.shared.stats().executions).toBe(4);
    expect(off.shared.json(results[0]!.value)).toBeUndefined();
    await Promise.all(many.map((it) => it.return?.()));
  });

  it('answers a subscribe that throws (arguments graphql-js refuses) with a coded result, not a rejection', async () => {
    const s = setup({ maskError: (error) => maskError(error, 'Unexpected error.') as GraphQLError });
    // No schema: graphql-js's argument check throws before any resolver runs.
    const result = (await s.shared.subscribe({
      schema: undefined as unknown as GraphQLSchema,
      document: DOC,
    })) as ExecutionResult;
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0]!.message).toBe('Unexpected error.');
    const bare = (await setup().shared.subscribe({
      schema: undefined as unknown as GraphQLSchema,
      document: DOC,
    })) as ExecutionResult;
    expect(bare.errors![0]!.extensions).toMatchObject({ code: 'INTERNAL_SERVER_ERROR' });
  });

  it('answers a subscribe-time error as a result, not a stream', async () => {
    const s = setup();
    const result = await s.shared.subscribe({
      schema: s.schema,
      document: parse('subscription { price(asset: 1) { value } }'),
    });
    expect((result as ExecutionResult).errors?.length).toBeGreaterThan(0);
  });

  it('masks unexpected errors once per shared result, and at subscribe time, keeping GraphQL errors', async () => {
    const masked: unknown[] = [];
    const s = setup({
      maskError: (error) => {
        masked.push(error);
        return maskError(error, 'Unexpected error.') as GraphQLError;
      },
    });
    const doc = parse('subscription { price(asset: "btc") { value secret } }');
    const subs = await Promise.all(
      [1, 2, 3].map(
        async () =>
          (await s.shared.subscribe({
            schema: s.schema,
            document: doc,
          })) as AsyncIterableIterator<ExecutionResult>,
      ),
    );
    s.emit({ asset: 'btc', value: 7 });
    const results = await Promise.all(subs.map((it) => it.next()));
    for (const { value } of results) {
      expect(value.data).toEqual({ price: { value: 7, secret: null } });
      expect(value.errors?.map((e: GraphQLError) => e.message)).toEqual(['Unexpected error.']);
      expect(value.errors?.[0]?.extensions).toMatchObject({ code: 'INTERNAL_SERVER_ERROR' });
      expect(JSON.stringify(value)).not.toContain('sk-live');
    }
    expect(masked).toHaveLength(1);
    await Promise.all(subs.map((it) => it.return?.()));

    const refused = (await s.shared.subscribe({
      schema: s.schema,
      document: parse('subscription { price(asset: "broken") { value } }'),
    })) as ExecutionResult;
    expect(refused.errors?.map((e) => e.message)).toEqual(['Unexpected error.']);
    expect(JSON.stringify(refused)).not.toContain('wss://');

    // A client's own mistake is a GraphQL error and keeps its message.
    const invalid = (await s.shared.subscribe({
      schema: s.schema,
      document: parse('subscription { price(asset: 1) { value } }'),
    })) as ExecutionResult;
    expect(invalid.errors?.[0]?.message).toBe('Argument "asset" has invalid value 1.');
  });
});

describe('shared subscription results: stream watchers', () => {
  it('tells onOpen of each stream and its end once, however it ends, and never for a refused subscribe', async () => {
    const s = setup();
    const log: string[] = [];
    const watch = (name: string) => () => {
      log.push(`open ${name}`);
      return () => log.push(`end ${name}`);
    };
    const subscribe = (name: string, document = DOC) =>
      s.shared.subscribe(
        { schema: s.schema, document, variableValues: { a: 'btc' } },
        watch(name),
      ) as Promise<AsyncIterableIterator<ExecutionResult>>;
    const returned = await subscribe('returned');
    const thrown = await subscribe('thrown');
    await s.shared.subscribe(
      { schema: s.schema, document: parse('subscription { price(asset: 1) { value } }') },
      watch('refused'),
    );
    expect(log).toEqual(['open returned', 'open thrown']);
    await returned.return?.();
    await returned.return?.();
    await thrown.throw?.(new Error('client went away')).catch(() => undefined);
    expect(log).toEqual(['open returned', 'open thrown', 'end returned', 'end thrown']);

    // A source that ends by itself.
    const finite = new GraphQLSchema({
      query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLString } } }),
      subscription: new GraphQLObjectType({
        name: 'Subscription',
        fields: {
          once: {
            type: GraphQLString,
            subscribe: async function* () {
              yield 'only';
            },
            resolve: (value: string) => value,
          },
        },
      }),
    });
    const ends = (await s.shared.subscribe(
      { schema: finite, document: parse('subscription { once }') },
      watch('finite'),
    )) as AsyncIterableIterator<ExecutionResult>;
    expect((await ends.next()).value).toEqual({ data: { once: 'only' } });
    expect(log.at(-1)).toBe('open finite');
    expect((await ends.next()).done).toBe(true);
    await ends.return?.();
    expect(log.filter((l) => l.endsWith('finite'))).toEqual(['open finite', 'end finite']);
  });
});
