import { describe, expect, it } from 'vitest';
import { parseHeapMetrics } from '../../scripts/bench/scenarios/fanout-heap-metrics.js';
import { createMetrics } from '../../src/metrics.js';

// The fan-out bench prints the gateway's V8 heap from its /metrics. It read names the gateway no
// longer serves and printed NaN; this reads the gateway's own registry (with the process metrics
// main.ts turns on), so a renamed series fails here instead.

describe('parseHeapMetrics', () => {
  it("reads every heap figure from the gateway's /metrics text", async () => {
    const metrics = createMetrics(undefined, { defaultMetrics: true });
    const parsed = parseHeapMetrics(await metrics.registry.metrics());
    if (!('heap' in parsed)) throw new Error(`missing: ${parsed.missing.join(', ')}`);
    const { heap } = parsed;
    const used = process.memoryUsage();
    for (const value of Object.values(heap)) expect(Number.isFinite(value) && value >= 0).toBe(true);
    // Same process, read moments apart: the totals agree with Node's own figures to a few MB.
    expect(Math.abs(heap.heapTotal - used.heapTotal / 1048576)).toBeLessThan(16);
    expect(heap.oldUsed).toBeLessThanOrEqual(heap.oldTotal);
    expect(heap.heapUsed).toBeGreaterThan(0);
  });

  it('names the series it cannot find instead of returning NaN', () => {
    const text = '# HELP x\nnodejs_heap_size_total_bytes 1048576\nnodejs_heap_size_used_bytes 524288\n';
    expect(parseHeapMetrics(text)).toEqual({
      missing: [
        'nodejs_heap_space_size_total_bytes{space="new"}',
        'nodejs_heap_space_size_total_bytes{space="old"}',
        'nodejs_heap_space_size_used_bytes{space="old"}',
        'nodejs_external_memory_bytes',
      ],
    });
  });
});
