import { z } from 'zod';

// Binance spot response bodies. Binance sends every price and quantity as a decimal string
// ("67012.34000000") and times/ids/counts as numbers; `decimal` turns the strings into numbers at the
// boundary so nothing past src/sources/ parses text. Objects are not strict: Binance adds fields.

/** A decimal string (or, tolerantly, a number) as a finite number. */
export const decimal = z
  .union([
    z.string().regex(/^-?\d+(\.\d+)?$/, { message: 'expected a decimal string like "67012.34000000"' }),
    z.number(),
  ])
  .transform(Number)
  .pipe(z.number().finite());

const millis = z.number().int();

/** Binance's error body: {"code":-1121,"msg":"Invalid symbol."}. */
export const errorBodySchema = z.object({ code: z.number().int(), msg: z.string() });

export const exchangeInfoSchema = z.object({
  serverTime: millis.optional(),
  symbols: z.array(
    z.object({
      symbol: z.string().min(1),
      status: z.string(),
      baseAsset: z.string().min(1),
      quoteAsset: z.string().min(1),
    }),
  ),
});

export const tickerPriceSchema = z.object({ symbol: z.string().min(1), price: decimal });
export const tickerPriceListSchema = z.array(tickerPriceSchema);

/** /api/v3/ticker/24hr with type=FULL (the fields we read; the rest pass through unchecked). */
export const ticker24hSchema = z.object({
  symbol: z.string().min(1),
  priceChangePercent: decimal,
  lastPrice: decimal,
  openPrice: decimal,
  highPrice: decimal,
  lowPrice: decimal,
  volume: decimal,
  quoteVolume: decimal,
  openTime: millis,
  closeTime: millis,
});
export const ticker24hListSchema = z.array(ticker24hSchema);

/** [openTime, open, high, low, close, volume, closeTime, quoteVolume, trades, takerBase, takerQuote, ignore] */
export const klineRowSchema = z
  .tuple([millis, decimal, decimal, decimal, decimal, decimal, millis])
  .rest(z.unknown());
export const klinesSchema = z.array(klineRowSchema);

/** Stream payloads: <symbol>@ticker and <symbol>@miniTicker. */
export const tickerEventSchema = z.discriminatedUnion('e', [
  z.object({ e: z.literal('24hrTicker'), E: millis, s: z.string().min(1), c: decimal, P: decimal }),
  z.object({ e: z.literal('24hrMiniTicker'), E: millis, s: z.string().min(1), c: decimal, o: decimal }),
]);
