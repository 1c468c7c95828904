import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFuzzer, type FetchLike, judge, sendFuzz } from '../../scripts/lib/fuzz-cases.js';
import { MAX_MESSAGE } from '../../src/limits/short-error.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

// Issue #15: thousands of generated hostile requests (mutated valid queries, random tokens, deep
// nesting, huge lists, bad variables, bad GET parameters, bad JSON, odd media types). The gateway never
// throws, answers each in time, never with a 5xx, every error carries extensions.code and a bounded
// message, and the heap after a full GC stays within 64 MB of where it started. The long run with any
// seed and count: `npx tsx scripts/fuzz.ts --count N`.

const COUNT = 3_000;
const SEED = 15;
const CONCURRENCY = 4;
const MB = 1024 * 1024;
const HEAP_GROWTH_BOUND = 64 * MB;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const retainedHeap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

describe('fuzz', () => {
  let t: TestGateway;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  beforeAll(async () => {
    process.on('unhandledRejection', onRejection);
    t = await startTestGateway();
  });
  afterAll(async () => {
    process.off('unhandledRejection', onRejection);
    await t.close();
  });

  it(`answers ${COUNT} generated requests: coded errors, no 5xx, bounded heap`, {
    timeout: 120_000,
  }, async () => {
    const fuzzer = createFuzzer(SEED);
    const fetchFn: FetchLike = (url, init) => Promise.resolve(t.gateway.yoga.fetch(url, init));
    const failures: string[] = [];
    const kinds = new Map<string, number>();
    let next = 0;
    let peakGrowth = 0;
    const start = retainedHeap();

    const worker = async () => {
      while (next < COUNT) {
        const n = next++;
        const request = fuzzer.next();
        kinds.set(request.kind, (kinds.get(request.kind) ?? 0) + 1);
        try {
          const answer = await sendFuzz(fetchFn, 'http://gateway.test/graphql', request, 10_000);
          const problem = judge(answer, MAX_MESSAGE);
          if (problem) failures.push(`#${n} ${request.kind}: ${problem}`);
        } catch (error) {
          failures.push(
            `#${n} ${request.kind}: threw ${error instanceof Error ? error.message : String(error)}`,
          );
        }
        if (n % 500 === 499) peakGrowth = Math.max(peakGrowth, retainedHeap() - start);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    peakGrowth = Math.max(peakGrowth, retainedHeap() - start);

    expect(failures.slice(0, 20)).toEqual([]);
    expect(rejections).toEqual([]);
    expect(peakGrowth).toBeLessThan(HEAP_GROWTH_BOUND);
    // Every generator ran, so none of them silently stopped producing requests.
    expect([...kinds.keys()].sort()).toEqual([
      'GET',
      'JSON body',
      'accept',
      'list literal',
      'list variable',
      'media type',
      'mutated',
      'nested',
      'tokens',
      'variables',
    ]);
    // And the gateway still answers an ordinary query.
    const after = await t.query<{ sources: unknown[] }>('{ sources { name } }');
    expect(after.body.data!.sources.length).toBeGreaterThan(0);
  });
});
