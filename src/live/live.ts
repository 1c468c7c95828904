import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ExecutionArgs, GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { OnChainService } from '../market/onchain.js';
import type { AssetRegistry } from '../market/registry.js';
import type { RedisConnection } from '../redis.js';
import type { SignalLoaders, SignalService } from '../signals/service.js';
import { parseTickerEvent } from '../sources/binance.js';
import { type BinanceStreams, createBinanceStreams } from '../sources/binance-streams.js';
import { createQuietRepeats, kindOf, type QuietRepeats } from '../telemetry/quiet-repeats.js';
import {
  createSharedResults,
  type SharedResults,
  type SharedResultsStats,
} from '../transport/shared-results.js';
import { createLocalBus, createRedisBus, type LiveBus } from './bus.js';
import { type ChannelStats, createChannels } from './channels.js';
import { createLocalLeases, createRedisLeases, type Leases } from './leases.js';
import { createMetricFeed, type MetricFeed } from './metric-feed.js';
import { createPriceFeed, type PriceFeed } from './price-feed.js';
import { createPriceHub, type PriceHub, type PriceHubStats, type PriceTick } from './price-hub.js';
import { createSignalFeed, type SignalFeed } from './signal-feed.js';

// The live layer of one gateway process: upstream streams and pollers, the bus and leases that spread
// them across processes, and the per-subscriber feeds behind the Subscription fields.
// Without Redis everything stays in this process. With it, events travel through Redis pub/sub and
// each topic (an asset's price stream, a chain's metric poller, ...) is produced by
// the one process holding its lease in Redis (TTL 3 s, renewed every second, retried every 500 ms by
// the others), so N processes open one upstream stream per asset between them, and another listening
// process takes a topic over within ~3.5 s of its holder dying (at once when it shuts down cleanly).
// While Redis is unreachable each process produces what its own listeners need and delivers it in
// process (bus.ts, leases.ts); when Redis returns they share again.

export interface LiveDeps {
  config: Config;
  /** Spreads topics across processes; everything stays in this process without it. */
  redis?: RedisConnection;
  logger: Logger;
  registry: AssetRegistry;
  onchain: OnChainService;
  signals: SignalService;
  /** Current USD prices through the cache (REST), for first events and polling. */
  loadUsdPrices(assetIds: string[]): Promise<PriceTick[]>;
  fxPerUsd(currency: string): Promise<number>;
  /** Fresh loaders for one use outside any request (the signal poller's). */
  newLoaders(): SignalLoaders;
  /** See shared-results.ts (default true). */
  shareResults?: boolean;
  /** What shared live results depend on about the subscriber (its scope set; see shared-results.ts). */
  sharePartition?: (args: ExecutionArgs) => string;
  /** Masks errors in subscription results (the gateway's error mask). */
  maskError?: (error: unknown) => GraphQLError;
  /** Keeps failures that repeat to one line per kind and summaries further and further apart (its own by default). */
  quiet?: QuietRepeats;
}

export interface LiveStats {
  channels: ChannelStats;
  prices: PriceHubStats;
  /** The Binance client's view: streams subscribed, connections open. */
  upstream: { streams: string[]; connections: number };
  shared: SharedResultsStats;
  /** Lease keys this process holds (with Redis), or every produced topic (without). */
  leases: string[];
}

export interface Live {
  prices: PriceFeed;
  metrics: MetricFeed;
  signals: SignalFeed;
  hub: PriceHub;
  shared: SharedResults;
  stats(): LiveStats;
  /** A small summary for GET /health: which topics this process produces, how many it listens to. */
  health(): { producing: string[]; topics: number; listeners: number; upstreamConnections: number };
  close(): Promise<void>;
}

const LEASE_TTL_MS = 3_000;
const LEASE_RENEW_MS = 1_000;

export function createLive(deps: LiveDeps): Live {
  const { config, logger } = deps;
  const quiet = deps.quiet ?? createQuietRepeats({ logger });
  // Pollers, streams and the bus fail again on every poll or call while their cause lasts: each
  // failing topic warns once per kind of failure, sums up now and then, and says when it recovers.
  // A failure with no topic of its own (a listener that threw) is keyed by its message.
  const warn =
    (msg: string) =>
    (error: unknown, topic = msg) =>
      quiet.failed(topic, kindOf(error), { topic, err: describe(error) }, msg);
  const recovered = (msg: string) => (topic: string) => quiet.recovered(topic, { topic }, msg);

  const transport = deps.redis
    ? createRedisTransport(deps.redis, config, warn)
    : { bus: createLocalBus({ onError: warn('live listener threw') }), leases: createLocalLeases() };
  const channels = createChannels({
    bus: transport.bus,
    leases: transport.leases,
    onError: (error, topic) => warn('live producer failed')(error, `producer ${topic}`),
  });

  const binance = config.providers.binance;
  const streams: BinanceStreams | undefined =
    binance.enabled && binance.wsUrl
      ? createBinanceStreams({ wsUrl: binance.wsUrl, logger, quiet })
      : undefined;
  const hub = createPriceHub({
    registry: deps.registry,
    streams,
    parseTicker: parseTickerEvent,
    poll: deps.loadUsdPrices,
    pollMs: Math.max(1_000, config.cache.ttl.price),
    channels,
    onError: warn('price poll failed'),
    onSuccess: recovered('price poll recovered'),
  });
  const prices = createPriceFeed({
    hub,
    currentPrices: deps.loadUsdPrices,
    fxPerUsd: deps.fxPerUsd,
    onError: warn('price feed error'),
  });
  const metrics = createMetricFeed({
    channels,
    onchain: deps.onchain,
    pollMs: Math.max(250, config.cache.ttl.onchain),
    onError: warn('on-chain poll failed'),
    onSuccess: recovered('on-chain poll recovered'),
  });
  const signals = createSignalFeed({
    channels,
    signals: deps.signals,
    check: (ids) => hub.check(ids),
    newLoaders: deps.newLoaders,
    pollMs: Math.max(1_000, config.cache.ttl.candles),
    onError: warn('signal poll failed'),
    onSuccess: recovered('signal poll recovered'),
  });
  const shared = createSharedResults({
    enabled: deps.shareResults ?? true,
    maskError: deps.maskError,
    partition: deps.sharePartition,
  });

  return {
    prices,
    metrics,
    signals,
    hub,
    shared,
    stats: () => ({
      channels: channels.stats(),
      prices: hub.stats(),
      upstream: { streams: streams?.streams() ?? [], connections: streams?.connections() ?? 0 },
      shared: shared.stats(),
      leases: transport.leases.held(),
    }),
    health() {
      const { producing, topics, listeners } = channels.stats();
      return {
        producing,
        topics: topics.length,
        listeners,
        upstreamConnections: streams?.connections() ?? 0,
      };
    },
    async close() {
      await channels.close();
      await transport.leases.close();
      hub.close();
      await streams?.close();
      await transport.close?.();
    },
  };
}

interface Transport {
  bus: LiveBus;
  leases: Leases;
  close?: () => Promise<void>;
}

function createRedisTransport(
  redis: RedisConnection,
  config: Config,
  warn: (msg: string) => (error: unknown) => void,
): Transport {
  // Redis channels are server-wide, keys are per database: both get the database in their prefix so
  // gateways on different databases of one server never hear each other.
  const url = config.redisUrl ?? '';
  const db = Number(new URL(url).pathname.slice(1) || '0') || 0;
  const prefix = `${redis.prefix}${db}:live:`;
  const bus = createRedisBus({
    publisher: redis.commands,
    subscriber: redis.subscriber,
    prefix,
    up: redis.up,
    onError: warn('live bus error'),
  });
  const leases = createRedisLeases({
    redis: redis.commands,
    state: redis.state,
    onReachable: redis.onUp,
    onLate: redis.reportLate,
    timeoutMs: Math.min(redis.timeoutMs, LEASE_RENEW_MS),
    owner: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    prefix: `${prefix}lease:`,
    ttlMs: LEASE_TTL_MS,
    renewMs: LEASE_RENEW_MS,
    onError: warn('live lease renewal failed'),
  });
  return { bus, leases };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
