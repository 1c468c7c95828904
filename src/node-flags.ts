// The Node/V8 flags the gateway process runs with: `npm start` and `npm run start:prod` (package.json,
// kept equal by test/gateway/node-flags.test.ts), the benchmarks and the tests that spawn a gateway.
//
// They bound how far V8 lets the old generation grow past what is live. A gateway's memory scales with
// its live subscriptions (~14 KB each), and V8's defaults are tuned for throughput instead:
// - a fresh process does its first full GC only at a limit derived from the machine's RAM (scaled by
//   the survival rate it sees), so one that takes thousands of subscriptions at start piled up
//   ~250 MB of garbage first; --initial-old-space-size=64 (about twice the idle gateway's old space)
//   brings that first GC forward;
// - after a full GC the next limit is the live size times a factor V8 picks between 1.1 and 4 from
//   GC versus mutator speed; the fan-out's cheap GCs pushed it high. --heap-growing-percent=100 fixes
//   it at 2.
// At 5k subscribers on one core: RSS per 1k subscriptions 26-50 MB (run to run) -> 16-17 MB, for
// ~1.5 µs more CPU per delivered event (more frequent full GCs); hot queries within run-to-run noise
// (docs/benchmarks-live.md). Measured again against no flags and smaller young generations on the
// cached query and the fan-out (`npm run bench -- gc-flags`, docs/benchmarks.md "GC flags"): no other
// set did better at both. They hold ~40 MB of heap head-room at idle, which is why idle RSS is ~120 MB
// rather than under 100 (docs/benchmarks.md "Start lighter").
export const GATEWAY_NODE_FLAGS: readonly string[] = [
  '--initial-old-space-size=64',
  '--heap-growing-percent=100',
];
