import type { JITCache } from '@envelop/graphql-jit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { firstSseEvents, multipartPayloads } from '../helpers/yoga-stream.js';

// Queries run through graphql-jit (src/plugins/use-jit.ts, MARKETGRAPH_JIT, on by default), which must
// answer exactly what Yoga's own executor answers, data and errors alike, and leave subscriptions and
// @defer/@stream to Yoga. The plugin's string-keyed cache option counts what it compiled: if an
// upgrade stopped compiling (or started compiling subscriptions), the counts below change. The
// response cache is off so every request executes.

/** Fields that do not move with the sandbox's market, an error path, aliases, variables, a fragment. */
const QUERY = `query Mixed($id: ID!, $first: Int!) {
  a: asset(by: { id: $id }) { ...Names }
  missing: asset(by: { id: "no-such-asset" }) { id }
  assets(first: $first) { edges { cursor node { ...Names } } pageInfo { hasNextPage endCursor } }
}
fragment Names on Asset { id symbol name }`;
const VARIABLES = { id: 'ethereum', first: 3 };
const DEFERRED = `{ asset(by: { id: "bitcoin" }) { name ... @defer { candles(interval: D1, first: 2) { edges { node { openTime } } } } } }`;
const SUBSCRIPTION = 'subscription { priceUpdated(assetIds: ["bitcoin"]) { assetId value } }';

function countingCache(): JITCache & { compiled: string[] } {
  const entries = new Map<string, ReturnType<JITCache['get']>>();
  const compiled: string[] = [];
  return {
    compiled,
    get: (key) => entries.get(key),
    set(key, value) {
      compiled.push(key);
      entries.set(key, value);
    },
  };
}

let sandbox: Sandbox;
let jit: TestGateway;
let plain: TestGateway;
const cache = countingCache();
const off = countingCache();

beforeAll(async () => {
  sandbox = await startSandbox({ quotas: false });
  const env = { MARKETGRAPH_RESPONSE_CACHE: 'false' };
  jit = await startTestGateway({ sandboxInstance: sandbox, env, jit: { cache } });
  plain = await startTestGateway({
    sandboxInstance: sandbox,
    env: { ...env, MARKETGRAPH_JIT: 'false' },
    jit: { cache: off },
  });
});

afterAll(async () => {
  await jit?.close();
  await plain?.close();
  await sandbox?.close();
});

describe('graphql-jit', () => {
  it('answers a query as Yoga’s executor does, errors included, and compiles it once', async () => {
    const first = await jit.query(QUERY, VARIABLES);
    const again = await jit.query(QUERY, VARIABLES);
    const reference = await plain.query(QUERY, VARIABLES);
    expect(reference.body.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    expect((reference.body.data as { assets: { edges: unknown[] } }).assets.edges).toHaveLength(3);
    expect(first).toEqual(reference);
    expect(again).toEqual(reference);
    expect(cache.compiled).toHaveLength(1);
    expect(cache.compiled[0]).toContain('query Mixed');
    expect(off.compiled).toEqual([]);
  });

  it('leaves @defer and subscriptions to Yoga: they stream as before and nothing is compiled for them', async () => {
    const before = cache.compiled.length;
    const { contentType, parts } = await multipartPayloads(jit.gateway, { query: DEFERRED });
    expect(contentType).toMatch(/^multipart\/mixed/);
    expect(parts.length).toBeGreaterThanOrEqual(2);
    expect(parts[0]!.data).toEqual({ asset: { name: 'Bitcoin' } });
    const events = await firstSseEvents(jit.gateway, { query: SUBSCRIPTION }, 1);
    expect(events).toHaveLength(1);
    expect((events[0]!.data as { priceUpdated: { assetId: string } }).priceUpdated.assetId).toBe('bitcoin');
    expect(cache.compiled).toHaveLength(before);
  });
});
