import { z } from 'zod';

// mempool.space response bodies as we rely on them. Objects are loose (unknown keys dropped). Units
// are mixed upstream and kept as sent here; src/sources/mempool.ts converts them: `timestamp`, `time`
// and `previousTime` are unix seconds, `estimatedRetargetDate`, `remainingTime`, `timeAvg` and
// `adjustedTimeAvg` milliseconds. The tip height is a text/plain body, not JSON.

export const feesBody = z.object({
  fastestFee: z.number(),
  halfHourFee: z.number(),
  hourFee: z.number(),
  economyFee: z.number(),
  minimumFee: z.number(),
});

export const hashrateBody = z.object({
  hashrates: z.array(z.object({ timestamp: z.number(), avgHashrate: z.number() })),
  difficulty: z.array(
    z.object({
      time: z.number(),
      height: z.number().int(),
      difficulty: z.number(),
      /** Ratio to the previous difficulty (1.0325 = +3.25 %). */
      adjustment: z.number(),
    }),
  ),
  currentHashrate: z.number(),
  currentDifficulty: z.number(),
});

/** The whole body is the height as decimal digits (a trailing newline is tolerated). */
export const tipHeightBody = z
  .string()
  .transform((text) => text.trim())
  .pipe(z.string().regex(/^\d+$/, { message: 'tip height must be decimal digits' }))
  .transform(Number);

export const mempoolBody = z.object({
  count: z.number().int(),
  vsize: z.number(),
  total_fee: z.number(),
  /** [feerate sat/vB, vsize vB] pairs, highest feerate first. */
  fee_histogram: z.array(z.tuple([z.number(), z.number()])),
});

export const difficultyAdjustmentBody = z.object({
  progressPercent: z.number(),
  difficultyChange: z.number(),
  estimatedRetargetDate: z.number(),
  remainingBlocks: z.number().int(),
  remainingTime: z.number(),
  previousRetarget: z.number(),
  /** Absent from older deployments. */
  previousTime: z.number().optional(),
  nextRetargetHeight: z.number().int(),
  timeAvg: z.number(),
  adjustedTimeAvg: z.number().optional(),
  timeOffset: z.number().optional(),
  /** Absent from older deployments. */
  expectedBlocks: z.number().optional(),
});

/** {time, USD, EUR, ...}: BTC priced in each currency, `time` in unix seconds. */
export const pricesBody = z
  .object({ time: z.number() })
  .catchall(z.unknown())
  .transform(({ time, ...rest }) => ({
    time,
    prices: Object.entries(rest).flatMap(([code, value]) =>
      /^[A-Z]{3}$/.test(code) && typeof value === 'number' && Number.isFinite(value) && value > 0
        ? [{ code, value }]
        : [],
    ),
  }));
