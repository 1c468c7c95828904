// The Node/V8 flags the gateway process runs with: `npm start` (package.json, kept equal by
// test/gateway/node-flags.test.ts), the benchmarks and the tests that spawn a gateway.
//
// --initial-old-space-size=64: V8 starts a process with an old-generation limit derived from the
// maximum heap (gigabytes on a machine with plenty of RAM), scaled down by the survival rate it sees,
// and computes the limit from the live size only after its first full GC. A fresh gateway that takes
// thousands of subscriptions therefore let connection and event garbage pile up to ~280 MB of old
// space before collecting anything: at 5k subscribers RSS per 1k subscriptions read 47-49 MB while the
// live heap was ~14 KB per subscription. Starting at 64 MB (about twice the gateway's idle old space)
// brings the first full GC forward; after it V8 sizes the heap from what is live, as it would anyway.
// Same run: 17 MB per 1k, no change in CPU per delivered event (docs/benchmarks-live.md).
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=64'];
