import type { OnChainMetric, Price, ProviderName, Signal, SignalDirection } from '../market/model.js';

// What the three live feeds put on the bus, and the one place that converts between those ticks
// (JSON-safe: epoch ms, no Dates, so they cross processes unchanged) and the model types the
// resolvers see. A tick is converted once however many subscribers receive it (`perTick`).

export interface PriceTick {
  assetId: string;
  /** USD (Binance USDT pairs are taken as USD). */
  value: number;
  change24h: number | null;
  /** Epoch ms of the provider's event. */
  asOf: number;
  source: ProviderName;
  /** True for a cached price served past its TTL (polled or first events; never a stream event). */
  stale: boolean;
}

export interface MetricTick {
  chain: string;
  kind: string;
  value: number;
  unit: string;
  asOf: number;
  source: ProviderName;
  stale: boolean;
}

export interface SignalTick {
  id: string;
  assetId: string;
  kind: string;
  direction: SignalDirection;
  strength: number;
  generatedAt: number;
  source: ProviderName;
  interval: string;
  rationale: string;
  asOf: number;
  stale: boolean;
}

export function priceTick(p: Price): PriceTick {
  return {
    assetId: p.assetId,
    value: p.value,
    change24h: p.change24h,
    asOf: p.asOf.getTime(),
    source: p.source,
    stale: p.stale,
  };
}

/** The tick's price in `currency`, given that currency's units per USD. */
export function tickPrice(t: PriceTick, currency: string, perUsd = 1): Price {
  return {
    assetId: t.assetId,
    currency,
    value: t.value * perUsd,
    change24h: t.change24h,
    asOf: new Date(t.asOf),
    source: t.source,
    stale: t.stale,
  };
}

export function metricTick(m: OnChainMetric): MetricTick {
  return {
    chain: m.chain,
    kind: m.kind,
    value: m.value,
    unit: m.unit,
    asOf: m.asOf.getTime(),
    source: m.source,
    stale: m.stale,
  };
}

/** Live events carry no history (query onChainMetrics for it). */
export function tickMetric(t: MetricTick): OnChainMetric {
  return { ...t, asOf: new Date(t.asOf), history: null };
}

export function signalTick(s: Signal): SignalTick {
  return {
    id: s.id,
    assetId: s.assetId,
    kind: s.kind,
    direction: s.direction,
    strength: s.strength,
    generatedAt: s.generatedAt.getTime(),
    source: s.source,
    interval: s.interval,
    rationale: s.rationale,
    asOf: s.asOf.getTime(),
    stale: s.stale,
  };
}

export function tickSignal(t: SignalTick): Signal {
  return { ...t, generatedAt: new Date(t.generatedAt), asOf: new Date(t.asOf) };
}

/** `convert`, remembered per tick object: every subscriber of one event shares one model value. */
export function perTick<T extends object, M>(convert: (tick: T) => M): (tick: T) => M {
  const done = new WeakMap<T, M>();
  return (tick) => {
    let value = done.get(tick);
    if (value === undefined) {
      value = convert(tick);
      done.set(tick, value);
    }
    return value;
  };
}
