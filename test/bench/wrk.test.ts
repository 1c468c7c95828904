import { describe, expect, it } from 'vitest';
import { parseWrkOutput } from '../../scripts/bench/wrk.js';

// The race reads wrk's report for the ceiling: latencies, and the exact totals wrk-summary.lua prints,
// which must account for every answer being the same size. The report below is a real one (10
// connections against the hello-world ceiling, whose answers are 160 bytes each).

const REPORT = `Running 1s test @ http://127.0.0.1:42499/
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    14.07ms   16.05ms  89.74ms   86.60%
    Req/Sec     0.95k     0.96k    3.57k    90.00%
  Latency Distribution
     50%   10.53ms
     75%   20.90ms
     90%   33.37ms
     99%   77.80ms
  977 requests in 1.04s, 152.66KB read
Requests/sec:    936.31
Transfer/sec:    146.30KB
{"requests":977,"bytes":156320,"status":0,"connect":0,"read":0,"write":0,"timeout":0}
`;

const withTotals = (totals: Record<string, number>) =>
  REPORT.replace(
    /^\{"requests".*$/m,
    JSON.stringify({ ...JSON.parse(REPORT.split('\n').at(-2)!), ...totals }),
  );

describe('wrk report', () => {
  it('reads the totals, the latencies and the duration', () => {
    expect(parseWrkOutput(REPORT, 10, 160)).toEqual({
      requests: 977,
      durationS: 1.04,
      p50Ms: 10.53,
      p99Ms: 77.8,
      non2xx: 0,
      badAnswers: 0,
      socketErrors: 0,
    });
  });

  it('accepts up to one partial answer per connection beyond the complete ones', () => {
    expect(parseWrkOutput(withTotals({ bytes: 156320 + 9 * 160 + 159 }), 10, 160).badAnswers).toBe(0);
    expect(parseWrkOutput(withTotals({ bytes: 156320 + 10 * 160 }), 10, 160).badAnswers).toBe(10);
  });

  it('counts answers of the wrong size as bad', () => {
    expect(parseWrkOutput(withTotals({ bytes: 156320 - 160 }), 10, 160).badAnswers).toBe(1);
    expect(parseWrkOutput(REPORT, 10, 161).badAnswers).toBe(6);
  });

  it('counts non-2xx answers and every kind of socket error', () => {
    const parsed = parseWrkOutput(
      withTotals({ status: 3, connect: 1, read: 2, write: 3, timeout: 4 }),
      10,
      160,
    );
    expect(parsed.non2xx).toBe(3);
    expect(parsed.socketErrors).toBe(10);
  });

  it('converts latencies given in µs and s', () => {
    const fast = REPORT.replace('50%   10.53ms', '50%  812.00us').replace('99%   77.80ms', '99%    1.20s');
    expect(parseWrkOutput(fast, 10, 160)).toMatchObject({ p50Ms: 0.812, p99Ms: 1200 });
  });

  it('refuses a report without the totals line', () => {
    expect(() => parseWrkOutput(REPORT.replace(/^\{.*$/m, ''), 10, 160)).toThrow(/totals line/);
  });
});
