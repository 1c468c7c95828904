import { readFileSync } from 'node:fs';
import { printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildSchema } from '../src/schema/index.js';

// schema/schema.graphql is the reviewed contract; it must be what the code builds. Run `npm run schema`
// after changing a type, and review the diff.

describe('schema/schema.graphql', () => {
  it('matches the schema the code builds', () => {
    const checkedIn = readFileSync(new URL('../schema/schema.graphql', import.meta.url), 'utf8');
    expect(checkedIn.trim(), 'schema/schema.graphql is stale: run `npm run schema`').toBe(
      printSchema(buildSchema()).trim(),
    );
  });

  it('exposes the core types and root fields', () => {
    const schema = buildSchema();
    for (const type of ['Asset', 'Price', 'Market', 'Candle', 'Signal', 'OnChainMetric', 'Node', 'Source']) {
      expect(schema.getType(type), type).toBeDefined();
    }
    expect(Object.keys(schema.getQueryType()!.getFields())).toEqual(
      expect.arrayContaining(['asset', 'assets', 'node', 'nodes', 'signals', 'onChainMetrics', 'sources']),
    );
    expect(Object.keys(schema.getSubscriptionType()!.getFields())).toContain('priceUpdated');
  });
});
