import { hashText, layeredNoise } from '../../market/noise.js';

// A simulated Bitcoin chain for the mempool.space dialect: block heights, difficulty epochs and network
// hashrate as pure functions of time, consistent with each other.
// - Hashrate follows a log-linear path through real milestones (≈6e20 H/s at the April 2024 halving,
//   ×1.4 a year after it) times a few percent of smooth noise.
// - Block 840,000 lands at its real time (2024-04-20 00:09:27 UTC). Before the epoch containing it,
//   blocks are exactly 600 s apart and each epoch's difficulty matches the hashrate of its middle.
//   From that epoch on, blocks in an epoch arrive every difficulty·2³²/hashrate seconds and the next
//   difficulty is retargeted from the epoch's duration (clamped to ×¼..×4), as the protocol does; so
//   the tip height, the epoch progress and the estimated adjustment all agree.

export const EPOCH_BLOCKS = 2016;
export const TARGET_BLOCK_SECONDS = 600;
const TWO_POW_32 = 2 ** 32;
const HALVING_HEIGHT = 840_000;
const HALVING_TIME_S = 1_713_571_767;
const ANCHOR_INDEX = Math.floor(HALVING_HEIGHT / EPOCH_BLOCKS);
const ANCHOR_TIME_S = HALVING_TIME_S - (HALVING_HEIGHT - ANCHOR_INDEX * EPOCH_BLOCKS) * TARGET_BLOCK_SECONDS;
export const GENESIS_TIME_S = 1_231_006_505;
const YEAR_S = 365.25 * 86_400;

/** (unix seconds, log10 of hashrate in H/s); after the last knot the log grows linearly. */
const HASHRATE_KNOTS: ReadonlyArray<readonly [number, number]> = [
  [GENESIS_TIME_S, 6.7],
  [1_293_840_000, 12.0],
  [1_388_534_400, 16.0],
  [1_483_228_800, 18.4],
  [1_577_836_800, 20.0],
  [1_640_995_200, 20.25],
  [HALVING_TIME_S, 20.79],
];
const LOG10_GROWTH_PER_YEAR = 0.15;

export interface Epoch {
  index: number;
  startHeight: number;
  /** Time of the epoch's first block, unix seconds (fractional; block times floor it). */
  startTime: number;
  /** Seconds between consecutive blocks inside the epoch. */
  blockInterval: number;
  difficulty: number;
  /** This epoch's difficulty divided by the previous one's. */
  adjustment: number;
}

export interface BitcoinChain {
  /** Height of the last block mined at or before `tMs`. */
  heightAt(tMs: number): number;
  /** Timestamp of a block, unix seconds. */
  blockTime(height: number): number;
  epochOf(height: number): Epoch;
  /** Network hashrate (H/s) at `tMs`. */
  hashrateAt(tMs: number): number;
}

export function createBitcoinChain(): BitcoinChain {
  const seed = hashText('bitcoin-hashrate');
  /** Epochs from ANCHOR_INDEX on, grown lazily; earlier ones are closed-form. */
  const simulated: Epoch[] = [];

  function hashrateAtSeconds(t: number): number {
    const noise = layeredNoise(seed, t, [3 * 86_400, 14 * 86_400, 60 * 86_400], [0.035, 0.03, 0.04]);
    return 10 ** trendLog10(t) * Math.exp(noise);
  }

  function epochBeforeAnchor(index: number): Epoch {
    const difficultyAt = (i: number) => {
      const start = ANCHOR_TIME_S - (ANCHOR_INDEX - i) * EPOCH_BLOCKS * TARGET_BLOCK_SECONDS;
      const middle = start + (EPOCH_BLOCKS * TARGET_BLOCK_SECONDS) / 2;
      return (hashrateAtSeconds(middle) * TARGET_BLOCK_SECONDS) / TWO_POW_32;
    };
    const difficulty = difficultyAt(index);
    return {
      index,
      startHeight: index * EPOCH_BLOCKS,
      startTime: ANCHOR_TIME_S - (ANCHOR_INDEX - index) * EPOCH_BLOCKS * TARGET_BLOCK_SECONDS,
      blockInterval: TARGET_BLOCK_SECONDS,
      difficulty,
      adjustment: index === 0 ? 1 : difficulty / difficultyAt(index - 1),
    };
  }

  function simulateNext(previous: Epoch): Epoch {
    const ratio = clamp(TARGET_BLOCK_SECONDS / previous.blockInterval, 0.25, 4);
    const difficulty = previous.difficulty * ratio;
    const startTime = previous.startTime + EPOCH_BLOCKS * previous.blockInterval;
    const hashrate = hashrateAtSeconds(startTime + (EPOCH_BLOCKS * TARGET_BLOCK_SECONDS) / 2);
    const blockInterval = clamp((difficulty * TWO_POW_32) / hashrate, 60, 3_600);
    return {
      index: previous.index + 1,
      startHeight: previous.startHeight + EPOCH_BLOCKS,
      startTime,
      blockInterval,
      difficulty,
      adjustment: ratio,
    };
  }

  function simulatedEpoch(index: number): Epoch {
    if (simulated.length === 0) simulated.push(epochBeforeAnchor(ANCHOR_INDEX));
    while (simulated.length <= index - ANCHOR_INDEX)
      simulated.push(simulateNext(simulated[simulated.length - 1]!));
    return simulated[index - ANCHOR_INDEX]!;
  }

  function epochAt(index: number): Epoch {
    return index < ANCHOR_INDEX ? epochBeforeAnchor(Math.max(0, index)) : simulatedEpoch(index);
  }

  function epochOf(height: number): Epoch {
    return epochAt(Math.floor(Math.max(0, height) / EPOCH_BLOCKS));
  }

  function blockTime(height: number): number {
    const epoch = epochOf(height);
    return Math.floor(epoch.startTime + (height - epoch.startHeight) * epoch.blockInterval);
  }

  function heightAt(tMs: number): number {
    const t = tMs / 1000;
    if (t < ANCHOR_TIME_S) {
      return Math.max(
        0,
        ANCHOR_INDEX * EPOCH_BLOCKS + Math.floor((t - ANCHOR_TIME_S) / TARGET_BLOCK_SECONDS),
      );
    }
    let index = ANCHOR_INDEX;
    while (simulatedEpoch(index + 1).startTime <= t) index++;
    const epoch = simulatedEpoch(index);
    let height = epoch.startHeight + Math.floor((t - epoch.startTime) / epoch.blockInterval);
    // Block times are floored to whole seconds: settle on the last block whose time is ≤ t.
    while (blockTime(height + 1) <= t) height++;
    while (height > 0 && blockTime(height) > t) height--;
    return height;
  }

  return { heightAt, blockTime, epochOf, hashrateAt: (tMs) => hashrateAtSeconds(tMs / 1000) };
}

function trendLog10(t: number): number {
  const last = HASHRATE_KNOTS[HASHRATE_KNOTS.length - 1]!;
  if (t >= last[0]) return last[1] + ((t - last[0]) / YEAR_S) * LOG10_GROWTH_PER_YEAR;
  const first = HASHRATE_KNOTS[0]!;
  if (t <= first[0]) return first[1];
  for (let i = 1; i < HASHRATE_KNOTS.length; i++) {
    const [t1, v1] = HASHRATE_KNOTS[i]!;
    const [t0, v0] = HASHRATE_KNOTS[i - 1]!;
    if (t <= t1) return v0 + ((t - t0) / (t1 - t0)) * (v1 - v0);
  }
  return last[1];
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
