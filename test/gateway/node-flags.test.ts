import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GATEWAY_NODE_FLAGS } from '../../src/node-flags.js';

// `npm start` runs the gateway with the same Node flags as the benchmarks measured, through `exec` so
// the node process replaces npm's shell and receives the signals npm forwards (SIGTERM, SIGINT).

describe('gateway node flags', () => {
  it('are the ones npm start passes to node', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(pkg.scripts.start).toBe(`exec node ${GATEWAY_NODE_FLAGS.join(' ')} --import tsx src/main.ts`);
  });
});
