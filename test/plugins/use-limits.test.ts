import { parse } from 'graphql';
import { getComplexity, simpleEstimator } from 'graphql-query-complexity';
import { describe, expect, it } from 'vitest';
import { NODE_CAP_MESSAGE } from '../../src/plugins/use-limits.js';
import { buildSchema } from '../../src/schema/index.js';

// use-limits recognises graphql-query-complexity's node cap by its message (the library gives it no
// code); this fails when an upgrade changes it.

describe('graphql-query-complexity contract', () => {
  it('throws its node cap with the message use-limits turns into NODE_LIMIT_EXCEEDED', () => {
    const run = () =>
      getComplexity({
        schema: buildSchema(),
        query: parse('{ sources { name enabled healthy } }'),
        estimators: [simpleEstimator({ defaultComplexity: 1 })],
        maxQueryNodes: 3,
      });
    expect(run).toThrow(NODE_CAP_MESSAGE);
  });
});
