// Candle intervals: their length and UTC alignment, shared by the schema, the candle service and the
// signal service so every candle window has one key for the same span.

export const INTERVAL_MS: Readonly<Record<string, number>> = Object.freeze({
  '1m': 60_000,
  '5m': 300_000,
  '15m': 900_000,
  '30m': 1_800_000,
  '1h': 3_600_000,
  '4h': 14_400_000,
  '1d': 86_400_000,
  '1w': 604_800_000,
});

/** 1970-01-01 was a Thursday; weeks open on Monday 00:00 UTC, as Binance's 1w klines do. */
const WEEK_OFFSET = 4 * 86_400_000;

export function intervalMs(interval: string): number {
  const ms = INTERVAL_MS[interval];
  if (ms === undefined) throw new RangeError(`unknown candle interval ${JSON.stringify(interval)}`);
  return ms;
}

/** Open time of the candle that contains t. */
export function alignDown(t: number, interval: string): number {
  const step = intervalMs(interval);
  const offset = interval === '1w' ? WEEK_OFFSET : 0;
  return Math.floor((t - offset) / step) * step + offset;
}

/** The first candle boundary at or after t. */
export function alignUp(t: number, interval: string): number {
  const down = alignDown(t, interval);
  return down === t ? t : down + intervalMs(interval);
}

/** The schema's name of an interval ('1h' → 'H1', '30m' → 'M30'), for errors that list intervals. */
export function intervalName(interval: string): string {
  const match = /^(\d+)([a-zA-Z])$/.exec(interval);
  if (!match) throw new RangeError(`unknown candle interval ${JSON.stringify(interval)}`);
  return `${match[2]!.toUpperCase()}${match[1]}`;
}
