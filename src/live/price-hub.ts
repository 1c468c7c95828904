import { notFoundAll, toClientError } from '../errors.js';
import type { AssetRegistry } from '../market/registry.js';
import { binanceTickerStream } from '../sources/binance-streams.js';
import type { Channels } from './channels.js';
import type { PriceTick } from './ticks.js';

// Live USD prices per asset, one upstream feed per asset across every subscriber (and, with Redis,
// every process: see channels.ts). The process producing an asset follows its Binance ticker stream;
// an asset Binance does not list is polled through the REST path. A stream that is down (its
// connection reports closed, or it has been silent for `staleAfterMs`) fails over to polling until its
// events resume. Polled values are diffed before they are emitted: an unchanged value, or one older
// than what was already published, is not sent again. Ticks are plain JSON-safe objects, so they
// cross processes unchanged. A tick older than the last one published for the asset is never published
// (stream frames, polls and, through the bus, other processes' ticks alike).

export type { PriceTick } from './ticks.js';

export interface StreamClient {
  subscribe(stream: string, onEvent: (data: unknown) => void): () => void;
  /** False while the connection carrying `stream` is down; absent means "assume up". */
  live?(stream: string): boolean;
}

export interface PriceHubDeps {
  registry: AssetRegistry;
  /** Binance combined-stream client; undefined when Binance is disabled. */
  streams: StreamClient | undefined;
  parseTicker(data: unknown): { symbol: string; price: number; change24h: number; asOf: Date } | undefined;
  /** Batch REST prices, for assets without a push stream and for streams that are down. */
  poll(assetIds: string[]): Promise<PriceTick[]>;
  pollMs: number;
  channels: Channels;
  /** A stream silent (or disconnected) for this long fails over to polling (default 3 s). */
  staleAfterMs?: number;
  now?: () => number;
  /** `topic` names what failed when it can fail again and again: `price poll`, `binance symbol <asset>`. */
  onError?: (error: unknown, topic?: string) => void;
  /** What `topic` names answered again (see onError). */
  onSuccess?: (topic: string) => void;
}

export interface PriceHubStats {
  /** Assets with local listeners. */
  listened: string[];
  /** Assets whose upstream feed runs in this process. */
  producing: string[];
  /** Of those, the ones served by polling right now. */
  polled: string[];
}

export interface PriceHub {
  /**
   * Rejects with NOT_FOUND naming every unknown asset (`extensions.ids`), before any event, or with the
   * coded error of a catalogue that cannot say (never NOT_FOUND for an outage).
   */
  check(assetIds: string[]): Promise<void>;
  /** Delivers the asset's ticks to `onTick`; returns the (idempotent) stop function. */
  listen(assetId: string, onTick: (tick: PriceTick) => void): () => void;
  /** The last tick delivered to this process's listeners of the asset, if it has any. */
  latest(assetId: string): PriceTick | undefined;
  /** Assets with local listeners (their feed runs here or in the process holding its lease). */
  active(): string[];
  stats(): PriceHubStats;
  close(): void;
}

interface Upstream {
  assetId: string;
  emit: (tick: PriceTick) => void;
  stream?: string;
  stopStream?: () => void;
  startedAt: number;
  lastStreamAt: number;
  /** Last tick published, for diff-before-emit of polled values. */
  last?: PriceTick;
  /** Served by polling right now (no stream, or the stream is down). */
  polled: boolean;
  stopped: boolean;
}

interface Local {
  /** One entry object per listen() call, so one function can listen twice and leave once. */
  listeners: Set<{ onTick: (tick: PriceTick) => void }>;
  /** The last tick delivered here: the current price for a new subscriber. */
  latest?: PriceTick;
  /** The fan-out of `latest` in progress, if any (see deliver). */
  fanOut?: FanOut;
  leave: () => void;
}

interface FanOut {
  /** The listeners when the pass started (one that leaves meanwhile ignores the tick). */
  listeners: Array<{ onTick: (tick: PriceTick) => void }>;
  next: number;
  /** A newer tick arrived during this pass. */
  again: boolean;
}

/** Listeners called per macrotask during a fan-out. */
const FAN_OUT_SLICE = 64;

const TOPIC = 'price:';
const POLL_TOPIC = 'price poll';
const SYMBOL_TOPIC = 'binance symbols';

export function createPriceHub(deps: PriceHubDeps): PriceHub {
  const now = deps.now ?? Date.now;
  const staleAfterMs = deps.staleAfterMs ?? 3_000;
  const checkMs = Math.max(50, Math.min(500, staleAfterMs / 3));
  const upstreams = new Map<string, Upstream>();
  /** Assets with listeners in this process: one channel membership each, fanned out here. */
  const local = new Map<string, Local>();
  let timer: NodeJS.Timeout | undefined;
  let lastPollAt = Number.NEGATIVE_INFINITY;
  let polling = false;

  function produce(assetId: string, emit: (tick: object) => void): () => void {
    const upstream: Upstream = {
      assetId,
      emit,
      startedAt: now(),
      lastStreamAt: 0,
      polled: false,
      stopped: false,
    };
    upstreams.set(assetId, upstream);
    timer ??= setInterval(check, checkMs);
    void openStream(upstream).catch((error) => deps.onError?.(error));
    return () => {
      upstream.stopped = true;
      upstream.stopStream?.();
      if (upstreams.get(assetId) === upstream) upstreams.delete(assetId);
      if (upstreams.size === 0 && timer) {
        clearInterval(timer);
        timer = undefined;
      }
    };
  }

  async function openStream(upstream: Upstream) {
    const streams = deps.streams;
    let symbol: string | undefined;
    try {
      symbol = streams ? await deps.registry.binanceSymbol(upstream.assetId) : undefined;
      deps.onSuccess?.(SYMBOL_TOPIC);
    } catch (error) {
      // Binance's pairs are unknown for now (its catalogue is out): poll through REST, and say so.
      deps.onError?.(error, SYMBOL_TOPIC);
    }
    if (upstream.stopped) return; // everyone left while we looked the symbol up
    if (!symbol || !streams) {
      upstream.polled = true;
      lastPollAt = Number.NEGATIVE_INFINITY; // poll now rather than a pollMs later
      return;
    }
    upstream.stream = binanceTickerStream(symbol);
    upstream.stopStream = streams.subscribe(upstream.stream, (data) => {
      const t = deps.parseTicker(data);
      if (!t || upstream.stopped) return;
      upstream.lastStreamAt = now();
      upstream.polled = false;
      publish(upstream, {
        assetId: upstream.assetId,
        value: t.price,
        change24h: t.change24h,
        asOf: t.asOf.getTime(),
        source: 'binance',
        stale: false,
      });
    });
  }

  /** A tick older than the last one published (a frame the stream sends late, after a poll) is dropped. */
  function publish(upstream: Upstream, tick: PriceTick) {
    if (upstream.last && tick.asOf < upstream.last.asOf) return;
    upstream.last = tick;
    upstream.emit(tick);
  }

  /** Moves streams that are down to polling, and polls every pollMs while anything is polled. */
  function check() {
    const t = now();
    let failedOver = false;
    for (const u of upstreams.values()) {
      if (!u.stream || u.polled) continue;
      const silent = t - Math.max(u.startedAt, u.lastStreamAt) > staleAfterMs;
      const disconnected = t - u.startedAt > staleAfterMs && deps.streams?.live?.(u.stream) === false;
      if (silent || disconnected) {
        u.polled = true;
        failedOver = true;
      }
    }
    if (failedOver) lastPollAt = Number.NEGATIVE_INFINITY;
    if (t - lastPollAt >= deps.pollMs) void pollOnce(t);
  }

  async function pollOnce(t: number) {
    const ids = [...upstreams.values()].filter((u) => u.polled).map((u) => u.assetId);
    if (ids.length === 0 || polling) return;
    polling = true;
    lastPollAt = t;
    try {
      for (const tick of await deps.poll(ids)) {
        const u = upstreams.get(tick.assetId);
        if (!u?.polled) continue; // its stream came back meanwhile
        const last = u.last;
        if (last && tick.value === last.value) continue;
        publish(u, tick);
      }
      deps.onSuccess?.(POLL_TOPIC);
    } catch (error) {
      deps.onError?.(error, POLL_TOPIC);
    } finally {
      polling = false;
    }
  }

  /**
   * Fans the asset's newest tick out to its listeners. Ticks that arrive while a fan-out is scheduled
   * or running collapse into the newest (one socket read carries many upstream frames when the process
   * is behind), so a busy process sends each subscriber the current price, not a stale one first.
   * Listeners are called in slices of FAN_OUT_SLICE, one slice per macrotask: each subscriber's
   * delivery (a chain of promise steps down to the socket write) then completes before the next slice
   * starts, instead of every subscriber's chain being in flight at once. That keeps the per-event
   * garbage young: with 5k subscribers in one burst, a scavenge mid-burst promoted the in-flight objects
   * to the old generation and RSS grew with them (docs/benchmarks-live.md).
   */
  function deliver(entry: Local, tick: PriceTick) {
    // Ticks reach here through the bus, from whichever process produces the asset; across a lease
    // handover an older one can arrive after a newer one, and is not delivered.
    if (entry.latest && tick.asOf < entry.latest.asOf) return;
    entry.latest = tick;
    if (entry.fanOut) {
      entry.fanOut.again = true;
      return;
    }
    entry.fanOut = { listeners: [...entry.listeners], next: 0, again: false };
    setImmediate(fanOutSlice, entry);
  }

  function fanOutSlice(entry: Local) {
    const run = entry.fanOut;
    if (!run) return;
    const tick = entry.latest!;
    const end = Math.min(run.next + FAN_OUT_SLICE, run.listeners.length);
    for (let i = run.next; i < end; i++) {
      try {
        run.listeners[i]!.onTick(tick);
      } catch (error) {
        deps.onError?.(error);
      }
    }
    run.next = end;
    if (end < run.listeners.length) {
      setImmediate(fanOutSlice, entry);
      return;
    }
    // A newer tick came during the pass: listeners before it have the older one. One more pass;
    // those that already have the newest drop it (the feeds skip a tick equal to the last sent).
    entry.fanOut = run.again ? { listeners: [...entry.listeners], next: 0, again: false } : undefined;
    if (entry.fanOut) setImmediate(fanOutSlice, entry);
  }

  function active(): string[] {
    return [...local.keys()];
  }

  return {
    async check(assetIds) {
      let listed: Map<string, unknown>;
      try {
        listed = await deps.registry.lookup(assetIds);
      } catch (error) {
        throw toClientError(error);
      }
      const unknown: string[] = [];
      for (const id of assetIds) {
        const entry = listed.get(id);
        // A catalogue that cannot say is a coded upstream error, never NOT_FOUND.
        if (entry instanceof Error) throw toClientError(entry);
        if (entry === undefined) unknown.push(id);
      }
      if (unknown.length > 0) throw notFoundAll(unknown.length === 1 ? 'asset' : 'assets', unknown);
    },
    listen(assetId, onTick) {
      let entry = local.get(assetId);
      if (!entry) {
        const created: Local = { listeners: new Set(), leave: () => {} };
        created.leave = deps.channels.join(
          TOPIC + assetId,
          (emit) => produce(assetId, emit),
          (event) => deliver(created, event as PriceTick),
        );
        local.set(assetId, created);
        entry = created;
      }
      const own = entry;
      const listener = { onTick };
      own.listeners.add(listener);
      return () => {
        if (!own.listeners.delete(listener) || own.listeners.size > 0) return;
        if (local.get(assetId) === own) local.delete(assetId);
        own.leave();
      };
    },
    latest: (assetId) => local.get(assetId)?.latest,
    active,
    stats() {
      const producing = [...upstreams.values()];
      return {
        listened: active(),
        producing: producing.map((u) => u.assetId),
        polled: producing.filter((u) => u.polled).map((u) => u.assetId),
      };
    },
    close() {
      for (const entry of local.values()) entry.leave();
      local.clear();
      for (const u of upstreams.values()) {
        u.stopped = true;
        u.stopStream?.();
      }
      upstreams.clear();
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
