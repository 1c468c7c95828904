import { buildSchema as buildSdl } from 'graphql';
import { describe, expect, it } from 'vitest';
import { inputSchema } from '../../src/mcp/input-schema.js';
import { agentOperations, documentId } from '../../src/mcp/manifest.js';
import { toolName } from '../../src/mcp/tools.js';

// Which manifest operations become tools, and their input schemas, on a small schema of its own.

const schema = buildSdl(`
  "A lookup"
  input Lookup @oneOf { "by id" id: ID, "by ticker" symbol: String }
  input Range { "start" from: String!, to: String, limit: Int = 5 }
  enum Kind { "fast" A, B }
  type Query { thing("what to find" by: Lookup, "which kinds" kinds: [Kind!]!, range: Range, n: Float): String }
  type Mutation { poke: String }
`);

const manifestOf = (...texts: string[]) => Object.fromEntries(texts.map((t) => [documentId(t), t]));

describe('agent operations', () => {
  it('takes the operations marked # @mcp, with the marker comment as the description', () => {
    const marked =
      '# @mcp Finds a thing\n# by id or ticker.\nquery FindThing($by: Lookup) { thing(by: $by, kinds: [A]) }';
    const unmarked = '# just a comment\nquery Other { thing(kinds: [B]) }';
    const ops = agentOperations(manifestOf(marked, unmarked));
    expect(ops.map((o) => [o.operation.name?.value, o.description, o.id])).toEqual([
      ['FindThing', 'Finds a thing by id or ticker.', documentId(marked)],
    ]);
    expect(toolName('FindThing')).toBe('find_thing');
    expect(toolName('OnChainMetrics')).toBe('on_chain_metrics');
  });

  it('refuses marked documents that are not one named query', () => {
    expect(() => agentOperations(manifestOf('# @mcp x\nmutation Poke { poke }'))).toThrow(/queries/);
    expect(() => agentOperations(manifestOf('# @mcp x\n{ thing(kinds: [A]) }'))).toThrow(
      /one named operation/,
    );
    expect(() =>
      agentOperations(manifestOf('# @mcp x\nquery A { thing(kinds: [A]) } query B { thing(kinds: [B]) }')),
    ).toThrow(/one named operation/);
  });

  it('derives the input schema: required non-nulls, defaults, enums, lists, input objects and oneOf', () => {
    const [op] = agentOperations(
      manifestOf(
        '# @mcp t\nquery T($by: Lookup, $kinds: [Kind!]!, $range: Range, $n: Float = 1.5) { thing(by: $by, kinds: $kinds, range: $range, n: $n) }',
      ),
    );
    expect(inputSchema(schema, op!.operation)).toEqual({
      type: 'object',
      additionalProperties: false,
      required: ['kinds'],
      properties: {
        by: {
          type: 'object',
          description: 'what to find',
          additionalProperties: false,
          minProperties: 1,
          maxProperties: 1,
          properties: {
            id: { type: 'string', description: 'by id' },
            symbol: { type: 'string', description: 'by ticker' },
          },
        },
        kinds: {
          type: 'array',
          description: 'which kinds',
          items: { type: 'string', enum: ['A', 'B'], description: 'A: fast' },
        },
        range: {
          type: 'object',
          additionalProperties: false,
          required: ['from'],
          properties: {
            from: { type: 'string', description: 'start' },
            to: { type: 'string' },
            limit: { type: 'integer' },
          },
        },
        n: { type: 'number', default: 1.5 },
      },
    });
  });
});
