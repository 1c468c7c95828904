import { STATUS_CODES } from 'node:http';
import type { DialectFactory, Route, SandboxRequest, SandboxResponse } from '../../dialect.js';
import { hashText, layeredNoise } from '../../market/noise.js';
import { createBitcoinChain, EPOCH_BLOCKS, GENESIS_TIME_S, TARGET_BLOCK_SECONDS } from './bitcoin-chain.js';

// mempool.space's REST API (shared/reference/upstream-apis.md §5) over a simulated chain
// (bitcoin-chain.ts) and a simulated mempool. Dialect facts kept here: numbers are JSON numbers, the
// tip height is a text/plain integer, times mix units (`timestamp`/`time`/`previousTime` in seconds,
// `estimatedRetargetDate`/`remainingTime`/`timeAvg` in ms), and throttling is an nginx HTML 429 page
// without Retry-After. Undocumented choices:
// - The rate limit is undisclosed; the sandbox allows 60 requests a minute.
// - Unknown paths, and hashrate periods outside 24h|3d|1w|1m|3m|6m|1y|2y|3y|all (the live route is a
//   regex, so they match nothing), answer 404 text/plain "Not Found".
// - 5xx answers are nginx HTML pages, like the 429.
// - `hashrates` holds one point per UTC day (00:00) inside the period; `difficulty` one entry per
//   retarget inside it, `adjustment` being the ratio to the previous difficulty.
// - Fees are read off the simulated fee histogram: the feerate at which 1, 3 and 6 blocks' worth
//   (1 MvB each) of the mempool is cleared; `economyFee` is min(2 × minimum, hourFee).

const DAY_S = 86_400;
const BLOCK_VSIZE = 1_000_000;
const HASHRATE_PERIODS: Record<string, number> = {
  '24h': DAY_S,
  '3d': 3 * DAY_S,
  '1w': 7 * DAY_S,
  '1m': 30 * DAY_S,
  '3m': 90 * DAY_S,
  '6m': 180 * DAY_S,
  '1y': 365 * DAY_S,
  '2y': 730 * DAY_S,
  '3y': 1_095 * DAY_S,
};
const PRICE_CURRENCIES = ['USD', 'EUR', 'GBP', 'CAD', 'CHF', 'AUD', 'JPY'] as const;

interface MempoolState {
  count: number;
  vsize: number;
  totalFee: number;
  /** [feerate sat/vB, vsize vB], highest feerate first. */
  histogram: Array<[number, number]>;
}

export const createMempoolDialect: DialectFactory = ({ market }) => {
  const chain = createBitcoinChain();
  const congestionSeed = hashText('mempool-congestion');

  /** Mempool pressure, ≈1 on average, between ~0.15 and ~7. */
  function congestion(tMs: number): number {
    return Math.exp(layeredNoise(congestionSeed, tMs, [1_800_000, 21_600_000, 259_200_000], [0.5, 0.8, 0.6]));
  }

  function mempoolAt(tMs: number): MempoolState {
    const c = congestion(tMs);
    const vsize = Math.round(6_000_000 * c);
    const topRate = 3 + 40 * c ** 1.3;
    const rates: number[] = [];
    for (let r = topRate; r > 1.05; r /= 1.15) rates.push(r);
    rates.push(1);
    const weights = rates.map((r) => r ** -0.8);
    const totalWeight = weights.reduce((a, b) => a + b, 0);
    const histogram = rates.map((r, i): [number, number] => [
      Math.round(r * 1000) / 1000,
      Math.round((vsize * weights[i]!) / totalWeight),
    ]);
    const totalFee = Math.round(histogram.reduce((sum, [rate, size]) => sum + rate * size, 0));
    const avgTxVsize = 240 + 40 * layeredNoise(congestionSeed ^ 0x5bd1e995, tMs, [3_600_000], [1]);
    const used = histogram.reduce((sum, [, size]) => sum + size, 0);
    return { count: Math.round(used / avgTxVsize), vsize: used, totalFee, histogram };
  }

  function feesAt(tMs: number) {
    const { histogram } = mempoolAt(tMs);
    const minimumFee = 1;
    const rateClearing = (blocks: number) => {
      let cumulative = 0;
      for (const [rate, size] of histogram) {
        cumulative += size;
        if (cumulative >= blocks * BLOCK_VSIZE) return Math.ceil(rate);
      }
      return minimumFee;
    };
    const hourFee = Math.max(minimumFee, rateClearing(6));
    const economyFee = Math.max(minimumFee, Math.min(2 * minimumFee, hourFee));
    const halfHourFee = Math.max(hourFee, rateClearing(3));
    const fastestFee = Math.max(halfHourFee, rateClearing(1));
    return { fastestFee, halfHourFee, hourFee, economyFee, minimumFee };
  }

  function fees(): SandboxResponse {
    return { json: feesAt(market.now()) };
  }

  function hashrate(request: SandboxRequest): SandboxResponse {
    const period = request.params.period ?? '';
    const nowMs = market.now();
    const nowS = Math.floor(nowMs / 1000);
    const span = period === 'all' ? nowS - GENESIS_TIME_S : HASHRATE_PERIODS[period];
    if (span === undefined) return notFound();
    const from = nowS - span;
    const hashrates: Array<{ timestamp: number; avgHashrate: number }> = [];
    for (let day = Math.ceil(from / DAY_S) * DAY_S; day <= nowS; day += DAY_S) {
      hashrates.push({ timestamp: day, avgHashrate: chain.hashrateAt(day * 1000) });
    }
    const tip = chain.heightAt(nowMs);
    const difficulty: Array<{ time: number; height: number; difficulty: number; adjustment: number }> = [];
    const firstEpoch = Math.floor(chain.heightAt(from * 1000) / EPOCH_BLOCKS);
    for (let index = firstEpoch; index * EPOCH_BLOCKS <= tip; index++) {
      const epoch = chain.epochOf(index * EPOCH_BLOCKS);
      const time = chain.blockTime(epoch.startHeight);
      if (time < from) continue;
      difficulty.push({
        time,
        height: epoch.startHeight,
        difficulty: epoch.difficulty,
        adjustment: Math.round(epoch.adjustment * 10_000) / 10_000,
      });
    }
    return {
      json: {
        hashrates,
        difficulty,
        currentHashrate: chain.hashrateAt(nowMs),
        currentDifficulty: chain.epochOf(tip).difficulty,
      },
    };
  }

  function tipHeight(): SandboxResponse {
    return { text: String(chain.heightAt(market.now())), contentType: 'text/plain' };
  }

  function mempool(): SandboxResponse {
    const state = mempoolAt(market.now());
    return {
      json: {
        count: state.count,
        vsize: state.vsize,
        total_fee: state.totalFee,
        fee_histogram: state.histogram,
      },
    };
  }

  function difficultyAdjustment(): SandboxResponse {
    const nowMs = market.now();
    const tip = chain.heightAt(nowMs);
    const epoch = chain.epochOf(tip);
    const blocksInEpoch = tip - epoch.startHeight;
    const epochStartTime = chain.blockTime(epoch.startHeight);
    const timeAvg =
      blocksInEpoch > 0
        ? Math.round(((chain.blockTime(tip) - epochStartTime) / blocksInEpoch) * 1000)
        : TARGET_BLOCK_SECONDS * 1000;
    const remainingBlocks = EPOCH_BLOCKS - blocksInEpoch;
    const remainingTime = remainingBlocks * timeAvg;
    return {
      json: {
        progressPercent: (blocksInEpoch / EPOCH_BLOCKS) * 100,
        difficultyChange: Math.min(300, Math.max(-75, ((TARGET_BLOCK_SECONDS * 1000) / timeAvg - 1) * 100)),
        estimatedRetargetDate: nowMs + remainingTime,
        remainingBlocks,
        remainingTime,
        previousRetarget: (epoch.adjustment - 1) * 100,
        previousTime: epochStartTime,
        nextRetargetHeight: epoch.startHeight + EPOCH_BLOCKS,
        timeAvg,
        adjustedTimeAvg: timeAvg,
        timeOffset: 0,
        expectedBlocks: (nowMs / 1000 - epochStartTime) / TARGET_BLOCK_SECONDS,
      },
    };
  }

  function prices(): SandboxResponse {
    const t = market.now();
    const body: Record<string, number> = { time: Math.floor(t / 1000) };
    for (const code of PRICE_CURRENCIES)
      body[code] = Math.round(market.price('bitcoin', code, t) ?? Number.NaN);
    return { json: body };
  }

  const routes: Route[] = [
    { endpoint: 'fees/recommended', path: '/api/v1/fees/recommended', handle: fees },
    { endpoint: 'mining/hashrate', path: '/api/v1/mining/hashrate/:period', handle: hashrate },
    { endpoint: 'blocks/tip/height', path: '/api/blocks/tip/height', handle: tipHeight },
    { endpoint: 'mempool', path: '/api/mempool', handle: mempool },
    {
      endpoint: 'difficulty-adjustment',
      path: '/api/v1/difficulty-adjustment',
      handle: difficultyAdjustment,
    },
    { endpoint: 'prices', path: '/api/v1/prices', handle: prices },
  ];

  return {
    provider: 'mempool',
    basePath: '/api',
    routes,
    notFound,
    rateLimited: () => nginxPage(429),
    serverError: (status) => nginxPage(status),
    quota: { limit: 60, windowMs: 60_000 },
  };
};

function notFound(): SandboxResponse {
  return { status: 404, text: 'Not Found', contentType: 'text/plain' };
}

/** nginx's stock error page; mempool.space sends no Retry-After with it. */
function nginxPage(status: number): SandboxResponse {
  const title = `${status} ${STATUS_CODES[status] ?? 'Error'}`;
  return {
    status,
    contentType: 'text/html',
    text: `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`,
  };
}
