import { readFileSync } from 'node:fs';
import { type OperationDefinitionNode, parse, validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLES, graphiqlTabs } from '../src/examples.js';
import { buildSchema } from '../src/schema/index.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { type ExecutionPayload, firstSseEvents, multipartPayloads } from './helpers/yoga-stream.js';

// README examples, GraphiQL tabs and src/examples.ts are one list: README shows exactly these
// documents, GraphiQL opens with one tab each, and every one answers with data against the sandbox.

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

function operationOf(document: string): OperationDefinitionNode {
  const [operation, ...more] = parse(document).definitions;
  expect(more, document).toEqual([]);
  return operation as OperationDefinitionNode;
}

describe('the examples', () => {
  it('are the ```graphql blocks of README.md, in order', () => {
    const blocks = [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
    expect(blocks).toEqual(EXAMPLES.map((e) => e.document));
  });

  it('are one named operation each', () => {
    const names = EXAMPLES.map((e) => operationOf(e.document).name?.value);
    expect(names.every(Boolean)).toBe(true);
    expect(new Set(names).size).toBe(names.length);
  });

  it('cover queries, a deferred query and every subscription', () => {
    const kinds = EXAMPLES.map((e) => operationOf(e.document).operation);
    expect(kinds).toContain('query');
    expect(EXAMPLES.some((e) => e.document.includes('@defer'))).toBe(true);
    const subscriptions = Object.keys(buildSchema().getSubscriptionType()!.getFields()).sort();
    const shown = EXAMPLES.filter((e) => operationOf(e.document).operation === 'subscription').map(
      (e) => /\{\s*(\w+)/.exec(e.document.slice(e.document.indexOf('{')))![1],
    );
    expect(shown.sort()).toEqual(subscriptions);
  });
});

describe('the examples against the sandbox', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway();
  });
  afterAll(async () => {
    await t.close();
  });

  /** Every root field answered with something: not null, and not an empty list. */
  function expectData(payload: ExecutionPayload | undefined, title: string) {
    expect(payload?.errors, title).toBeUndefined();
    const data = payload?.data ?? {};
    expect(Object.keys(data).length, title).toBeGreaterThan(0);
    for (const [field, value] of Object.entries(data)) {
      expect(value, `${title}: ${field}`).not.toBeNull();
      if (Array.isArray(value)) expect(value.length, `${title}: ${field}`).toBeGreaterThan(0);
    }
  }

  it('are valid against the schema the gateway serves (with @defer and @stream)', () => {
    const { schema } = t.gateway.yoga.getEnveloped({});
    for (const example of EXAMPLES)
      expect(validate(schema, parse(example.document)), example.title).toEqual([]);
  });

  it.each(EXAMPLES.map((e) => [e.title, e] as const))('%s', async (_title, example) => {
    if (operationOf(example.document).operation === 'subscription') {
      const [first] = await firstSseEvents(t.gateway, { query: example.document }, 1);
      expectData(first, example.title);
      return;
    }
    const { parts } = await multipartPayloads(t.gateway, { query: example.document });
    for (const part of parts) expect(part.errors, example.title).toBeUndefined();
    expectData(parts[0], example.title);
    // A deferred example delivers its deferred part too.
    if (example.document.includes('@defer')) {
      expect(parts.slice(1).flatMap((p) => p.incremental ?? []).length, example.title).toBeGreaterThan(0);
    }
  });

  it('are the tabs GraphiQL opens with', async () => {
    const response = await t.gateway.yoga.fetch('http://gateway.test/graphql', {
      headers: { accept: 'text/html' },
    });
    expect(response.status).toBe(200);
    const html = await response.text();
    const tabs = graphiqlTabs();
    expect(tabs).toHaveLength(EXAMPLES.length);
    expect(html).toContain(`"defaultTabs":${JSON.stringify(tabs)}`);
  });
});
