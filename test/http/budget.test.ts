import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { UpstreamName } from '../../src/config.js';
import { UpstreamError } from '../../src/errors.js';
import {
  type BudgetLimits,
  createLiveBudget,
  createUpstreamBudget,
  type Spend,
} from '../../src/http/budget.js';
import type { HttpClient } from '../../src/http/client.js';
import { buildConfig, makeHttp, sendJson, startScriptedServer } from './helpers.js';

const RPM: Partial<Record<UpstreamName, number>> = { coingecko: 30, binance: 1200 };
const limits = (over: Partial<BudgetLimits> = {}): BudgetLimits => ({
  maxCalls: 100,
  maxCandleRows: 1000,
  quotaSharePercent: 25,
  rpm: (p) => RPM[p] ?? 60,
  ...over,
});

function granted(result: Spend | UpstreamError): Spend {
  expect(result).not.toBeInstanceOf(UpstreamError);
  return result as Spend;
}

function refused(result: Spend | UpstreamError | undefined): UpstreamError {
  expect(result).toBeInstanceOf(UpstreamError);
  return result as UpstreamError;
}

describe('createUpstreamBudget', () => {
  it('grants calls up to the cap across providers, then refuses with UPSTREAM_CALLS', () => {
    const budget = createUpstreamBudget(limits({ maxCalls: 3 }));
    granted(budget.reserve('coingecko', 'coins/markets', 1));
    granted(budget.reserve('binance', 'klines', 2));
    granted(budget.reserve('binance', 'klines', 2));
    const error = refused(budget.reserve('coingecko', 'simple/price', 1));
    expect(error.code).toBe('UPSTREAM_BUDGET_EXCEEDED');
    expect(error.toGraphQLError().extensions).toMatchObject({
      code: 'UPSTREAM_BUDGET_EXCEEDED',
      provider: 'coingecko',
      endpoint: 'simple/price',
      reason: 'UPSTREAM_CALLS',
      limit: 3,
    });
    expect(budget.calls()).toEqual({ coingecko: 1, binance: 2 });
  });

  it('gives a released reservation back: only attempts that left count', () => {
    const budget = createUpstreamBudget(limits({ maxCalls: 1 }));
    granted(budget.reserve('coingecko', 'coins/markets', 1)).release();
    expect(budget.calls()).toEqual({});
    const spend = granted(budget.reserve('coingecko', 'coins/markets', 1));
    spend.release();
    spend.release();
    granted(budget.reserve('coingecko', 'coins/markets', 1));
    expect(budget.calls()).toEqual({ coingecko: 1 });
  });

  it('limits each provider to its share of the bucket in tokens; the first call always passes', () => {
    // 25 % of CoinGecko's 30 → 7 tokens; of Binance's 1200 → 300 (weights).
    const budget = createUpstreamBudget(limits({ maxCalls: 1000 }));
    for (let i = 0; i < 7; i++) granted(budget.reserve('coingecko', 'coins/markets', 1));
    expect(refused(budget.reserve('coingecko', 'coins/markets', 1)).details).toMatchObject({
      reason: 'QUOTA_SHARE',
      limit: 7,
    });
    // Binance is counted apart, by weight: 150 klines of weight 2.
    for (let i = 0; i < 150; i++) granted(budget.reserve('binance', 'klines', 2));
    expect(refused(budget.reserve('binance', 'klines', 2)).details.reason).toBe('QUOTA_SHARE');
    // A call heavier than the share still gets through when it is the provider's first.
    const small = createUpstreamBudget(limits({ rpm: () => 10 }));
    granted(small.reserve('binance', 'exchangeInfo', 20));
    refused(small.reserve('binance', 'klines', 2));
  });

  it('leaves the quota bucket alone to decide at a 100 % share', () => {
    const budget = createUpstreamBudget(limits({ quotaSharePercent: 100 }));
    for (let i = 0; i < 40; i++) granted(budget.reserve('coingecko', 'coins/markets', 1));
  });

  it('takes candle rows until the cap; a window that does not fit takes none', () => {
    const budget = createUpstreamBudget(limits({ maxCandleRows: 100 }));
    expect(budget.takeCandleRows('binance', 'klines', 60)).toBeUndefined();
    expect(refused(budget.takeCandleRows('binance', 'klines', 41)).details).toMatchObject({
      reason: 'CANDLE_ROWS',
      limit: 100,
    });
    expect(budget.takeCandleRows('binance', 'klines', 40)).toBeUndefined();
    expect(budget.summary().candleRows).toBe(100);
  });

  it('knows its own refusals from another budget’s', () => {
    const a = createUpstreamBudget(limits({ maxCalls: 1 }));
    const b = createUpstreamBudget(limits({ maxCalls: 1 }));
    granted(a.reserve('coingecko', 'coins/markets', 1));
    const error = refused(a.reserve('coingecko', 'coins/markets', 1));
    expect(a.refused(error)).toBe(true);
    expect(b.refused(error)).toBe(false);
    expect(a.refused(new UpstreamError('UPSTREAM_BUDGET_EXCEEDED', 'coingecko', 'elsewhere'))).toBe(false);
  });

  it('counts refusals of every kind for the summary, and stops enforcing once exempt', () => {
    const budget = createUpstreamBudget(limits({ maxCalls: 1 }));
    granted(budget.reserve('coingecko', 'coins/markets', 1));
    refused(budget.reserve('coingecko', 'coins/markets', 1));
    budget.noteRefused('coingecko', 'shed');
    budget.noteRefused('coingecko', 'breaker_open');
    expect(budget.summary()).toEqual({
      providers: { coingecko: { calls: 1, tokens: 1, overBudget: 1, shed: 1, breakerOpen: 1 } },
      candleRows: 0,
      overBudget: { UPSTREAM_CALLS: 1 },
      refusals: 3,
    });
    budget.exempt();
    granted(budget.reserve('coingecko', 'coins/markets', 1));
    expect(budget.takeCandleRows('binance', 'klines', 1_000_000)).toBeUndefined();
    expect(budget.calls()).toEqual({ coingecko: 2 });
  });
});

describe('http.forRequest', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((thing) => thing.close()));
  });
  const markets = z.array(z.object({ id: z.string() }));
  const call = {
    provider: 'coingecko',
    endpoint: 'coins/markets',
    path: '/coins/markets',
    schema: markets,
  } as const;

  async function setup(handler: Parameters<typeof startScriptedServer>[0], env: Record<string, string> = {}) {
    const server = await startScriptedServer(handler);
    const config = buildConfig(
      { MARKETGRAPH_UPSTREAM_DEADLINE_MS: '2000', ...env },
      { coingecko: server.url },
    );
    const made = makeHttp(config);
    open.push(server, made.http);
    const lines = () =>
      made.lines.map((l) => JSON.parse(l) as { level: number; msg: string; outcome?: string });
    return { server, http: made.http as HttpClient, lines, metrics: made.metrics };
  }

  it('counts retries as calls: the cap refuses the third attempt and the client sees the last failure', async () => {
    const { server, http } = await setup((_req, res) => sendJson(res, 503, { error: 'busy' }));
    const budget = createUpstreamBudget(limits({ maxCalls: 2 }));
    const error = await http
      .forRequest(budget)
      .get(call)
      .then(
        () => undefined,
        (e: unknown) => e as UpstreamError,
      );
    expect(error?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(server.requests).toHaveLength(2);
    expect(budget.calls()).toEqual({ coingecko: 2 });
    expect(budget.summary().overBudget).toEqual({ UPSTREAM_CALLS: 1 });
  });

  it('gives back the reservation of a call the quota shed, and logs that refusal at debug only', async () => {
    const { server, http, lines, metrics } = await setup(
      (_req, res) => sendJson(res, 200, [{ id: 'bitcoin' }]),
      {
        MARKETGRAPH_COINGECKO_RPM: '1',
        MARKETGRAPH_MAX_QUOTA_SHARE_PER_REQUEST: '100',
        MARKETGRAPH_UPSTREAM_DEADLINE_MS: '500',
      },
    );
    const budget = createUpstreamBudget(limits({ quotaSharePercent: 100 }));
    const view = http.forRequest(budget);
    await view.get(call);
    const shed = await view.get(call).then(
      () => undefined,
      (e: unknown) => e as UpstreamError,
    );
    expect(shed?.code).toBe('UPSTREAM_RATE_LIMITED');
    expect(server.requests).toHaveLength(1);
    expect(budget.calls()).toEqual({ coingecko: 1 });
    expect(budget.summary().providers.coingecko).toMatchObject({ calls: 1, tokens: 1, shed: 1 });
    const refusedLines = lines().filter((l) => l.msg === 'upstream call refused');
    expect(refusedLines.map((l) => [l.level, l.outcome])).toEqual([[20, 'shed']]);

    // The same refusal outside any request has nobody to summarize it: it stays a warning.
    await http.get(call).catch(() => undefined);
    expect(
      lines()
        .filter((l) => l.msg === 'upstream call refused')
        .map((l) => l.level),
    ).toEqual([20, 40]);
    expect(await metrics.registry.getSingleMetricAsString('marketgraph_upstream_requests_total')).toMatch(
      /outcome="shed"\} 2/,
    );
  });

  it('records over-budget refusals in metrics without touching the provider’s lastError', async () => {
    const { http, metrics } = await setup((_req, res) => sendJson(res, 200, [{ id: 'bitcoin' }]));
    const budget = createUpstreamBudget(limits({ maxCalls: 1 }));
    const view = http.forRequest(budget);
    await view.get(call);
    await expect(view.get(call)).rejects.toMatchObject({ code: 'UPSTREAM_BUDGET_EXCEEDED' });
    expect(http.health('coingecko').lastError).toBeNull();
    expect(await metrics.registry.getSingleMetricAsString('marketgraph_upstream_requests_total')).toMatch(
      /outcome="over_budget"\} 1/,
    );
  });
});

describe('createLiveBudget', () => {
  it('knows its refusals while they are held, and holds none itself (it lives as long as the process)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const budget = createLiveBudget(limits());
    expect(budget.quotaFloor('coingecko')).toBe(7);
    const kept = budget.refuseBelowFloor('coingecko', 'coins/markets');
    expect(budget.refused(kept)).toBe(true);
    expect(budget.refused(new Error('another'))).toBe(false);

    let collected = 0;
    const registry = new FinalizationRegistry(() => {
      collected += 1;
    });
    for (let i = 0; i < 1_000; i += 1)
      registry.register(budget.refuseBelowFloor('coingecko', 'simple/price'), i);
    for (let round = 0; round < 20 && collected < 1_000; round += 1) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(collected).toBe(1_000);
    expect(budget.refused(kept)).toBe(true);
  });
});
