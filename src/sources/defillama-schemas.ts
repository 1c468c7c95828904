import { z } from 'zod';

// DefiLlama response bodies as we rely on them. Objects are loose (unknown keys dropped): DefiLlama
// adds fields often and /protocols entries differ in which optional fields they carry. Times are unix
// seconds, as numbers except in the stablecoin charts, where `date` is a string; both are accepted
// everywhere so a change of mind upstream is not an outage.

/** Unix seconds as a number or a numeric string. */
const unixSeconds = z.union([
  z.number(),
  z
    .string()
    .regex(/^\d+(\.\d+)?$/)
    .transform(Number),
]);
/** DefiLlama ids and cmcIds are strings, occasionally numbers. */
const idLike = z.union([z.string(), z.number().transform(String)]);
const optionalText = z
  .string()
  .nullish()
  .transform((v) => v ?? null);
const optionalNumber = z
  .number()
  .nullish()
  .transform((v) => v ?? null);

export const chainsBody = z.array(
  z.object({
    name: z.string().min(1),
    tvl: z.number(),
    gecko_id: optionalText,
    tokenSymbol: optionalText,
    cmcId: idLike.nullish(),
    /** EVM chain id; null, absent or (rarely) a string for other chains. */
    chainId: z.union([z.number(), z.string()]).nullish(),
  }),
);

export const chainTvlHistoryBody = z.array(z.object({ date: unixSeconds, tvl: z.number() }));

export const protocolsBody = z.array(
  z.object({
    id: idLike,
    name: z.string(),
    slug: z.string().min(1),
    symbol: optionalText,
    category: optionalText,
    chains: z.array(z.string()).default([]),
    tvl: optionalNumber,
    /** Chain → TVL, plus '<Chain>-staking', 'staking', 'pool2', ... keys that are not TVL. */
    chainTvls: z.record(z.string(), z.number().nullable()).default({}),
    change_1h: optionalNumber,
    change_1d: optionalNumber,
    change_7d: optionalNumber,
    mcap: optionalNumber,
    gecko_id: optionalText,
    parentProtocol: optionalText,
  }),
);
export type ProtocolRow = z.infer<typeof protocolsBody>[number];

const tvlPoint = z.object({ date: unixSeconds, totalLiquidityUSD: z.number() });

export const protocolBody = z.object({
  id: idLike,
  name: z.string(),
  symbol: optionalText,
  category: optionalText,
  chains: z.array(z.string()).default([]),
  gecko_id: optionalText,
  parentProtocol: optionalText,
  mcap: optionalNumber,
  tvl: z.array(tvlPoint),
  chainTvls: z.record(z.string(), z.object({ tvl: z.array(tvlPoint).default([]) })).default({}),
  currentChainTvls: z.record(z.string(), z.number().nullable()).default({}),
});

export const currentPricesBody = z.object({
  coins: z.record(
    z.string(),
    z.object({
      price: z.number(),
      symbol: optionalText,
      timestamp: unixSeconds,
      confidence: optionalNumber,
      decimals: optionalNumber,
    }),
  ),
});

/** Amounts keyed by peg: {peggedUSD: n} for dollar coins, {peggedEUR: n} for euro coins, ... */
const peggedAmounts = z.record(z.string(), z.number().nullable());

export const stablecoinsBody = z.object({
  peggedAssets: z.array(
    z.object({
      id: idLike,
      name: z.string(),
      symbol: z.string(),
      gecko_id: optionalText,
      pegType: z.string(),
      pegMechanism: optionalText,
      circulating: peggedAmounts.default({}),
      chains: z.array(z.string()).default([]),
      /** Only with includePrices=true; null when DefiLlama has no price, sometimes a numeric string. */
      price: z
        .union([
          z.number(),
          z
            .string()
            .regex(/^-?\d+(\.\d+)?(e-?\d+)?$/i)
            .transform(Number),
        ])
        .nullish()
        .transform((v) => v ?? null),
    }),
  ),
});

export const stablecoinChartBody = z.array(
  z.object({
    date: unixSeconds,
    totalCirculating: peggedAmounts.optional(),
    totalCirculatingUSD: peggedAmounts.default({}),
  }),
);
