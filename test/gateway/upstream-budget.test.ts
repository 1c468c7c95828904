import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { GraphQLResponse } from '../../scripts/lib/gateway-process.js';
import { loadConfig } from '../../src/config.js';
import { sandboxEndpoints } from '../../src/sandbox/dialects.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';
import { createGateway, type Gateway } from '../../src/server.js';
import { onlyUpstreams } from '../helpers/gateway.js';

// Issue #15 part 2, end to end: one request's upstream fan-out is capped where the calls are made
// (upstream calls, candle rows, a share of each provider's quota), the fields that could not be served
// get UPSTREAM_BUDGET_EXCEEDED and the others their data; and a request that runs into the limits or
// the gateway's own quota writes one warning line, not one per refused call. Calls are counted by the
// sandbox; log lines are captured from the gateway's pino logger.

type GqlError = { message: string; path?: unknown[]; extensions?: Record<string, unknown> };
type Line = { level: number; msg: string; [field: string]: unknown };

const HOUR = 3_600_000;
const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((thing) => thing.close()));
});

interface Setup {
  sandbox: Sandbox;
  gateway: Gateway;
  lines: Line[];
  query<T = Record<string, unknown>>(query: string): Promise<GraphQLResponse<T>>;
}

/** The sandbox and a gateway over it, logging at debug into `lines`. */
async function start(env: Record<string, string>): Promise<Setup> {
  const sandbox = await startSandbox({ quotas: false });
  const full = { MARKETGRAPH_PORT: '0', MARKETGRAPH_LOG_LEVEL: 'debug', ...env };
  const config = loadConfig({ env: full, endpoints: sandboxEndpoints(sandbox) });
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const text of String(chunk).split('\n')) if (text) lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  const gateway = createGateway(config, { logger: pino({ level: 'debug' }, stream) });
  open.push(sandbox, gateway);
  return {
    sandbox,
    gateway,
    lines,
    async query(query) {
      const response = await gateway.yoga.fetch('http://gateway.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query }),
      });
      return { status: response.status, body: await response.json() };
    },
  };
}

const summaries = (lines: Line[]) => lines.filter((l) => l.msg === 'request had upstream calls refused');
const refusedCalls = (lines: Line[]) => lines.filter((l) => l.msg === 'upstream call refused');
const codeOf = (e: GqlError) => e.extensions?.code;

/** An hour-aligned window of `hours` H1 candles ending `endsHoursAgo` hours before the current hour. */
function window(hours: number, endsHoursAgo = 0) {
  const to = Math.floor(Date.now() / HOUR) * HOUR - endsHoursAgo * HOUR;
  const iso = (t: number) => JSON.stringify(new Date(t).toISOString());
  return `interval: H1, from: ${iso(to - hours * HOUR)}, to: ${iso(to)}`;
}

const ASSETS = ['bitcoin', 'ethereum', 'solana', 'ripple', 'cardano', 'dogecoin'];
const SLUGS = ['lido', 'aave-v3', 'eigenlayer', 'uniswap-v3', 'makerdao', 'ether.fi-stake', 'rocket-pool'];

const protocols = (slugs: string[]) =>
  `{ ${slugs.map((slug, i) => `p${i}: protocolTvl(slug: "${slug}") { value }`).join(' ')} }`;

/** Learns the assets and the asset registry first, so the query under test needs only candle calls. */
async function warm(t: Setup) {
  const ids = ASSETS.map((id, i) => `a${i}: asset(id: "${id}") { id }`).join(' ');
  expect((await t.query(`{ ${ids} }`)).body.errors).toBeUndefined();
  const candles = `{ asset(id: "bitcoin") { candles(${window(2, 500)}) { edges { node { openTime } } } } }`;
  expect((await t.query(candles)).body.errors).toBeUndefined();
  t.sandbox.resetCounts();
  t.lines.length = 0;
}

describe('the per-request cap on upstream calls', () => {
  it('makes at most the cap, answers UPSTREAM_BUDGET_EXCEEDED on the fields it could not serve, data for the rest', async () => {
    const t = await start({
      ...onlyUpstreams('coingecko', 'binance'),
      MARKETGRAPH_MAX_UPSTREAM_CALLS_PER_REQUEST: '4',
    });
    await warm(t);
    // Six assets, six windows nobody has fetched: one klines call each, two more than the cap.
    const fields = ASSETS.map(
      (id, i) =>
        `a${i}: asset(id: "${id}") { id name candles(${window(24)}) { edges { node { openTime close } } } }`,
    );
    type Asset = { id: string; name: string; candles: { edges: Array<{ node: { close: number } }> } | null };
    const res = await t.query<Record<string, Asset>>(`{ ${fields.join(' ')} }`);

    expect(t.sandbox.count('binance', 'klines')).toBe(4);
    expect(t.sandbox.count('coingecko')).toBe(0);
    const data = res.body.data!;
    const served = Object.values(data).filter((a) => a.candles !== null);
    expect(served).toHaveLength(4);
    for (const a of served) expect(a.candles!.edges.length).toBe(24);
    // Partial data: every asset still has its own fields.
    expect(Object.values(data).map((a) => a.id)).toEqual(ASSETS);
    expect(Object.values(data).every((a) => a.name.length > 0)).toBe(true);
    const errors: GqlError[] = res.body.errors ?? [];
    expect(errors).toHaveLength(2);
    for (const e of errors) {
      expect(e.path).toEqual([expect.stringMatching(/^a\d$/), 'candles']);
      expect(data[e.path![0] as string]!.candles).toBeNull();
      expect(e.extensions).toMatchObject({
        code: 'UPSTREAM_BUDGET_EXCEEDED',
        reason: 'UPSTREAM_CALLS',
        limit: 4,
        provider: 'binance',
        endpoint: 'klines',
      });
    }
    // Another request has a budget of its own: the two windows refused above are served now.
    const refused = errors.map((e) => ASSETS[Number((e.path![0] as string).slice(1))]);
    const again = await t.query(
      `{ ${refused.map((id, i) => `r${i}: asset(id: "${id}") { candles(${window(24)}) { edges { node { openTime } } } }`).join(' ')} }`,
    );
    expect(again.body.errors).toBeUndefined();
    expect(t.sandbox.count('binance', 'klines')).toBe(6);
  });

  it("does not pass one request's refusal to another that shared the refused fetch", async () => {
    const t = await start({
      ...onlyUpstreams('coingecko', 'binance'),
      MARKETGRAPH_MAX_UPSTREAM_CALLS_PER_REQUEST: '1',
      MARKETGRAPH_UPSTREAM_RETRIES: '0',
    });
    await warm(t);
    // A 429 with Retry-After: 1 holds every Binance call for a second, so the greedy request's second
    // window is refused only then: long after the other request has joined that fetch.
    t.sandbox.faults.set('binance', 'klines', { kind: 'rate-limit', retryAfter: 1, times: 1 });
    const blocked = await t.query(
      `{ asset(id: "cardano") { candles(${window(3, 300)}) { edges { node { openTime } } } } }`,
    );
    expect(blocked.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_RATE_LIMITED');

    const W = window(5, 100);
    const candles = `candles(${W}) { edges { node { openTime } } }`;
    const greedy = t.query(
      `{ x: asset(id: "bitcoin") { ${candles} } y: asset(id: "ethereum") { ${candles} } }`,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const other = t.query<{ asset: { candles: { edges: unknown[] } | null } }>(
      `{ asset(id: "ethereum") { ${candles} } }`,
    );
    const [g, o] = await Promise.all([greedy, other]);

    // Which of its two windows the greedy request gets its one call for depends on scheduling (on a
    // loaded machine the other request may even start the shared fetch first); either way exactly one
    // is refused, and the refusal never reaches the other request.
    const refusals = g.body.errors?.map((e: GqlError) => [e.path, codeOf(e)]) ?? [];
    expect(refusals).toHaveLength(1);
    expect(refusals[0]![1]).toBe('UPSTREAM_BUDGET_EXCEEDED');
    expect(o.body.errors).toBeUndefined();
    expect(o.body.data!.asset.candles!.edges).toHaveLength(5);
    // The 429, the greedy request's one call, and at most the other request's own call for the window
    // it shared (when the greedy request's share of it was the refused one).
    expect(t.sandbox.count('binance', 'klines')).toBeLessThanOrEqual(3);
  });
});

describe('the per-request cap on candle rows', () => {
  it('counts overlapping windows once, as their union, and fetches disjoint windows apart', async () => {
    const t = await start({
      ...onlyUpstreams('coingecko', 'binance'),
      MARKETGRAPH_MAX_CANDLE_ROWS_PER_REQUEST: '100',
    });
    await warm(t);
    const edges = '{ edges { node { openTime } } }';
    // 60 + 60 rows overlapping in 30: one call for their 90-row union, which fits the 100 the sum would not.
    const overlapping = await t.query<{ asset: Record<string, { edges: unknown[] }> }>(
      `{ asset(id: "bitcoin") { a: candles(${window(60)}) ${edges} b: candles(${window(60, 30)}) ${edges} } }`,
    );
    expect(overlapping.body.errors).toBeUndefined();
    expect(overlapping.body.data!.asset.a!.edges).toHaveLength(60);
    expect(overlapping.body.data!.asset.b!.edges).toHaveLength(60);
    expect(t.sandbox.count('binance', 'klines')).toBe(1);

    // 10 + 10 rows a month apart: merged, they would ask for the ~720 rows between them too.
    t.sandbox.resetCounts();
    const disjoint = await t.query<{ asset: Record<string, { edges: unknown[] }> }>(
      `{ asset(id: "ethereum") { a: candles(${window(10)}) ${edges} b: candles(${window(10, 720)}) ${edges} } }`,
    );
    expect(disjoint.body.errors).toBeUndefined();
    expect(disjoint.body.data!.asset.a!.edges).toHaveLength(10);
    expect(disjoint.body.data!.asset.b!.edges).toHaveLength(10);
    expect(t.sandbox.count('binance', 'klines')).toBe(2);
  });

  it('refuses the windows past the cap with CANDLE_ROWS before any call for them', async () => {
    const t = await start({
      ...onlyUpstreams('coingecko', 'binance'),
      MARKETGRAPH_MAX_CANDLE_ROWS_PER_REQUEST: '100',
    });
    await warm(t);
    const fields = ASSETS.slice(0, 3).map(
      (id, i) => `a${i}: asset(id: "${id}") { id candles(${window(40)}) { edges { node { openTime } } } }`,
    );
    type Asset = { id: string; candles: { edges: unknown[] } | null };
    const res = await t.query<Record<string, Asset>>(`{ ${fields.join(' ')} }`);
    const data = Object.values(res.body.data!);
    expect(data.filter((a) => a.candles?.edges.length === 40)).toHaveLength(2);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors![0]!.extensions).toMatchObject({
      code: 'UPSTREAM_BUDGET_EXCEEDED',
      reason: 'CANDLE_ROWS',
      limit: 100,
    });
    expect(t.sandbox.count('binance', 'klines')).toBe(2);
  });
});

describe("a provider's quota shared between requests", () => {
  it('lets one greedy request take at most its share, leaving the rest for another client', async () => {
    // DefiLlama at 10 calls a minute; one request may spend half of it.
    const t = await start({
      ...onlyUpstreams('defillama'),
      MARKETGRAPH_DEFILLAMA_RPM: '10',
      MARKETGRAPH_MAX_QUOTA_SHARE_PER_REQUEST: '50',
    });
    const greedy = await t.query<Record<string, { value: number } | null>>(protocols(SLUGS));
    expect(t.sandbox.count('defillama')).toBe(5);
    expect(Object.values(greedy.body.data!).filter((p) => p !== null)).toHaveLength(5);
    const errors: GqlError[] = greedy.body.errors ?? [];
    expect(errors).toHaveLength(SLUGS.length - 5);
    for (const e of errors)
      expect(e.extensions).toMatchObject({
        code: 'UPSTREAM_BUDGET_EXCEEDED',
        reason: 'QUOTA_SHARE',
        limit: 5,
      });

    const second = await t.query<{ p0: { value: number } | null }>(protocols(['binance-staked-eth']));
    expect(second.body.errors).toBeUndefined();
    expect(second.body.data!.p0!.value).toBeGreaterThan(0);
    expect(t.sandbox.count('defillama')).toBe(6);
  });

  it('without a share, the greedy request empties the quota and the other client is shed (control)', async () => {
    const t = await start({
      ...onlyUpstreams('defillama'),
      MARKETGRAPH_DEFILLAMA_RPM: '10',
      MARKETGRAPH_MAX_QUOTA_SHARE_PER_REQUEST: '100',
      // The default deadline: a refused call is shed at once (its token frees with the 60 s window,
      // past any deadline), while a short deadline only risks an admitted call timing out under load.
    });
    const greedy = await t.query(protocols([...SLUGS, 'binance-staked-eth', 'pendle', 'morpho-blue']));
    expect(greedy.body.errors ?? []).toEqual([]);
    expect(t.sandbox.count('defillama')).toBe(10);
    const second = await t.query(protocols(['curve-dex']));
    expect(second.body.errors?.map(codeOf)).toEqual(['UPSTREAM_RATE_LIMITED']);
    expect(t.sandbox.count('defillama')).toBe(10);
  });
});

describe('logs', () => {
  it("writes one warning line, with counts, for a request that runs into the gateway's own quota", async () => {
    const t = await start({
      ...onlyUpstreams('defillama'),
      MARKETGRAPH_DEFILLAMA_RPM: '3',
      MARKETGRAPH_MAX_QUOTA_SHARE_PER_REQUEST: '100',
      // The default deadline: a refused call is shed at once (its token frees with the 60 s window,
      // past any deadline), while a short deadline only risks an admitted call timing out under load.
    });
    const res = await t.query(protocols(SLUGS));
    const codes = (res.body.errors ?? []).map(codeOf);
    expect(codes).toEqual(Array(SLUGS.length - 3).fill('UPSTREAM_RATE_LIMITED'));
    expect(t.sandbox.count('defillama')).toBe(3);

    const warnings = t.lines.filter((l) => l.level >= 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      msg: 'request had upstream calls refused',
      upstream: { refused: SLUGS.length - 3, providers: { defillama: { calls: 3, shed: SLUGS.length - 3 } } },
    });
    // Each refused call is still there, at debug.
    const perCall = refusedCalls(t.lines);
    expect(perCall).toHaveLength(SLUGS.length - 3);
    expect(perCall.every((l) => l.level === 20 && l.outcome === 'shed')).toBe(true);
  });

  it('writes one warning line for a request that runs into its own cap', async () => {
    const t = await start({ ...onlyUpstreams('defillama'), MARKETGRAPH_MAX_UPSTREAM_CALLS_PER_REQUEST: '2' });
    await t.query(protocols(SLUGS));
    expect(t.sandbox.count('defillama')).toBe(2);
    expect(summaries(t.lines)).toHaveLength(1);
    expect(summaries(t.lines)[0]).toMatchObject({
      level: 40,
      upstream: {
        refused: SLUGS.length - 2,
        providers: { defillama: { calls: 2, overBudget: SLUGS.length - 2 } },
        overBudget: { UPSTREAM_CALLS: SLUGS.length - 2 },
      },
    });
    expect(t.lines.filter((l) => l.level >= 40)).toHaveLength(1);
  });

  it('writes no summary for a request nothing was refused to', async () => {
    const t = await start(onlyUpstreams('defillama'));
    const res = await t.query(protocols(SLUGS.slice(0, 2)));
    expect(res.body.errors).toBeUndefined();
    expect(summaries(t.lines)).toEqual([]);
  });
});
