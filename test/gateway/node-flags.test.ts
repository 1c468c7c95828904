import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GATEWAY_NODE_FLAGS } from '../../src/node-flags.js';

// `npm start` and `npm run start:prod` run the gateway with the same Node flags as the benchmarks
// measured, through `exec` so the node process replaces npm's shell and receives the signals npm
// forwards (SIGTERM, SIGINT).

describe('gateway node flags', () => {
  it('are the ones npm start passes to node', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(pkg.scripts.start).toBe(`exec node ${GATEWAY_NODE_FLAGS.join(' ')} --import tsx src/main.ts`);
  });

  it('are the ones npm run start:prod passes to node, which runs the compiled build', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(pkg.scripts['start:prod']).toBe(`exec node ${GATEWAY_NODE_FLAGS.join(' ')} dist/main.js`);
    expect(pkg.scripts.build).toBe('tsc -p tsconfig.build.json');
  });
});
