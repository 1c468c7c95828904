import { afterEach, describe, expect, it } from 'vitest';
import { createCache } from '../../src/cache.js';
import { loadConfig } from '../../src/config.js';
import { UpstreamError } from '../../src/errors.js';
import type { OnChainMetric } from '../../src/market/model.js';
import { createOnChainService } from '../../src/market/onchain.js';
import type { Sources } from '../../src/sources/index.js';
import { manualClock } from '../helpers/manual-clock.js';

// On-chain metrics (src/onchain.ts) over fake mempool.space and DefiLlama sources that count their
// calls, on the cache's injected clock: only the groups asked for are fetched, each once per TTL; a
// failing group yields a coded error per kind it serves and never blanks another group.

const TTL = 30_000;
const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((thing) => thing.close()));
});

const metric = (kind: string, value: number): OnChainMetric => ({
  chain: 'bitcoin',
  kind,
  value,
  unit: 'x',
  asOf: new Date(0),
  source: 'mempool',
  stale: false,
  history: null,
});

/** Ethereum's TVL as two endpoints say it: the list's current value (no time) and the daily history. */
const ETHEREUM_ROW = {
  name: 'Ethereum',
  chain: 'ethereum',
  geckoId: 'ethereum',
  symbol: 'ETH',
  evmChainId: 1,
  tvlUsd: 61e9,
};
const ETHEREUM_TVL = [
  { at: new Date(Date.UTC(2026, 0, 1)), value: 58e9 },
  { at: new Date(Date.UTC(2026, 0, 2)), value: 59e9 },
];

function setup(chainList: unknown[] = []) {
  const clock = manualClock();
  const config = loadConfig({ env: { MARKETGRAPH_TTL_ONCHAIN_MS: String(TTL) } });
  const cache = createCache({ config, now: clock.now });
  opened.push(cache);
  const calls: string[] = [];
  const down = new Set<string>();
  const call = (name: string) => {
    calls.push(name);
    if (down.has(name)) throw new UpstreamError('UPSTREAM_UNAVAILABLE', 'mempool', `${name} down`);
  };
  const sources = {
    mempool: {
      async fees() {
        call('fees');
        return ['FEE_FASTEST', 'FEE_HALF_HOUR', 'FEE_HOUR', 'FEE_ECONOMY', 'FEE_MINIMUM'].map((k, i) =>
          metric(k, 10 - i),
        );
      },
      async tipHeight() {
        call('height');
        return metric('BLOCK_HEIGHT', 900_000);
      },
      async mempool() {
        call('mempool');
        return {
          metrics: [metric('MEMPOOL_SIZE', 5), metric('MEMPOOL_TX_COUNT', 6), metric('MEMPOOL_TOTAL_FEE', 7)],
        };
      },
      async hashrate() {
        call('hashrate');
        return { hashrate: metric('HASHRATE', 1), difficulty: metric('DIFFICULTY', 2) };
      },
      async difficultyAdjustment() {
        call('difficulty-adjustment');
        return { metric: metric('NEXT_DIFFICULTY_ADJUSTMENT', 3) };
      },
    },
    defillama: {
      async chains() {
        call('chains');
        return chainList;
      },
      async chainTvlHistory(name: string) {
        call(`history:${name}`);
        return name === 'Ethereum' ? ETHEREUM_TVL : null;
      },
    },
  } as unknown as Sources;
  return { onchain: createOnChainService({ config, cache, sources }), calls, down, clock };
}

const kindsOf = (results: Array<OnChainMetric | Error>) =>
  results.map((r) => (r instanceof Error ? 'error' : `${r.kind}=${r.value}`));

describe('on-chain metrics', () => {
  it('fetches only the groups whose kinds were asked for, each once per TTL', async () => {
    const { onchain, calls, clock } = setup();
    expect(kindsOf(await onchain.forChain('Bitcoin', ['block_height', 'FEE_FASTEST']))).toEqual([
      'FEE_FASTEST=10',
      'BLOCK_HEIGHT=900000',
    ]);
    expect(calls.sort()).toEqual(['fees', 'height']);
    clock.advance(TTL - 1);
    await onchain.forChain('bitcoin', ['FEE_HOUR', 'BLOCK_HEIGHT']);
    expect(calls).toHaveLength(2);
    clock.advance(2 * TTL);
    await onchain.forChain('bitcoin', ['BLOCK_HEIGHT']);
    expect(calls.filter((c) => c === 'height')).toHaveLength(2);
  });

  it('answers a coded error for each kind of a failing group and the others their values', async () => {
    const { onchain, down, calls } = setup();
    down.add('fees');
    const results = await onchain.forChain('bitcoin', ['FEE_FASTEST', 'FEE_ECONOMY', 'MEMPOOL_SIZE']);
    expect(kindsOf(results)).toEqual(['error', 'error', 'MEMPOOL_SIZE=5']);
    const error = results[0] as Error & { extensions?: { code?: string } };
    expect(error.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    // Not remembered: the provider back, the next read fetches the group.
    down.delete('fees');
    expect(kindsOf(await onchain.forChain('bitcoin', ['FEE_FASTEST']))).toEqual(['FEE_FASTEST=10']);
    expect(calls.filter((c) => c === 'fees')).toHaveLength(2);
  });

  it('takes a chain TVL value and its asOf from one answer: the history, not the chain list', async () => {
    const { onchain } = setup([ETHEREUM_ROW]);
    const [tvl] = await onchain.forChain('ethereum', ['TVL']);
    expect(tvl).toMatchObject({
      chain: 'ethereum',
      kind: 'TVL',
      value: 59e9,
      asOf: ETHEREUM_TVL[1]!.at,
      source: 'defillama',
      stale: false,
    });
    expect((tvl as OnChainMetric).history).toEqual(ETHEREUM_TVL);
  });

  it('marks metrics stale, with their own asOf, when the cache serves them past the TTL', async () => {
    const { onchain, down, clock } = setup();
    const [fresh] = await onchain.forChain('bitcoin', ['BLOCK_HEIGHT']);
    expect(fresh).toMatchObject({ value: 900_000, stale: false });
    // Between one and two TTLs: served at once, flagged, refreshed behind.
    clock.advance(TTL);
    down.add('height');
    const [served] = await onchain.forChain('bitcoin', ['BLOCK_HEIGHT']);
    expect(served).toMatchObject({ value: 900_000, asOf: (fresh as OnChainMetric).asOf, stale: true });
    // Past two TTLs the refetch fails: the old value again, still flagged.
    clock.advance(2 * TTL);
    const [onError] = await onchain.forChain('bitcoin', ['BLOCK_HEIGHT']);
    expect(onError).toMatchObject({ value: 900_000, stale: true });
    down.delete('height');
    clock.advance(3 * TTL);
    const [again] = await onchain.forChain('bitcoin', ['BLOCK_HEIGHT']);
    expect(again).toMatchObject({ value: 900_000, stale: false });
  });

  it('serves every bitcoin group when no kinds are named', async () => {
    const { onchain, calls } = setup();
    const results = await onchain.forChain('bitcoin');
    expect(results.filter((r) => !(r instanceof Error))).toHaveLength(5 + 2 + 1 + 3 + 1);
    // TVL comes from DefiLlama's chain list, which this fake leaves empty: no TVL metric, no error.
    expect(calls.sort()).toEqual([
      'chains',
      'difficulty-adjustment',
      'fees',
      'hashrate',
      'height',
      'mempool',
    ]);
  });
});
