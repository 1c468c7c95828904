// The sandbox's one source of deterministic noise: prices (market.ts) and the series that are not prices
// (TVL, stablecoin supply, hashrate, mempool congestion, gas). Hashed knots at integers, interpolated
// between them, so a series is a pure function of (seed, time) and never needs replaying.

/** Smooth value noise in [-1, 1], cubic Hermite between the knots; `x` is time divided by the noise period. */
export function smoothNoise(seed: number, x: number): number {
  const i = Math.floor(x);
  const f = x - i;
  const a = noiseKnot(seed, i);
  const b = noiseKnot(seed, i + 1);
  const s = f * f * (3 - 2 * f);
  return a + (b - a) * s;
}

/** Value noise in [-1, 1], linear between the knots (kinks at integers, cheaper than smoothNoise). */
export function linearNoise(seed: number, x: number): number {
  const i = Math.floor(x);
  const a = noiseKnot(seed, i);
  return a + (noiseKnot(seed, i + 1) - a) * (x - i);
}

/** Sum of octaves whose periods are `periods` (same unit as `t`) and amplitudes `amplitudes`. */
export function layeredNoise(
  seed: number,
  t: number,
  periods: readonly number[],
  amplitudes: readonly number[],
) {
  let sum = 0;
  for (let k = 0; k < periods.length; k++) {
    sum += (amplitudes[k] ?? 0) * smoothNoise(seed + k * 0x9e3779b1, t / periods[k]!);
  }
  return sum;
}

/** FNV-1a: a stable 32-bit seed from a name. */
export function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The hashed value in [-1, 1] at integer `i`: uncorrelated from one `i` to the next. */
export function noiseKnot(seed: number, i: number): number {
  let h = Math.imul(seed ^ i, 0x85ebca6b) ^ Math.imul(i >>> 16, 0xc2b2ae35);
  h ^= h >>> 13;
  h = Math.imul(h, 0x27d4eb2f);
  h ^= h >>> 16;
  return ((h >>> 0) / 0xffffffff) * 2 - 1;
}
