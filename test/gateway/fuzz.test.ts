import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFuzzer,
  createFuzzState,
  type FetchLike,
  judge,
  sendFuzz,
} from '../../scripts/lib/fuzz-cases.js';
import { MAX_MESSAGE } from '../../src/limits/short-error.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

// Issue #15: thousands of generated hostile requests (mutated valid queries, random tokens, deep
// nesting, huge lists, bad variables, bad GET parameters, bad JSON, odd media types, graphql-sse
// single-connection requests, persisted-operation garbage against a trusted-documents manifest, garbage
// credentials and forwarding headers, and JSON-RPC garbage and hostile tool calls to /mcp). The gateway
// never throws, answers each in time, never with a 5xx, every error carries extensions.code (a JSON-RPC
// code on /mcp, never its internal error) and a bounded message, and the heap after a full GC stays
// within 64 MB of where it started. The long run with any seed and count: `npx tsx scripts/fuzz.ts --count N`.
// Everything goes through yoga.fetch but /mcp, which only the socket serves.

const COUNT = 3_000;
const SEED = 15;
const CONCURRENCY = 4;
const MB = 1024 * 1024;
const HEAP_GROWTH_BOUND = 64 * MB;
/** The MCP tools' manifest is in the trusted-documents format: the persisted-operation cases meet it. */
const FUZZ_MANIFEST = fileURLToPath(new URL('../../mcp/operations.json', import.meta.url));

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
  let origin: string;
  beforeAll(async () => {
    process.on('unhandledRejection', onRejection);
    t = await startTestGateway({
      env: { MARKETGRAPH_TRUSTED_DOCUMENTS: FUZZ_MANIFEST, MARKETGRAPH_TRUSTED_DOCUMENTS_MODE: 'allow' },
    });
    origin = new URL((await t.gateway.start()).url).origin;
  });
  afterAll(async () => {
    process.off('unhandledRejection', onRejection);
    await t.close();
  });

  it(`answers ${COUNT} generated requests: coded errors, no 5xx, bounded heap`, {
    timeout: 120_000,
  }, async () => {
    const fuzzer = createFuzzer(SEED);
    const state = createFuzzState();
    const fetchFn: FetchLike = (url, init) =>
      url.startsWith('http://gateway.test/mcp')
        ? fetch(url.replace('http://gateway.test', origin), init)
        : Promise.resolve(t.gateway.yoga.fetch(url, init));
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
          const answer = await sendFuzz(fetchFn, 'http://gateway.test/graphql', request, 10_000, state);
          const problem = judge(answer, MAX_MESSAGE, request);
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
      'auth headers',
      'list literal',
      'list variable',
      'mcp',
      'mcp session',
      'media type',
      'mutated',
      'nested',
      'persisted',
      'sse single',
      'tokens',
      'variables',
    ]);
    // And the gateway still answers an ordinary query.
    const after = await t.query<{ sources: unknown[] }>('{ sources { name } }');
    expect(after.body.data!.sources.length).toBeGreaterThan(0);
  });
});
