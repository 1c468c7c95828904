import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

// Issue #15: distinct ~0.8 MB documents, each refused, used to stay in Yoga's parse/validation cache
// (55–70× their text, bounded by entry count only) until V8 aborted at about the 80th. Retained heap is
// measured after a full GC, before and after 200 such documents.

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function retainedHeap(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const MB = 1024 * 1024;

/** A document's text, or its text and the operation to run when it holds several. */
type Document = string | { query: string; operationName: string };

async function sendAll(t: TestGateway, documents: (i: number) => Document, count: number) {
  const codes = new Set<unknown>();
  for (let i = 0; i < count; i++) {
    const document = documents(i);
    const response = await t.gateway.yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify(typeof document === 'string' ? { query: document } : document),
    });
    const body = (await response.json()) as { errors?: Array<{ extensions?: { code?: unknown } }> };
    for (const error of body.errors ?? []) codes.add(error.extensions?.code);
  }
  return codes;
}

/** One field with ~100,000 unknown directives: 0.8 MB, distinct per i. */
const directives = (i: number) => `{ __typename ${'@x '.repeat(266_000)} @n${i} }`;
/** Few tokens, 0.8 MB: parses, then fails validation (an unknown directive). */
const bigArgument = (i: number) => `{ __typename @x(a: "${i}${'a'.repeat(800_000)}") }`;
/** Valid: the text is a comment. */
const bigComment = (i: number) => `# ${i}${'c'.repeat(800_000)}\n{ __typename }`;

describe('retained heap with the default limits', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway();
  });
  afterAll(async () => {
    await t.close();
  });

  it('200 distinct 0.8 MB documents are refused unparsed and leave the heap flat', {
    timeout: 120_000,
  }, async () => {
    await sendAll(t, directives, 5);
    const before = retainedHeap();
    const codes = await sendAll(t, directives, 200);
    const grown = retainedHeap() - before;
    expect([...codes]).toEqual(['DOCUMENT_TOO_LARGE']);
    expect(grown).toBeLessThan(8 * MB);
  });
});

describe('retained heap with the document limits raised to 1 MB and 20,000 tokens', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({
      env: { MARKETGRAPH_MAX_DOCUMENT_BYTES: '1000000', MARKETGRAPH_MAX_TOKENS: '20000' },
    });
  });
  afterAll(async () => {
    await t.close();
  });

  it.each([
    [200, 'parsed, then refused by validation', bigArgument, 'GRAPHQL_VALIDATION_FAILED'],
    [50, 'stopped at the token limit', directives, 'TOKEN_LIMIT_EXCEEDED'],
    [50, 'valid, and too big to cache', bigComment, undefined],
  ])(
    '%i distinct 0.8 MB documents %s leave the heap flat',
    { timeout: 60_000 },
    async (count, _, documents, code) => {
      await sendAll(t, documents, 5);
      const before = retainedHeap();
      const codes = await sendAll(t, documents, count);
      const grown = retainedHeap() - before;
      expect([...codes]).toEqual(code ? [code] : []);
      expect(grown).toBeLessThan(8 * MB);
    },
  );

  it('300 distinct valid 8 KB documents: the cache keeps what its 16 MB budget allows', {
    timeout: 120_000,
  }, async () => {
    // Dense query text, hundreds of KB of heap once parsed: the old cache (1,024 entries) would keep all
    // 300. Many small operations rather than one selecting the same field many times: as much text and
    // heap, without validation comparing every pair of copies (which made this the suite's slowest test).
    const selection =
      'sources { name enabled healthy quotaLeft requestsPerMinute lastLatencyMs lastError breaker }';
    const dense = (i: number) => ({
      query: Array.from({ length: 70 }, (_, k) => `query Q${i}_${k} { ${selection} }`).join('\n'),
      operationName: `Q${i}_0`,
    });
    expect(dense(0).query.length).toBeGreaterThan(7_000);
    await sendAll(t, dense, 5);
    const before = retainedHeap();
    const codes = await sendAll(t, dense, 300);
    const grown = retainedHeap() - before;
    expect([...codes]).toEqual([]);
    expect(grown).toBeLessThan(24 * MB);
  });
});
