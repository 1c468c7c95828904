// Preloaded (`node --expose-gc --import ./scripts/bench/gc-on-signal.mjs ...`) by the idle-memory
// benchmark only: SIGUSR2 runs a full GC and prints the heap figures, so the benchmark can read a
// server's RSS after a collection without changing the server. Plain JavaScript: it also runs in
// processes without tsx (the compiled build).
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  const m = process.memoryUsage();
  const mb = (n) => Math.round(n / 1e5) / 10;
  process.stderr.write(
    `gc-on-signal ${JSON.stringify({ rss: mb(m.rss), heapTotal: mb(m.heapTotal), heapUsed: mb(m.heapUsed), external: mb(m.external) })}\n`,
  );
});
