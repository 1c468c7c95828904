import { z } from 'zod';

// Token Metrics v2 response bodies. The API sends JSON numbers, but field types are not documented
// and community clients see some as strings, so numbers here also accept numeric strings. Grades and
// returns may be null for thinly covered tokens. Objects are loose: unknown keys are dropped.

const numeric = z
  .union([z.number(), z.string().regex(/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/, { message: 'expected a number' })])
  .transform(Number)
  .pipe(z.number().finite());

const optionalNumeric = numeric.nullish().transform((value) => value ?? null);

/** ISO date-time or a bare YYYY-MM-DD, as a Date. */
const isoDate = z
  .string()
  .transform((text) => new Date(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text))
  .refine((date) => !Number.isNaN(date.getTime()), { message: 'expected an ISO date' });

const tokenId = numeric.pipe(z.number().int());

const identity = {
  TOKEN_ID: tokenId,
  TOKEN_NAME: z.string().nullish(),
  TOKEN_SYMBOL: z.string().nullish(),
};

function envelope<T extends z.ZodType>(row: T) {
  return z.object({
    success: z.literal(true),
    message: z.string().optional(),
    length: z.number().optional(),
    data: z.array(row),
  });
}

/** A failure envelope: {success:false, message}. */
export const failureBody = z.object({ success: z.literal(false), message: z.string().optional() });

export const tokensBody = envelope(
  z.object({
    ...identity,
    EXCHANGE_LIST: z.array(z.unknown()).nullish(),
    CATEGORY_LIST: z.array(z.unknown()).nullish(),
    /** chain → address; absent or null for native coins. */
    CONTRACT_ADDRESS: z.record(z.string(), z.string().nullable()).nullish(),
    TM_LINK: z.string().nullish(),
  }),
);

export const tradingSignalsBody = envelope(
  z.object({
    ...identity,
    DATE: isoDate,
    TRADING_SIGNAL: numeric.pipe(z.union([z.literal(1), z.literal(-1), z.literal(0)])),
    TOKEN_TREND: optionalNumeric,
    TRADING_SIGNALS_RETURNS: optionalNumeric,
    HOLDING_RETURNS: optionalNumeric,
    TM_TRADER_GRADE: optionalNumeric,
    TM_INVESTOR_GRADE: optionalNumeric,
  }),
);
export type TradingSignalRow = z.infer<typeof tradingSignalsBody>['data'][number];

export const traderGradesBody = envelope(
  z.object({
    ...identity,
    DATE: isoDate,
    TA_GRADE: optionalNumeric,
    QUANT_GRADE: optionalNumeric,
    TM_TRADER_GRADE: optionalNumeric,
    TM_TRADER_GRADE_24H_PCT_CHANGE: optionalNumeric,
  }),
);
export type TraderGradeRow = z.infer<typeof traderGradesBody>['data'][number];

export const investorGradesBody = envelope(
  z.object({
    ...identity,
    DATE: isoDate,
    TM_INVESTOR_GRADE: optionalNumeric,
    TM_INVESTOR_GRADE_7D_PCT_CHANGE: optionalNumeric,
    FUNDAMENTAL_GRADE: optionalNumeric,
    TECHNOLOGY_GRADE: optionalNumeric,
    VALUATION_GRADE: optionalNumeric,
  }),
);
export type InvestorGradeRow = z.infer<typeof investorGradesBody>['data'][number];
