import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamError } from '../../src/errors.js';
import { SANDBOX_TOKENMETRICS_KEY } from '../../src/sandbox/providers/tokenmetrics/dialect.js';
import type { Sandbox } from '../../src/sandbox/server.js';
import {
  createTokenMetricsSource,
  readTokenMetricsEnvelopeError,
  strengthOf,
  type TokenMetricsSource,
} from '../../src/sources/tokenmetrics.js';
import { T } from '../helpers/clock.js';
import {
  createFetchHttp,
  createLiteralHttp,
  providerConfig,
  type RecordingFetchHttp,
} from '../helpers/fetch-http.js';
import { fetchJson, startProviderSandbox } from '../helpers/sandbox-http.js';

// The Token Metrics source against the sandbox dialect (real loopback HTTP) and against literal bodies
// with the quirks seen in the wild: numbers as strings, bare dates, nulls, success:false with HTTP 200.

const TODAY = '2025-06-01';

type Row = Record<string, unknown>;

describe('tokenmetrics source over the sandbox dialect', () => {
  let sandbox: Sandbox;
  let base: string;
  let http: RecordingFetchHttp;
  let source: TokenMetricsSource;

  async function direct(path: string): Promise<Row[]> {
    return (await fetchJson(`${base}${path}`, { api_key: SANDBOX_TOKENMETRICS_KEY })).body.data;
  }

  function covered() {
    return sandbox.market.assets.filter((a) => a.tokenMetricsId !== null);
  }

  function assetMap() {
    return new Map(covered().map((a) => [a.tokenMetricsId!, a.id]));
  }

  beforeAll(async () => {
    ({ sandbox, base } = await startProviderSandbox('tokenmetrics', { quotas: false, now: () => T }));
    const config = providerConfig('tokenmetrics', base, SANDBOX_TOKENMETRICS_KEY);
    http = createFetchHttp(config);
    source = createTokenMetricsSource({ http, config, now: () => T });
  });

  afterAll(async () => {
    await sandbox?.close();
  });

  it('resolves tokens by id and by symbol, with contracts as chain/address pairs, sending api_key', async () => {
    sandbox.resetCounts();
    const byId = await source.tokens({ ids: [3375, 3306, 3375] });
    expect(sandbox.count('tokenmetrics', 'tokens')).toBe(1);
    expect(http.calls.at(-1)!.headers).toMatchObject({ api_key: SANDBOX_TOKENMETRICS_KEY });
    expect(http.calls.at(-1)!.query).toMatchObject({ token_id: '3375,3306', limit: 100, page: 0 });
    expect(byId).toEqual([
      { tokenId: 3375, name: 'Bitcoin', symbol: 'BTC', contracts: [] },
      { tokenId: 3306, name: 'Ethereum', symbol: 'ETH', contracts: [] },
    ]);
    const [usdt] = await source.tokens({ symbols: ['usdt'] });
    expect(usdt!.tokenId).toBe(3988);
    expect(usdt!.contracts).toContainEqual({
      chain: 'ethereum',
      address: '0xdac17f958d2ee523a2206206994597c13d831ec7',
    });
    expect(await source.tokens({ ids: [] })).toEqual([]);
  });

  it('lists every token when unfiltered, reading pages until a short one', async () => {
    sandbox.resetCounts();
    const all = await source.tokens();
    expect(all.map((t) => t.tokenId).sort()).toEqual(
      covered()
        .map((a) => a.tokenMetricsId)
        .sort(),
    );
    expect(sandbox.count('tokenmetrics', 'tokens')).toBe(Math.floor(covered().length / 100) + 1);
  });

  it('maps trading signals to model Signals: direction from 1/-1/0, strength from the trader grade', async () => {
    sandbox.resetCounts();
    const signals = await source.tradingSignals(assetMap());
    expect(sandbox.count('tokenmetrics', 'trading-signals')).toBe(Math.ceil(covered().length / 50));
    expect(http.calls.at(-1)!.query).toMatchObject({ startDate: '2025-05-31', endDate: TODAY, limit: 100 });
    const rows: Row[] = [];
    for (let page = 0; rows.length === page * 100; page++) {
      rows.push(
        ...(await direct(`/trading-signals?startDate=${TODAY}&endDate=${TODAY}&limit=100&page=${page}`)),
      );
    }
    expect(signals).toHaveLength(covered().length);
    for (const signal of signals) {
      const asset = sandbox.market.byId(signal.assetId)!;
      const row = rows.find((r) => r.TOKEN_ID === asset.tokenMetricsId)!;
      const direction =
        row.TRADING_SIGNAL === 1 ? 'BULLISH' : row.TRADING_SIGNAL === -1 ? 'BEARISH' : 'NEUTRAL';
      expect(signal).toMatchObject({
        id: `tokenmetrics:TM_TRADING_SIGNAL:${asset.id}:${TODAY}`,
        kind: 'TM_TRADING_SIGNAL',
        direction,
        source: 'tokenmetrics',
        interval: '1d',
      });
      expect(signal.generatedAt.toISOString()).toBe(`${TODAY}T00:00:00.000Z`);
      expect(signal.strength).toBeCloseTo(strengthOf(direction, row.TM_TRADER_GRADE as number | null), 12);
      expect(signal.strength).toBeGreaterThanOrEqual(0);
      expect(signal.strength).toBeLessThanOrEqual(1);
      expect(signal.rationale).not.toContain('\n');
      expect(signal.rationale).toContain(`trader grade ${row.TM_TRADER_GRADE}`);
    }
  });

  it('maps trader and investor grades with the 65/35 thresholds', async () => {
    const ids = new Map([
      [3375, 'bitcoin'],
      [3306, 'ethereum'],
      [999_999, 'not-covered'],
    ]);
    const trader = await source.traderGrades(ids);
    const investor = await source.investorGrades(ids);
    expect(trader.map((s) => s.assetId).sort()).toEqual(['bitcoin', 'ethereum']);
    const traderRows = await direct(`/trader-grades?token_id=3375,3306`);
    const investorRows = await direct(`/investor-grades?token_id=3375,3306`);
    const expectDirection = (grade: number) =>
      grade >= 65 ? 'BULLISH' : grade <= 35 ? 'BEARISH' : 'NEUTRAL';
    for (const s of trader) {
      const row = traderRows.find((r) => r.TOKEN_ID === (s.assetId === 'bitcoin' ? 3375 : 3306))!;
      expect(s.kind).toBe('TM_TRADER_GRADE');
      expect(s.direction).toBe(expectDirection(row.TM_TRADER_GRADE as number));
      expect(s.rationale).toContain(`TA ${row.TA_GRADE}`);
    }
    for (const s of investor) {
      const row = investorRows.find((r) => r.TOKEN_ID === (s.assetId === 'bitcoin' ? 3375 : 3306))!;
      expect(s.kind).toBe('TM_INVESTOR_GRADE');
      expect(s.direction).toBe(expectDirection(row.TM_INVESTOR_GRADE as number));
      expect(s.rationale).toContain(`fundamental ${row.FUNDAMENTAL_GRADE}`);
    }
  });

  it('fails without a key before calling, and surfaces the 401 of a wrong key', async () => {
    const keyless = providerConfig('tokenmetrics', base, undefined);
    const noKey = createTokenMetricsSource({ http: createFetchHttp(keyless), config: keyless });
    await expect(noKey.tokens({ ids: [3375] })).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    const wrong = providerConfig('tokenmetrics', base, 'not-the-key');
    const badKey = createTokenMetricsSource({ http: createFetchHttp(wrong), config: wrong });
    const error = await badKey.tokens({ ids: [3375] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).details.status).toBe(401);
  });
});

describe('tokenmetrics source over literal bodies', () => {
  const config = providerConfig('tokenmetrics', 'http://unused', 'k');
  const assetIds = new Map([
    [3375, 'bitcoin'],
    [3306, 'ethereum'],
  ]);

  it('reads numbers sent as strings, bare dates and nulls, and keeps each token’s newest row', async () => {
    const http = createLiteralHttp({
      'trading-signals': {
        success: true,
        message: 'Data fetched successfully',
        length: 3,
        data: [
          {
            TOKEN_ID: '3375',
            TOKEN_NAME: 'Bitcoin',
            TOKEN_SYMBOL: 'BTC',
            DATE: '2025-05-31',
            TRADING_SIGNAL: '-1',
            TOKEN_TREND: '-1',
            TRADING_SIGNALS_RETURNS: '0.12',
            HOLDING_RETURNS: null,
            TM_TRADER_GRADE: '20.5',
            TM_INVESTOR_GRADE: null,
            TM_LINK: 'https://app.tokenmetrics.com/en/bitcoin',
            tm_link: 'bitcoin',
          },
          {
            TOKEN_ID: 3375,
            TOKEN_NAME: 'Bitcoin',
            TOKEN_SYMBOL: 'BTC',
            DATE: '2025-06-01T00:00:00.000Z',
            TRADING_SIGNAL: 1,
            TOKEN_TREND: 1,
            TRADING_SIGNALS_RETURNS: 0.2,
            HOLDING_RETURNS: 0.1,
            TM_TRADER_GRADE: 80,
            TM_INVESTOR_GRADE: 61.2,
            TM_LINK: 'https://app.tokenmetrics.com/en/bitcoin',
          },
          {
            TOKEN_ID: 3306,
            TOKEN_NAME: 'Ethereum',
            TOKEN_SYMBOL: 'ETH',
            DATE: '2025-05-31',
            TRADING_SIGNAL: 0,
            TOKEN_TREND: null,
            TRADING_SIGNALS_RETURNS: null,
            HOLDING_RETURNS: null,
            TM_TRADER_GRADE: null,
            TM_INVESTOR_GRADE: null,
          },
        ],
      },
    });
    const source = createTokenMetricsSource({ http, config, now: () => T });
    const signals = await source.tradingSignals(assetIds);
    expect(http.calls).toHaveLength(1);
    const btc = signals.find((s) => s.assetId === 'bitcoin')!;
    expect(btc).toMatchObject({
      direction: 'BULLISH',
      strength: 0.8,
      id: 'tokenmetrics:TM_TRADING_SIGNAL:bitcoin:2025-06-01',
    });
    const eth = signals.find((s) => s.assetId === 'ethereum')!;
    expect(eth).toMatchObject({ direction: 'NEUTRAL', strength: 0.5 });
    expect(eth.generatedAt.toISOString()).toBe('2025-05-31T00:00:00.000Z');
    expect(eth.rationale).toContain('trader grade n/a');
  });

  it('reads /tokens rows with string ids, null contracts and opaque category lists', async () => {
    const http = createLiteralHttp({
      tokens: {
        success: true,
        message: 'Data fetched successfully',
        length: 2,
        data: [
          {
            TOKEN_ID: '3375',
            TOKEN_NAME: 'Bitcoin',
            TOKEN_SYMBOL: 'BTC',
            EXCHANGE_LIST: ['binance', { exchange_id: 'gate' }],
            CATEGORY_LIST: ['layer-1'],
            CONTRACT_ADDRESS: null,
            TM_LINK: 'https://app.tokenmetrics.com/en/bitcoin',
          },
          {
            TOKEN_ID: 3988,
            TOKEN_NAME: 'Tether',
            TOKEN_SYMBOL: 'usdt',
            CONTRACT_ADDRESS: {
              ethereum: '0xdac17f958d2ee523a2206206994597c13d831ec7',
              tron: null,
              solana: '',
            },
          },
        ],
      },
    });
    const source = createTokenMetricsSource({ http, config });
    expect(await source.tokens({ symbols: ['BTC', 'USDT'] })).toEqual([
      { tokenId: 3375, name: 'Bitcoin', symbol: 'BTC', contracts: [] },
      {
        tokenId: 3988,
        name: 'Tether',
        symbol: 'USDT',
        contracts: [{ chain: 'ethereum', address: '0xdac17f958d2ee523a2206206994597c13d831ec7' }],
      },
    ]);
  });

  it('stops paging when a page repeats (the SDK warns `page` misbehaves)', async () => {
    const data = Array.from({ length: 100 }, (_, i) => ({
      TOKEN_ID: i + 1,
      TOKEN_NAME: `T${i}`,
      TOKEN_SYMBOL: `T${i}`,
    }));
    const http = createLiteralHttp({
      tokens: { success: true, message: 'Data fetched successfully', length: 100, data },
    });
    const source = createTokenMetricsSource({ http, config });
    const tokens = await source.tokens();
    expect(tokens).toHaveLength(100);
    expect(http.calls.map((c) => c.query?.page)).toEqual([0, 1]);
  });

  it('classifies success:false bodies', async () => {
    expect(readTokenMetricsEnvelopeError({ success: false, message: 'Invalid API key' })).toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
    });
    expect(readTokenMetricsEnvelopeError({ success: false, message: 'Rate limit exceeded' })).toMatchObject({
      code: 'UPSTREAM_RATE_LIMITED',
    });
    expect(readTokenMetricsEnvelopeError({ success: false, message: 'Something odd' })).toMatchObject({
      code: 'UPSTREAM_BAD_RESPONSE',
    });
    expect(readTokenMetricsEnvelopeError({ success: true, data: [] })).toBeUndefined();

    const http = createLiteralHttp({ 'trader-grades': { success: false, message: 'Invalid API key' } });
    const source = createTokenMetricsSource({ http, config });
    await expect(source.traderGrades(assetIds)).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
  });

  it('rejects a body whose TRADING_SIGNAL is not 1/-1/0', async () => {
    const http = createLiteralHttp({
      'trading-signals': {
        success: true,
        data: [{ TOKEN_ID: 3375, DATE: '2025-06-01', TRADING_SIGNAL: 2 }],
      },
    });
    const source = createTokenMetricsSource({ http, config });
    await expect(source.tradingSignals(assetIds)).rejects.toThrow();
  });

  it('computes strength as how far the grade backs the direction', () => {
    expect(strengthOf('BULLISH', 80)).toBeCloseTo(0.8);
    expect(strengthOf('BEARISH', 20)).toBeCloseTo(0.8);
    expect(strengthOf('NEUTRAL', 50)).toBeCloseTo(1);
    expect(strengthOf('NEUTRAL', 100)).toBeCloseTo(0);
    expect(strengthOf('BULLISH', null)).toBe(0.5);
  });
});
