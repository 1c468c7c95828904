import { z } from 'zod';

// CoinCap v3 response bodies. CoinCap sends EVERY number as a decimal string ("67012.3456", rank "1")
// and wraps everything in {data, timestamp (ms)}; `decimal` turns the strings into numbers at the
// boundary. maxSupply, vwap24Hr and explorer are nullable; the other market figures are treated as
// nullable too because thinly traded assets have been seen without them. Objects are loose.

/** A decimal string (or, tolerantly, a JSON number) as a finite number. */
export const decimal = z
  .union([
    z
      .string()
      .regex(/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/, { message: 'expected a decimal string like "67012.34"' }),
    z.number(),
  ])
  .transform(Number)
  .pipe(z.number().finite());

const optionalDecimal = decimal.nullish().transform((value) => value ?? null);

function envelope<T extends z.ZodType>(data: T) {
  return z.object({ data, timestamp: z.number().int() });
}

export const assetRow = z.object({
  id: z.string().min(1),
  rank: decimal.pipe(z.number().int()).nullish(),
  symbol: z.string(),
  name: z.string(),
  supply: optionalDecimal,
  maxSupply: optionalDecimal,
  marketCapUsd: optionalDecimal,
  volumeUsd24Hr: optionalDecimal,
  priceUsd: decimal,
  changePercent24Hr: optionalDecimal,
  vwap24Hr: optionalDecimal,
  explorer: z.string().nullish(),
  tokens: z.record(z.string(), z.unknown()).nullish(),
});
export type AssetRow = z.infer<typeof assetRow>;

export const assetsBody = envelope(z.array(assetRow));

/** Prices aligned with the requested symbols; null where CoinCap knows no such symbol. */
export const priceBySymbolBody = envelope(z.array(decimal.nullable()));

export const historyBody = envelope(
  z.array(z.object({ priceUsd: decimal, time: z.number().int(), date: z.string().optional() })),
);

/** CoinCap's error shape, e.g. {"error":"limit exceeds 2000"}. */
export const errorBody = z.object({ error: z.string() });
