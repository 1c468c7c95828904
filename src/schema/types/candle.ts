import { badUserInput, quote } from '../../errors.js';
import { alignDown, alignUp, intervalMs } from '../../market/intervals.js';
import type { Candle } from '../../market/model.js';
import type { Builder } from '../builder.js';
import { DATE_TIME, inputLimit } from '../input-limits.js';
import type { AssetRefs } from './asset.js';
import type { Enums } from './enums.js';

// Candle and Asset.candles: a time window of OHLCV candles on UTC interval boundaries, paged by cursor
// (the open time), with the holes the providers left reported as gaps instead of invented candles.

const MAX_WINDOW_CANDLES = 10_000;
const MAX_PAGE = 1000;

type ServedCandle = Candle & { asOf: Date; stale: boolean };

interface Gap {
  from: Date;
  to: Date;
}

interface CandleWindow {
  candles: Candle[];
  gaps: Gap[];
}

export function addCandle(builder: Builder, enums: Enums, refs: AssetRefs) {
  const CandleRef = builder.objectRef<ServedCandle>('Candle').implement({
    description:
      'Open, high, low and close of one interval, in the currency asked for. The last candle of a window that reaches now is still open and changes until closeTime.',
    fields: (t) => ({
      openTime: t.expose('openTime', {
        type: 'DateTime',
        description: 'Start of the interval, on a UTC boundary of its length.',
      }),
      closeTime: t.expose('closeTime', {
        type: 'DateTime',
        description: 'Exclusive end: the next candle opens here.',
      }),
      open: t.exposeFloat('open', { description: 'First price of the interval.' }),
      high: t.exposeFloat('high', { description: 'Highest price of the interval.' }),
      low: t.exposeFloat('low', { description: 'Lowest price of the interval.' }),
      close: t.exposeFloat('close', {
        description: 'Last price of the interval (so far, for an open candle).',
      }),
      volume: t.exposeFloat('volume', {
        nullable: true,
        description:
          'Amount of the asset traded in the interval, in the asset itself (e.g. BTC); null where the provider has none (CoinGecko OHLC).',
      }),
      source: t.expose('source', {
        type: enums.Provider,
        description:
          'BINANCE (USD, from the USDT pair) or COINGECKO (any currency; its 1d candles are built from its 4 h ones).',
      }),
      asOf: t.expose('asOf', {
        type: 'DateTime',
        description:
          'When the window this candle came in was fetched from the provider (an open candle changes after it).',
      }),
      stale: t.exposeBoolean('stale', {
        description: 'True when served past its freshness window, e.g. because the provider is failing.',
      }),
    }),
  });

  const GapRef = builder.objectRef<Gap>('CandleGap').implement({
    description: 'A span inside the requested window for which no provider returned candles.',
    fields: (t) => ({
      from: t.expose('from', { type: 'DateTime', description: 'Open time of the first missing candle.' }),
      to: t.expose('to', {
        type: 'DateTime',
        description: 'Exclusive end: open time of the next candle present, or the end of the window.',
      }),
    }),
  });

  builder.objectField(refs.Asset, 'candles', (t) =>
    t.connection(
      {
        type: CandleRef,
        nullable: true,
        description: `Candles in [from, to), oldest first; up to ${MAX_PAGE} per page, ${MAX_WINDOW_CANDLES} per window. Pages forward only (first/after; last/before are BAD_USER_INPUT). Null with a coded error when no provider could serve the window: NOT_AVAILABLE (saying what is available) when none offers this interval, currency or age, an UPSTREAM_* code when the providers failed.`,
        args: {
          interval: t.arg({
            type: enums.CandleInterval,
            required: false,
            defaultValue: '1d',
            description: 'Candle length.',
          }),
          from: t.arg({
            type: 'DateTime',
            required: false,
            description:
              'Start of the window, inclusive, rounded down to an interval boundary. Default: 30 intervals before `to`.',
            extensions: inputLimit(DATE_TIME),
          }),
          to: t.arg({
            type: 'DateTime',
            required: false,
            description:
              'End of the window, exclusive, rounded up to an interval boundary and capped at now. Default: now.',
            extensions: inputLimit(DATE_TIME),
          }),
          currency: t.arg({
            type: enums.Currency,
            required: false,
            defaultValue: 'usd',
            description:
              'Currency of the prices. USD candles come from Binance first; others from CoinGecko only.',
          }),
        },
        resolve: async (asset, args, ctx) => {
          if (args.last != null || args.before != null)
            throw badUserInput('candles pages forward only: use first/after');
          const first = args.first ?? MAX_PAGE;
          if (first < 1 || first > MAX_PAGE)
            throw badUserInput(`first must be between 1 and ${MAX_PAGE}, got ${first}`, 'first');
          const interval = args.interval ?? '1d';
          const step = intervalMs(interval);
          const now = ctx.services.now();
          const to = alignUp(Math.min(args.to?.getTime() ?? now, now), interval);
          const from = alignDown(args.from?.getTime() ?? to - 30 * step, interval);
          if (!(from < to)) throw badUserInput('from must be before to', 'from');
          if ((to - from) / step > MAX_WINDOW_CANDLES) {
            throw badUserInput(
              `the window holds more than ${MAX_WINDOW_CANDLES} ${interval} candles; narrow from/to`,
              'from',
            );
          }
          const cached = await ctx.loaders.candles.load({
            assetId: asset.id,
            interval,
            from,
            to,
            currency: args.currency ?? 'usd',
          });
          const window = withGaps(cached.value, from, to, step);
          let start = 0;
          if (args.after != null) {
            const after = Number(
              Buffer.from(args.after, 'base64')
                .toString('utf8')
                .replace(/^Candle:/, ''),
            );
            if (!Number.isFinite(after))
              throw badUserInput(`after is not a candle cursor: ${quote(args.after)}`, 'after');
            start = window.candles.findIndex((c) => c.openTime.getTime() > after);
            if (start < 0) start = window.candles.length;
          }
          const page = window.candles.slice(start, start + first);
          const edges = page.map((candle) => ({
            cursor: cursorOf(candle),
            node: servedAs(candle, cached.fetchedAt, cached.stale),
          }));
          return {
            edges,
            gaps: window.gaps,
            pageInfo: {
              hasPreviousPage: start > 0,
              hasNextPage: start + first < window.candles.length,
              startCursor: edges[0]?.cursor ?? null,
              endCursor: edges.at(-1)?.cursor ?? null,
            },
          };
        },
      },
      {
        description: 'One page of candles, with the gaps of the whole window.',
        fields: (c) => ({
          gaps: c.field({
            type: [GapRef],
            description:
              'Spans of the whole [from, to) window (not only this page) for which no provider had candles; empty when none is missing.',
            resolve: (conn) => (conn as unknown as CandleWindow).gaps,
          }),
        }),
      },
    ),
  );
  return { Candle: CandleRef };
}

/** A candle as served: as of its window's fetch, like every value read through the cache. */
function servedAs(candle: Candle, fetchedAt: number, stale: boolean): ServedCandle {
  return { ...candle, asOf: new Date(fetchedAt), stale };
}

function cursorOf(candle: Candle): string {
  return Buffer.from(`Candle:${candle.openTime.getTime()}`).toString('base64');
}

function withGaps(candles: Candle[], from: number, to: number, step: number): CandleWindow {
  const inWindow = candles.filter((c) => c.openTime.getTime() >= from && c.openTime.getTime() < to);
  const gaps: Gap[] = [];
  let expected = from;
  for (const c of inWindow) {
    const t = c.openTime.getTime();
    if (t > expected) gaps.push({ from: new Date(expected), to: new Date(t) });
    expected = Math.max(expected, t + step);
  }
  // The still-open last candle counts as present; only whole missing intervals before `to` are gaps.
  if (to - expected >= step) gaps.push({ from: new Date(expected), to: new Date(to) });
  return { candles: inWindow, gaps };
}
