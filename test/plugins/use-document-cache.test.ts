import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { BYTES_PER_CHARACTER, useDocumentCache } from '../../src/plugins/use-document-cache.js';

// The document cache keeps what parsed and validated, within its byte budget, and nothing else:
// counted by how often the parser and the validator actually run.

function setup(maxBytes: number) {
  const runs = { parse: 0, validate: 0 };
  const counting: Plugin = {
    onParse({ parseFn, setParseFn }) {
      setParseFn((source, options) => {
        runs.parse += 1;
        return parseFn(source, options);
      });
    },
    onValidate({ validateFn, setValidationFn }) {
      setValidationFn((...args) => {
        runs.validate += 1;
        return validateFn(...args);
      });
    },
  };
  const yoga = createYoga({
    schema: createSchema({ typeDefs: 'type Query { a: Int, b: Int }', resolvers: { Query: { a: () => 1 } } }),
    parserAndValidationCache: false,
    plugins: [counting, useDocumentCache({ maxBytes })],
    logging: false,
  });
  const query = async (text: string) => {
    const response = await yoga.fetch('http://test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: text }),
    });
    return response.json();
  };
  return { runs, query };
}

describe('useDocumentCache', () => {
  it('parses and validates a good document once, however often it is asked', async () => {
    const { runs, query } = setup(1_000_000);
    for (let i = 0; i < 3; i++) expect(await query('{ a }')).toEqual({ data: { a: 1 } });
    expect(runs).toEqual({ parse: 1, validate: 1 });
  });

  it('keeps nothing that failed to parse or validate', async () => {
    const { runs, query } = setup(1_000_000);
    for (let i = 0; i < 3; i++) {
      await query('{ a ');
      await query('{ nope }');
    }
    expect(runs).toEqual({ parse: 6, validate: 3 });
  });

  it('evicts by estimated bytes and never holds a document above a quarter of its budget', async () => {
    const text = (name: string) => `{ ${name}: a }`;
    // Room for four of these documents, not five.
    const { runs, query } = setup(text('x0').length * BYTES_PER_CHARACTER * 4 + 3);
    for (let i = 0; i < 5; i++) await query(text(`x${i}`));
    expect(runs.parse).toBe(5);
    await query(text('x4'));
    expect(runs.parse).toBe(5);
    await query(text('x0'));
    expect(runs.parse).toBe(6);

    const small = setup(1_000);
    for (let i = 0; i < 2; i++) await small.query(`{ a ${'b '.repeat(10)}}`);
    expect(small.runs.parse).toBe(2);
  });

  it('is off at 0 bytes', async () => {
    const { runs, query } = setup(0);
    for (let i = 0; i < 2; i++) await query('{ a }');
    expect(runs).toEqual({ parse: 2, validate: 2 });
  });
});
