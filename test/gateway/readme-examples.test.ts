import { readFileSync } from 'node:fs';
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

// Every operation README.md shows (they are GraphiQL's tabs too, test/examples.test.ts) and GraphiQL's
// introspection query pass the default limits: none is refused as a document, an argument or a cost.
// A deferred example answers in parts only; test/examples.test.ts reads those.

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const EXAMPLES = [...README.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
const REFUSALS = /^(GRAPHQL_|BAD_|REQUEST_|OPERATION_)|_LIMIT_EXCEEDED$|^DOCUMENT_TOO_LARGE$/;

describe('README examples under the default limits', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway();
  });
  afterAll(async () => {
    await t.close();
  });

  const refused = (body: { errors?: Array<{ message: string; extensions?: { code?: unknown } }> }) =>
    (body.errors ?? []).filter((e) => REFUSALS.test(String(e.extensions?.code))).map((e) => e.message);

  it('finds the examples', () => {
    expect(EXAMPLES.length).toBeGreaterThanOrEqual(7);
  });

  it.each(
    [
      ...EXAMPLES.filter((e) => !/^subscription/m.test(e) && !e.includes('@defer')),
      getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, inputValueDeprecation: true }),
    ].map((query) => [query.replace(/\s+/g, ' ').slice(0, 60), query]),
  )('%s…', async (_, query) => {
    const res = await t.query(query);
    expect(refused(res.body)).toEqual([]);
    expect(res.body.data).toBeTruthy();
  });

  it.each(EXAMPLES.filter((e) => /^subscription/m.test(e)))('%s', async (query) => {
    const controller = new AbortController();
    const response = await t.gateway.yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query }),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    let text = '';
    // The stream may open with a keep-alive comment; read until the first event's data.
    while (!/data: .*\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    await reader.cancel().catch(() => undefined);
    const event = JSON.parse(/data: (.*)/.exec(text)![1]!);
    expect(refused(event)).toEqual([]);
    expect(event.data).toBeTruthy();
  });
});
