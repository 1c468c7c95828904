import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql@16 ships both index.mjs ("module") and index.js ("main"). Node resolves the libraries
    // (Pothos, Yoga) to index.js; without this alias Vite would hand our code index.mjs, and graphql
    // refuses to mix types from two module instances.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Every GraphQL error the helpers read must carry a code README lists (test/helpers/error-codes.ts).
    setupFiles: ['test/setup/coded-errors.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Tests start real loopback servers; two cores are the norm here, so keep files in a small pool.
    // One worker more than cores: many files spend much of their time waiting (on child processes,
    // timeouts, ticks), and the third keeps both cores busy meanwhile; a fourth only added CPU time.
    maxWorkers: 3,
    // A worker runs file after file in one module graph instead of a fresh process per file: loading
    // the gateway's modules again for every file was most of the suite's CPU time. Nothing under src/
    // holds module-level state, and the files that fake timers restore them after each test.
    isolate: false,
  },
});
