// The gateway's V8 heap as its /metrics reports it: prom-client's default Node metrics, which
// src/metrics.ts registers under their standard names (no marketgraph_ prefix).

/** MB, from prom-client's Node metrics (total = reserved by V8, used = live + not yet collected). */
export interface HeapReading {
  newTotal: number;
  oldTotal: number;
  oldUsed: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
}

const SERIES = {
  newTotal: 'nodejs_heap_space_size_total_bytes{space="new"}',
  oldTotal: 'nodejs_heap_space_size_total_bytes{space="old"}',
  oldUsed: 'nodejs_heap_space_size_used_bytes{space="old"}',
  heapTotal: 'nodejs_heap_size_total_bytes',
  heapUsed: 'nodejs_heap_size_used_bytes',
  external: 'nodejs_external_memory_bytes',
} as const satisfies Record<keyof HeapReading, string>;

/** The reading, or the series the text lacks (so a renamed metric is reported, not printed as NaN). */
export function parseHeapMetrics(text: string): { heap: HeapReading } | { missing: string[] } {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    if (space > 0) values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  const heap = {} as HeapReading;
  const missing: string[] = [];
  for (const [field, series] of Object.entries(SERIES) as Array<[keyof HeapReading, string]>) {
    const bytes = values.get(series);
    if (bytes === undefined || !Number.isFinite(bytes)) missing.push(series);
    else heap[field] = bytes / 1024 / 1024;
  }
  return missing.length > 0 ? { missing } : { heap };
}
