// The Node/V8 flags the gateway process runs with: `npm start` (package.json, kept equal by
// test/gateway/node-flags.test.ts), the benchmarks and the tests that spawn a gateway.
//
// --no-concurrent-marking: V8 marks the old generation incrementally on the main thread instead of on
// helper threads. A gateway process is meant to own one core (scale-out is one process per core, see
// docs/architecture.md); there the helper threads compete with the main thread for that core, marking
// falls behind while the fan-out keeps the core busy, and garbage piles up in the old generation: at 5k
// live subscribers on one pinned core, RSS per 1k subscriptions was 37-41 MB with concurrent marking
// and 20-22 MB without, for the same CPU per delivered event (docs/benchmarks-live.md).
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--no-concurrent-marking'];
