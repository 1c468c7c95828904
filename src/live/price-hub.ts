import { notFound } from '../errors.js';
import type { ProviderName } from '../model.js';
import type { AssetRegistry } from '../registry.js';

// One upstream feed per asset per process, shared by every subscriber: the first listener of an asset
// opens its Binance stream (or joins the shared poller when Binance does not list it), the last one
// to leave closes it. Ticks are plain JSON-safe objects so they can cross processes unchanged.

export interface PriceTick {
  assetId: string;
  /** USD (Binance USDT pairs are taken as USD). */
  value: number;
  change24h: number | null;
  /** Epoch ms of the provider's event. */
  asOf: number;
  source: ProviderName;
}

export interface StreamClient {
  subscribe(stream: string, onEvent: (data: unknown) => void): () => void;
}

export interface PriceHubDeps {
  registry: AssetRegistry;
  /** Binance combined-stream client; undefined when Binance is disabled. */
  streams: StreamClient | undefined;
  parseTicker(data: unknown): { symbol: string; price: number; change24h: number; asOf: Date } | undefined;
  /** Batch REST prices for assets without a push stream. */
  poll(assetIds: string[]): Promise<PriceTick[]>;
  pollMs: number;
  onError?: (error: unknown) => void;
}

export interface PriceHub {
  /** Rejects with NOT_FOUND naming the first unknown asset. */
  check(assetIds: string[]): Promise<void>;
  listen(assetId: string, onTick: (tick: PriceTick) => void): () => void;
  /** Assets with an open upstream feed (stream or poller) in this process. */
  active(): string[];
  close(): void;
}

interface Feed {
  listeners: Set<(tick: PriceTick) => void>;
  stop?: () => void;
  /** Last value published, for diff-before-emit on polled assets. */
  last?: number;
}

export function createPriceHub(deps: PriceHubDeps): PriceHub {
  const feeds = new Map<string, Feed>();
  const polled = new Set<string>();
  let pollTimer: NodeJS.Timeout | undefined;

  function emit(tick: PriceTick) {
    const feed = feeds.get(tick.assetId);
    if (!feed) return;
    feed.last = tick.value;
    for (const listener of feed.listeners) listener(tick);
  }

  async function pollOnce() {
    if (polled.size === 0) return;
    try {
      for (const tick of await deps.poll([...polled])) {
        const feed = feeds.get(tick.assetId);
        if (feed && feed.last !== tick.value) emit(tick);
      }
    } catch (error) {
      deps.onError?.(error);
    }
  }

  async function start(assetId: string, feed: Feed) {
    const symbol = deps.streams
      ? await deps.registry.binanceSymbol(assetId).catch(() => undefined)
      : undefined;
    if (feeds.get(assetId) !== feed) return; // everyone left while we looked the symbol up
    if (symbol && deps.streams) {
      feed.stop = deps.streams.subscribe(`${symbol.toLowerCase()}@ticker`, (data) => {
        const t = deps.parseTicker(data);
        if (t)
          emit({
            assetId,
            value: t.price,
            change24h: t.change24h,
            asOf: t.asOf.getTime(),
            source: 'binance',
          });
      });
      return;
    }
    polled.add(assetId);
    feed.stop = () => polled.delete(assetId);
    pollTimer ??= setInterval(() => void pollOnce(), deps.pollMs);
  }

  return {
    async check(assetIds) {
      const known = new Set((await deps.registry.list()).map((a) => a.id));
      const unknown = assetIds.find((id) => !known.has(id));
      if (unknown !== undefined) throw notFound('asset', unknown);
    },
    listen(assetId, onTick) {
      let feed = feeds.get(assetId);
      if (!feed) {
        feed = { listeners: new Set() };
        feeds.set(assetId, feed);
        void start(assetId, feed).catch((error) => deps.onError?.(error));
      }
      const own = feed;
      own.listeners.add(onTick);
      return () => {
        own.listeners.delete(onTick);
        if (own.listeners.size > 0 || feeds.get(assetId) !== own) return;
        feeds.delete(assetId);
        own.stop?.();
        if (polled.size === 0 && pollTimer) {
          clearInterval(pollTimer);
          pollTimer = undefined;
        }
      };
    },
    active: () => [...feeds.keys()],
    close() {
      for (const feed of feeds.values()) feed.stop?.();
      feeds.clear();
      polled.clear();
      if (pollTimer) clearInterval(pollTimer);
      pollTimer = undefined;
    },
  };
}
