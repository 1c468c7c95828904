import { z } from 'zod';

// Etherscan V2 bodies. Every value is a string; errors come with HTTP 200 as status "0" (see
// etherscan.ts). Gas prices are decimal gwei strings ("0.502", "20.141"); L2s and sidechains may omit
// some fields, so all of them are optional here and the source maps what is present.

const gwei = z
  .string()
  .regex(/^\d+(\.\d+)?$/, { message: 'expected a decimal gwei string like "20.141"' })
  .transform(Number)
  .pipe(z.number().finite());

export const gasOracleBody = z.object({
  status: z.literal('1'),
  message: z.string(),
  result: z.object({
    LastBlock: z.string().regex(/^\d+$/).transform(Number).optional(),
    SafeGasPrice: gwei.optional(),
    ProposeGasPrice: gwei.optional(),
    FastGasPrice: gwei.optional(),
    suggestBaseFee: gwei.optional(),
    /** Comma-separated ratios of the last blocks, oldest first. */
    gasUsedRatio: z.string().optional(),
  }),
});

/** {"status":"0","message":"NOTOK","result":"<reason>"}; `result` is the only place the reason is. */
export const notOkBody = z.object({
  status: z.literal('0'),
  message: z.string(),
  result: z.unknown(),
});
