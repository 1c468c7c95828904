import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UPSTREAMS } from '../../src/config.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';
import { buildSchema } from '../../src/schema/index.js';
import { startTestGateway } from '../helpers/gateway.js';

// Every root Query field fails alone. The fields are read from the schema itself, so a new root field
// without an entry below fails this test. For each, every provider answers 503 (whatever the field
// reads, and whichever provider it might fail over to, is down) on a cold gateway, in a query that also
// asks for `sources`, which needs no provider: `sources` still has its data, and the field is null (or
// has null entries) with coded errors whose paths lie under it, never NOT_FOUND and never masked.

type GqlError = { message: string; path?: Array<string | number>; extensions?: Record<string, unknown> };

/** A selection of each root field that makes it read its providers. */
const READS: Record<string, string> = {
  asset: 'asset(by: { id: "ethereum" }) { id symbol }',
  assetCategories: 'assetCategories { id name }',
  assets: 'assets(first: 3) { edges { node { id } } }',
  node: 'node(id: "ethereum") { id ... on Asset { symbol } }',
  nodes: 'nodes(ids: ["ethereum", "OnChainMetric:BLOCK_HEIGHT:bitcoin"]) { id }',
  onChainMetrics: 'onChainMetrics(chain: "ethereum") { kind value }',
  protocolTvl: 'protocolTvl(slug: "aave") { value }',
  searchAssets: 'searchAssets(query: "eth", first: 3) { id }',
  signals: 'signals(assetIds: ["ethereum"], interval: H4) { kind }',
};

/** Root fields that read no provider: the siblings every failing field must leave alone. */
const INDEPENDENT = new Set(['sources']);

const rootFields = Object.keys(buildSchema().getQueryType()!.getFields()).sort();

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ quotas: false });
});
afterAll(() => sandbox.close());

describe('every root Query field fails alone', () => {
  it('has an entry for every root field (a new one must say what it reads, or that it reads nothing)', () => {
    const covered = new Set([...Object.keys(READS), ...INDEPENDENT]);
    expect(rootFields.filter((name) => !covered.has(name))).toEqual([]);
    expect([...covered].filter((name) => !rootFields.includes(name))).toEqual([]);
  });

  it.each(rootFields.filter((name) => !INDEPENDENT.has(name)))(
    '%s: null or null entries with coded errors under it; sources still answers',
    async (field) => {
      const t = await startTestGateway({
        sandboxInstance: sandbox,
        env: { MARKETGRAPH_UPSTREAM_RETRIES: '0' },
      });
      try {
        for (const provider of UPSTREAMS)
          sandbox.faults.set(provider, '*', { kind: 'server-error', status: 503 });
        const res = await t.query<Record<string, unknown>>(`{ ${READS[field]} sources { name } }`);
        const data = res.body.data;
        expect(data, JSON.stringify(res.body.errors)).toBeTruthy();
        expect((data!.sources as Array<{ name: string }>).map((s) => s.name)).toEqual([...UPSTREAMS]);

        const value = data![field];
        const hasNull = (v: unknown): boolean =>
          v === null ||
          (Array.isArray(v) && v.some(hasNull)) ||
          (typeof v === 'object' && v !== null && Object.values(v).some(hasNull));
        expect(hasNull(value), JSON.stringify(value)).toBe(true);

        const errors = (res.body.errors ?? []) as GqlError[];
        expect(errors.length).toBeGreaterThan(0);
        for (const error of errors) {
          expect(error.path?.[0], error.message).toBe(field);
          expect(String(error.extensions?.code), error.message).toMatch(/^UPSTREAM_/);
        }
      } finally {
        sandbox.faults.clear();
        await t.close();
      }
    },
  );
});
