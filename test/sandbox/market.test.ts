import { describe, expect, it } from 'vitest';
import { CATALOGUE, type CatalogueAsset } from '../../src/sandbox/market/catalogue.js';
import { createMarket, type Market } from '../../src/sandbox/market/market.js';

const SECOND = 1_000;
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Pinned mid-minute, with milliseconds, so the current 1-minute candle is still open. */
const NOW = Date.UTC(2024, 10, 15, 12, 34, 56, 789);
const CURRENT_MINUTE = Math.floor(NOW / MINUTE) * MINUTE;

const isStablecoin = (asset: CatalogueAsset) => asset.volatility <= 0.001;
const marketCap = (asset: CatalogueAsset) => asset.priceUsd * asset.circulatingSupply;
const EVM_PLATFORMS = new Set([
  'ethereum',
  'binance-smart-chain',
  'arbitrum-one',
  'polygon-pos',
  'avalanche',
  'optimistic-ethereum',
  'base',
  'zksync',
]);
const PLATFORMS = new Set([...EVM_PLATFORMS, 'solana', 'tron']);
/** A spread of majors, a stablecoin, high-volatility alts and the lowest-ranked asset. */
const SAMPLE_IDS = ['bitcoin', 'ethereum', 'tether', 'dogwifcoin', 'pepe', CATALOGUE.at(-1)!.id];

function openMarket(seed = 42): Market {
  return createMarket({ catalogue: CATALOGUE, seed, now: () => NOW });
}

function duplicates(values: readonly unknown[]): unknown[] {
  return values.filter((value, i) => values.indexOf(value) !== i);
}

function logReturns(market: Market, id: string, step: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => {
    const t = NOW - i * step;
    return Math.log(market.priceUsd(id, t) / market.priceUsd(id, t - step));
  });
}

function correlation(a: readonly number[], b: readonly number[]): number {
  const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const ma = mean(a);
  const mb = mean(b);
  let cov = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < a.length; i++) {
    cov += (a[i]! - ma) * (b[i]! - mb);
    va += (a[i]! - ma) ** 2;
    vb += (b[i]! - mb) ** 2;
  }
  return cov / Math.sqrt(va * vb);
}

describe('sandbox catalogue', () => {
  it('lists at least 100 assets with unique CoinGecko-style ids and upper-case symbols', () => {
    expect(CATALOGUE.length).toBeGreaterThanOrEqual(100);
    expect(duplicates(CATALOGUE.map((a) => a.id))).toEqual([]);
    for (const asset of CATALOGUE) {
      expect(asset.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(asset.symbol).toBe(asset.symbol.toUpperCase());
      expect(asset.name.length).toBeGreaterThan(0);
    }
  });

  it('ranks are 1..N in array order and follow the reference market caps', () => {
    expect(CATALOGUE.map((a) => a.rank)).toEqual(CATALOGUE.map((_, i) => i + 1));
    for (let i = 1; i < CATALOGUE.length; i++) {
      const [higher, lower] = [CATALOGUE[i - 1]!, CATALOGUE[i]!];
      expect(marketCap(higher), `${higher.id} vs ${lower.id}`).toBeGreaterThanOrEqual(marketCap(lower));
    }
  });

  it('keeps provider ids one-to-one: binanceBase, coincapId, tokenMetricsId and llamaChain are unique', () => {
    const present = <T>(values: (T | null)[]) => values.filter((v): v is T => v !== null);
    expect(duplicates(present(CATALOGUE.map((a) => a.binanceBase)))).toEqual([]);
    expect(duplicates(present(CATALOGUE.map((a) => a.coincapId)))).toEqual([]);
    expect(duplicates(present(CATALOGUE.map((a) => a.tokenMetricsId)))).toEqual([]);
    expect(duplicates(present(CATALOGUE.map((a) => a.llamaChain)))).toEqual([]);
    for (const base of present(CATALOGUE.map((a) => a.binanceBase))) expect(base).toMatch(/^[A-Z0-9]+$/);
  });

  it('pins the ids the providers are known to use', () => {
    const byId = new Map(CATALOGUE.map((a) => [a.id, a]));
    expect(byId.get('bitcoin')).toMatchObject({ rank: 1, tokenMetricsId: 3375, binanceBase: 'BTC' });
    expect(byId.get('ethereum')).toMatchObject({ tokenMetricsId: 3306, llamaChain: 'Ethereum' });
    expect(byId.get('binancecoin')).toMatchObject({ coincapId: 'binance-coin', llamaChain: 'BSC' });
    expect(byId.get('ripple')?.coincapId).toBe('xrp');
    expect(byId.get('tether')?.binanceBase).toBeNull();
    expect(byId.get('staked-ether')?.binanceBase).toBeNull();
  });

  it('has at least 8 stablecoins, priced at 1 with near-zero volatility', () => {
    const stables = CATALOGUE.filter(isStablecoin);
    expect(stables.length).toBeGreaterThanOrEqual(8);
    for (const asset of stables) expect(asset.priceUsd, asset.id).toBe(1);
  });

  it('keeps volatility, turnover and supplies in plausible ranges', () => {
    for (const asset of CATALOGUE) {
      if (!isStablecoin(asset)) {
        expect(asset.volatility, asset.id).toBeGreaterThanOrEqual(0.005);
        expect(asset.volatility, asset.id).toBeLessThanOrEqual(0.08);
      }
      expect(asset.turnover, asset.id).toBeGreaterThanOrEqual(0.01);
      expect(asset.turnover, asset.id).toBeLessThanOrEqual(0.5);
      expect(asset.priceUsd, asset.id).toBeGreaterThan(0);
      expect(asset.circulatingSupply, asset.id).toBeGreaterThan(0);
      if (asset.totalSupply !== null)
        expect(asset.totalSupply, asset.id).toBeGreaterThanOrEqual(asset.circulatingSupply);
      if (asset.maxSupply !== null) {
        expect(asset.maxSupply, asset.id).toBeGreaterThanOrEqual(
          asset.totalSupply ?? asset.circulatingSupply,
        );
      }
    }
  });

  it('stores contract addresses per known platform in each chain format, never twice on one chain', () => {
    const seen = new Map<string, string>();
    for (const asset of CATALOGUE) {
      for (const [platform, address] of Object.entries(asset.contracts)) {
        expect(PLATFORMS.has(platform), `${asset.id} on ${platform}`).toBe(true);
        if (EVM_PLATFORMS.has(platform))
          expect(address, `${asset.id} on ${platform}`).toMatch(/^0x[0-9a-f]{40}$/);
        if (platform === 'solana') expect(address, asset.id).toMatch(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/);
        if (platform === 'tron') expect(address, asset.id).toMatch(/^T[1-9A-HJ-NP-Za-km-z]{33}$/);
        const key = `${platform}:${address}`;
        expect(seen.get(key), `${key} claimed by ${asset.id}`).toBeUndefined();
        seen.set(key, asset.id);
      }
    }
    expect(CATALOGUE.find((a) => a.id === 'tether')?.contracts.ethereum).toBe(
      '0xdac17f958d2ee523a2206206994597c13d831ec7',
    );
  });

  it('contains a real symbol collision that bySymbol returns in rank order', () => {
    const market = openMarket();
    const symbols = CATALOGUE.map((a) => a.symbol);
    const shared = [...new Set(duplicates(symbols))] as string[];
    expect(shared.length).toBeGreaterThanOrEqual(1);
    for (const symbol of shared) {
      const matches = market.bySymbol(symbol.toLowerCase());
      expect(matches.length).toBeGreaterThanOrEqual(2);
      expect(matches.map((a) => a.rank)).toEqual([...matches.map((a) => a.rank)].sort((x, y) => x - y));
    }
    expect(market.bySymbol('BEAM').map((a) => a.id)).toEqual(['beam-2', 'beam']);
  });
});

describe('createMarket', () => {
  it('is deterministic: the same seed gives identical prices, candles and stats', () => {
    const [a, b] = [openMarket(7), openMarket(7)];
    for (const asset of CATALOGUE) {
      for (const t of [NOW, NOW - 37 * MINUTE - 123, NOW - 11 * DAY]) {
        expect(a.priceUsd(asset.id, t)).toBe(b.priceUsd(asset.id, t));
      }
    }
    expect(a.candle('bitcoin', HOUR, CURRENT_MINUTE - 5 * HOUR)).toEqual(
      b.candle('bitcoin', HOUR, CURRENT_MINUTE - 5 * HOUR),
    );
    expect(a.stats24h('ethereum', NOW, 'eur')).toEqual(b.stats24h('ethereum', NOW, 'eur'));
  });

  it('gives different prices for a different seed', () => {
    const [a, b] = [openMarket(42), openMarket(43)];
    for (const asset of CATALOGUE)
      expect(a.priceUsd(asset.id, NOW), asset.id).not.toBe(b.priceUsd(asset.id, NOW));
    expect(a.fxPerUsd('eur', NOW)).not.toBe(b.fxPerUsd('eur', NOW));
  });

  it('gives unrelated paths for neighbouring seeds, not shifted or mirrored copies', () => {
    for (const [s1, s2] of [
      [42, 43],
      [0, 1],
    ] as const) {
      const [a, b] = [openMarket(s1), openMarket(s2)];
      for (const id of ['bitcoin', 'ethereum', 'solana', 'dogecoin']) {
        // 1000 independent returns have |r| < 0.1 about 99.8 % of the time.
        expect(
          Math.abs(correlation(logReturns(a, id, MINUTE, 1000), logReturns(b, id, MINUTE, 1000))),
          id,
        ).toBeLessThan(0.15);
      }
    }
  });

  it('keeps every price positive and finite over two months', () => {
    const market = openMarket();
    for (const asset of CATALOGUE) {
      for (let t = NOW - 60 * DAY; t <= NOW; t += 6 * HOUR + 17 * SECOND) {
        const price = market.priceUsd(asset.id, t);
        expect(Number.isFinite(price) && price > 0, `${asset.id} at ${t}`).toBe(true);
      }
    }
  });

  it('moves continuously: tiny over one second, bounded by volatility over one day', () => {
    const market = openMarket();
    const dailyMoves: number[] = [];
    for (const asset of CATALOGUE) {
      for (let k = 0; k < 30; k++) {
        const t = NOW - k * (DAY + 7 * MINUTE + 333);
        // Each noise octave moves at most 3·amplitude/period per ms: summed, 1 s moves ln(price) by
        // < 0.003·volatility and a day by < 6.5·volatility, whatever the seed.
        const second = Math.abs(
          Math.log(market.priceUsd(asset.id, t + SECOND) / market.priceUsd(asset.id, t)),
        );
        const day = Math.abs(Math.log(market.priceUsd(asset.id, t) / market.priceUsd(asset.id, t - DAY)));
        expect(second, asset.id).toBeLessThan(0.003 * asset.volatility);
        expect(day, asset.id).toBeLessThan(6.5 * asset.volatility);
        dailyMoves.push(day / asset.volatility);
      }
    }
    dailyMoves.sort((x, y) => x - y);
    const median = dailyMoves[dailyMoves.length >> 1]!;
    expect(median).toBeGreaterThan(0.25);
    expect(median).toBeLessThan(2);
  });

  it('keeps stablecoins within ±1 % of 1 USD', () => {
    const market = openMarket();
    for (const asset of CATALOGUE.filter(isStablecoin)) {
      for (let t = NOW - 90 * DAY; t <= NOW; t += HOUR + 13 * SECOND) {
        expect(Math.abs(market.priceUsd(asset.id, t) - 1), asset.id).toBeLessThan(0.01);
      }
    }
  });

  it('makes closed 1-minute candles agree with the price at every second inside them', () => {
    const market = openMarket();
    for (const id of SAMPLE_IDS) {
      for (const openTime of [
        CURRENT_MINUTE - MINUTE,
        CURRENT_MINUTE - 61 * MINUTE,
        CURRENT_MINUTE - 3 * DAY,
      ]) {
        const candle = market.candle(id, MINUTE, openTime);
        expect(candle.openTime).toBe(openTime);
        expect(candle.closeTime).toBe(openTime + MINUTE - 1);
        expect(candle.open).toBe(market.priceUsd(id, openTime));
        expect(candle.close).toBe(market.priceUsd(id, candle.closeTime));
        const ticks = Array.from({ length: 60 }, (_, s) => market.priceUsd(id, openTime + s * SECOND));
        ticks.push(candle.close);
        for (const price of ticks) {
          expect(price).toBeGreaterThanOrEqual(candle.low);
          expect(price).toBeLessThanOrEqual(candle.high);
        }
        expect(candle.high).toBe(Math.max(...ticks));
        expect(candle.low).toBe(Math.min(...ticks));
        expect(candle.volume).toBeGreaterThan(0);
        expect(candle.trades).toBeGreaterThanOrEqual(1);
        // quoteVolume / volume is the candle's average price, which must lie inside its range.
        const average = candle.quoteVolume / candle.volume;
        expect(average).toBeGreaterThanOrEqual(candle.low);
        expect(average).toBeLessThanOrEqual(candle.high);
      }
    }
  });

  it('closes a candle still open at now at the current price', () => {
    const market = openMarket();
    for (const id of SAMPLE_IDS) {
      const candle = market.candle(id, MINUTE, CURRENT_MINUTE);
      const closed = market.candle(id, MINUTE, CURRENT_MINUTE - MINUTE);
      expect(candle.closeTime).toBe(CURRENT_MINUTE + MINUTE - 1);
      expect(candle.open).toBe(market.priceUsd(id, CURRENT_MINUTE));
      expect(candle.close).toBe(market.priceUsd(id, NOW));
      for (let t = CURRENT_MINUTE; t <= NOW; t += SECOND) {
        expect(market.priceUsd(id, t)).toBeGreaterThanOrEqual(candle.low);
        expect(market.priceUsd(id, t)).toBeLessThanOrEqual(candle.high);
      }
      // Only the elapsed part of the minute has traded yet.
      expect(candle.quoteVolume).toBeLessThan(closed.quoteVolume * 1.1);
      expect(candle.quoteVolume).toBeGreaterThan(0);
    }
    const hour = market.candle('bitcoin', HOUR, Math.floor(NOW / HOUR) * HOUR);
    expect(hour.close).toBe(market.priceUsd('bitcoin', NOW));
  });

  it('never lets an hourly candle reach beyond its 1-minute candles', () => {
    const market = openMarket();
    for (const id of SAMPLE_IDS) {
      for (const back of [1, 2, 5, 30]) {
        const openTime = Math.floor(NOW / HOUR) * HOUR - back * HOUR;
        const hour = market.candle(id, HOUR, openTime);
        const minutes = Array.from({ length: 60 }, (_, k) =>
          market.candle(id, MINUTE, openTime + k * MINUTE),
        );
        expect(hour.open).toBe(minutes[0]!.open);
        expect(hour.close).toBe(minutes[59]!.close);
        const high = Math.max(...minutes.map((c) => c.high));
        const low = Math.min(...minutes.map((c) => c.low));
        expect(hour.high).toBeLessThanOrEqual(high);
        expect(hour.low).toBeGreaterThanOrEqual(low);
        // Extremes are sampled every 15 s, so they may miss the exact peak by a little.
        expect(hour.high / high).toBeGreaterThan(0.999);
        expect(hour.low / low).toBeLessThan(1.001);
      }
    }
  });

  it('quotes candles in other currencies through the same fx as price()', () => {
    const market = openMarket();
    const openTime = CURRENT_MINUTE - 10 * MINUTE;
    const eur = market.candle('solana', MINUTE, openTime, 'eur');
    expect(eur.open).toBeCloseTo(market.price('solana', 'eur', openTime)!, 9);
    expect(eur.close).toBeCloseTo(market.price('solana', 'eur', openTime + MINUTE - 1)!, 9);
    const inBtc = market.candle('bitcoin', MINUTE, openTime, 'btc');
    expect(inBtc.open).toBeCloseTo(1, 12);
    expect(inBtc.close).toBeCloseTo(1, 12);
  });

  it('computes stats24h from the price 24 h ago to the price now, consistent with minute candles', () => {
    const market = openMarket();
    for (const id of ['bitcoin', 'tether', 'dogwifcoin']) {
      const stats = market.stats24h(id, NOW);
      expect(stats.openTime).toBe(NOW - DAY);
      expect(stats.closeTime).toBe(NOW);
      expect(stats.open).toBe(market.priceUsd(id, NOW - DAY));
      expect(stats.close).toBe(market.priceUsd(id, NOW));
      expect(stats.changePercent).toBeCloseTo((stats.close / stats.open - 1) * 100, 10);
      expect(stats.low).toBeLessThanOrEqual(Math.min(stats.open, stats.close));
      expect(stats.high).toBeGreaterThanOrEqual(Math.max(stats.open, stats.close));
      expect(stats.volume).toBeGreaterThan(0);
      expect(stats.quoteVolume / stats.volume).toBeGreaterThanOrEqual(stats.low);
      expect(stats.quoteVolume / stats.volume).toBeLessThanOrEqual(stats.high);

      let high = -Infinity;
      let low = Infinity;
      for (let openTime = Math.floor((NOW - DAY) / MINUTE) * MINUTE; openTime <= NOW; openTime += MINUTE) {
        const candle = market.candle(id, MINUTE, openTime);
        high = Math.max(high, candle.high);
        low = Math.min(low, candle.low);
      }
      // The window's extremes are sampled every 6 minutes: close to, and never meaningfully beyond,
      // what the minute candles show.
      expect(stats.high / high).toBeLessThan(1 + 1e-4);
      expect(stats.high / high).toBeGreaterThan(0.99);
      expect(stats.low / low).toBeGreaterThan(1 - 1e-4);
      expect(stats.low / low).toBeLessThan(1.01);
    }
    const eur = market.stats24h('bitcoin', NOW, 'eur');
    expect(eur.close).toBeCloseTo(market.price('bitcoin', 'eur', NOW)!, 6);
  });

  it('converts through fxPerUsd: crypto quotes are reciprocal prices, fiat stays near its reference', () => {
    const market = openMarket();
    for (const t of [NOW, NOW - 5 * DAY]) {
      expect(market.fxPerUsd('btc', t)).toBe(1 / market.priceUsd('bitcoin', t));
      expect(market.fxPerUsd('BTC', t)).toBe(1 / market.priceUsd('bitcoin', t));
      expect(market.fxPerUsd('eth', t)).toBe(1 / market.priceUsd('ethereum', t));
      expect(market.fxPerUsd('usd', t)).toBe(1);
      expect(market.fxPerUsd('eur', t)! / 0.92).toBeGreaterThan(0.94);
      expect(market.fxPerUsd('eur', t)! / 0.92).toBeLessThan(1.06);
      expect(market.price('ethereum', 'btc', t)).toBeCloseTo(
        market.priceUsd('ethereum', t) / market.priceUsd('bitcoin', t),
        12,
      );
    }
    for (const currency of market.currencies) {
      const fx = market.fxPerUsd(currency, NOW);
      expect(fx !== undefined && fx > 0, currency).toBe(true);
    }
  });

  it('answers undefined for an unknown currency and throws for an unknown asset', () => {
    const market = openMarket();
    expect(market.fxPerUsd('xyz', NOW)).toBeUndefined();
    expect(market.price('bitcoin', 'xyz', NOW)).toBeUndefined();
    expect(market.byId('no-such-coin')).toBeUndefined();
    expect(market.bySymbol('NOSUCH')).toEqual([]);
    expect(() => market.priceUsd('no-such-coin', NOW)).toThrow(/no-such-coin/);
    expect(market.now()).toBe(NOW);
  });
});
