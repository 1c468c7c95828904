import type { ProviderConfig } from '../config.js';
import type { Http } from '../http/client.js';
import type { MetricPoint, OnChainMetric, Price } from '../market/model.js';
import {
  difficultyAdjustmentBody,
  feesBody,
  hashrateBody,
  mempoolBody,
  pricesBody,
  tipHeightBody,
} from './mempool-schemas.js';

// mempool.space (Bitcoin on-chain metrics): URLs and vendor JSON → OnChainMetric (chain 'bitcoin').
// Every call goes through deps.http, which owns timeouts, retries, quotas and the breaker (mempool's
// 429 is an HTML page without Retry-After, so backing off is the http layer's call). Units are
// normalised here: seconds and milliseconds both become Dates, and durations are kept in ms. Values
// mempool does not date (fees, the mempool, the tip height) are stamped with the time of the call.

export const HASHRATE_PERIODS = ['24h', '3d', '1w', '1m', '3m', '6m', '1y', '2y', '3y', 'all'] as const;
export type HashratePeriod = (typeof HASHRATE_PERIODS)[number];

/** Metric kinds this source produces. */
export const MEMPOOL_KINDS = {
  feeFastest: 'FEE_FASTEST',
  feeHalfHour: 'FEE_HALF_HOUR',
  feeHour: 'FEE_HOUR',
  feeEconomy: 'FEE_ECONOMY',
  feeMinimum: 'FEE_MINIMUM',
  hashrate: 'HASHRATE',
  difficulty: 'DIFFICULTY',
  nextDifficultyAdjustment: 'NEXT_DIFFICULTY_ADJUSTMENT',
  mempoolSize: 'MEMPOOL_SIZE',
  mempoolTxCount: 'MEMPOOL_TX_COUNT',
  mempoolTotalFee: 'MEMPOOL_TOTAL_FEE',
  blockHeight: 'BLOCK_HEIGHT',
} as const;

export interface MempoolDeps {
  http: Http;
  config: ProviderConfig;
  /** Clock for values mempool leaves undated; Date.now by default. */
  now?: () => number;
}

export interface DifficultyEpoch {
  /** Time of the epoch's first block. */
  at: Date;
  height: number;
  difficulty: number;
  /** Percent change from the previous epoch's difficulty. */
  changePercent: number;
}

export interface HashrateHistory {
  /** HASHRATE (H/s) now, with daily averages as history. */
  hashrate: OnChainMetric;
  /** DIFFICULTY now, with one point per retarget in the period as history. */
  difficulty: OnChainMetric;
  epochs: DifficultyEpoch[];
}

export interface MempoolSnapshot {
  txCount: number;
  vsize: number;
  totalFeeSat: number;
  /** Highest feerate first. */
  feeHistogram: Array<{ feeRate: number; vsize: number }>;
  asOf: Date;
  /** MEMPOOL_SIZE (vB), MEMPOOL_TX_COUNT (tx), MEMPOOL_TOTAL_FEE (sat). */
  metrics: OnChainMetric[];
}

export interface DifficultyAdjustment {
  /** NEXT_DIFFICULTY_ADJUSTMENT: the estimated change in percent. */
  metric: OnChainMetric;
  progressPercent: number;
  estimatedChangePercent: number;
  estimatedRetargetAt: Date;
  remainingBlocks: number;
  remainingTimeMs: number;
  previousChangePercent: number;
  /** When the current epoch started; null where mempool does not say (older deployments). */
  previousRetargetAt: Date | null;
  nextRetargetHeight: number;
  averageBlockTimeMs: number;
  expectedBlocks: number | null;
}

export interface MempoolSource {
  /** FEE_FASTEST, FEE_HALF_HOUR, FEE_HOUR, FEE_ECONOMY, FEE_MINIMUM in sat/vB. */
  fees(): Promise<OnChainMetric[]>;
  hashrate(period: HashratePeriod): Promise<HashrateHistory>;
  /** BLOCK_HEIGHT. */
  tipHeight(): Promise<OnChainMetric>;
  mempool(): Promise<MempoolSnapshot>;
  difficultyAdjustment(): Promise<DifficultyAdjustment>;
  /** BTC in USD, EUR, GBP, CAD, CHF, AUD, JPY: a fallback price source. */
  btcPrices(): Promise<Price[]>;
}

export function createMempoolSource(deps: MempoolDeps): MempoolSource {
  const { http } = deps;
  const now = deps.now ?? Date.now;

  async function fees(): Promise<OnChainMetric[]> {
    const body = await http.get({
      provider: 'mempool',
      endpoint: 'fees/recommended',
      path: '/v1/fees/recommended',
      schema: feesBody,
    });
    const asOf = new Date(now());
    return [
      metric(MEMPOOL_KINDS.feeFastest, body.fastestFee, 'sat/vB', asOf),
      metric(MEMPOOL_KINDS.feeHalfHour, body.halfHourFee, 'sat/vB', asOf),
      metric(MEMPOOL_KINDS.feeHour, body.hourFee, 'sat/vB', asOf),
      metric(MEMPOOL_KINDS.feeEconomy, body.economyFee, 'sat/vB', asOf),
      metric(MEMPOOL_KINDS.feeMinimum, body.minimumFee, 'sat/vB', asOf),
    ];
  }

  async function hashrate(period: HashratePeriod): Promise<HashrateHistory> {
    if (!(HASHRATE_PERIODS as readonly string[]).includes(period)) {
      throw new RangeError(
        `mempool hashrate: period must be one of ${HASHRATE_PERIODS.join('|')}, got ${JSON.stringify(period)}`,
      );
    }
    const body = await http.get({
      provider: 'mempool',
      endpoint: 'mining/hashrate',
      path: `/v1/mining/hashrate/${period}`,
      schema: hashrateBody,
    });
    const asOf = new Date(now());
    const epochs = body.difficulty.map((d) => ({
      at: fromSeconds(d.time),
      height: d.height,
      difficulty: d.difficulty,
      changePercent: (d.adjustment - 1) * 100,
    }));
    const hashrates: MetricPoint[] = body.hashrates.map((h) => ({
      at: fromSeconds(h.timestamp),
      value: h.avgHashrate,
    }));
    return {
      hashrate: metric(MEMPOOL_KINDS.hashrate, body.currentHashrate, 'H/s', asOf, hashrates),
      difficulty: metric(
        MEMPOOL_KINDS.difficulty,
        body.currentDifficulty,
        '',
        asOf,
        epochs.map((e) => ({ at: e.at, value: e.difficulty })),
      ),
      epochs,
    };
  }

  async function tipHeight(): Promise<OnChainMetric> {
    const height = await http.get({
      provider: 'mempool',
      endpoint: 'blocks/tip/height',
      path: '/blocks/tip/height',
      parse: 'text',
      schema: tipHeightBody,
    });
    return metric(MEMPOOL_KINDS.blockHeight, height, 'blocks', new Date(now()));
  }

  async function mempool(): Promise<MempoolSnapshot> {
    const body = await http.get({
      provider: 'mempool',
      endpoint: 'mempool',
      path: '/mempool',
      schema: mempoolBody,
    });
    const asOf = new Date(now());
    return {
      txCount: body.count,
      vsize: body.vsize,
      totalFeeSat: body.total_fee,
      feeHistogram: body.fee_histogram.map(([feeRate, vsize]) => ({ feeRate, vsize })),
      asOf,
      metrics: [
        metric(MEMPOOL_KINDS.mempoolSize, body.vsize, 'vB', asOf),
        metric(MEMPOOL_KINDS.mempoolTxCount, body.count, 'tx', asOf),
        metric(MEMPOOL_KINDS.mempoolTotalFee, body.total_fee, 'sat', asOf),
      ],
    };
  }

  async function difficultyAdjustment(): Promise<DifficultyAdjustment> {
    const body = await http.get({
      provider: 'mempool',
      endpoint: 'difficulty-adjustment',
      path: '/v1/difficulty-adjustment',
      schema: difficultyAdjustmentBody,
    });
    const asOf = new Date(now());
    return {
      metric: metric(MEMPOOL_KINDS.nextDifficultyAdjustment, body.difficultyChange, '%', asOf),
      progressPercent: body.progressPercent,
      estimatedChangePercent: body.difficultyChange,
      estimatedRetargetAt: new Date(body.estimatedRetargetDate),
      remainingBlocks: body.remainingBlocks,
      remainingTimeMs: body.remainingTime,
      previousChangePercent: body.previousRetarget,
      previousRetargetAt: body.previousTime === undefined ? null : fromSecondsOrMs(body.previousTime),
      nextRetargetHeight: body.nextRetargetHeight,
      averageBlockTimeMs: body.timeAvg,
      expectedBlocks: body.expectedBlocks ?? null,
    };
  }

  async function btcPrices(): Promise<Price[]> {
    const body = await http.get({
      provider: 'mempool',
      endpoint: 'prices',
      path: '/v1/prices',
      schema: pricesBody,
    });
    const asOf = fromSeconds(body.time);
    return body.prices.map(({ code, value }) => ({
      assetId: 'bitcoin',
      currency: code.toLowerCase(),
      value,
      change24h: null,
      asOf,
      source: 'mempool',
      stale: false,
    }));
  }

  return { fees, hashrate, tipHeight, mempool, difficultyAdjustment, btcPrices };
}

function metric(
  kind: string,
  value: number,
  unit: string,
  asOf: Date,
  history: MetricPoint[] | null = null,
): OnChainMetric {
  return { chain: 'bitcoin', kind, value, unit, asOf, source: 'mempool', stale: false, history };
}

function fromSeconds(seconds: number): Date {
  return new Date(seconds * 1000);
}

/** Some mempool versions documented `previousTime` in ms; seconds are 10 digits until 2286. */
function fromSecondsOrMs(value: number): Date {
  return new Date(value >= 1e11 ? value : value * 1000);
}
