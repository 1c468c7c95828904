import WebSocket, { type RawData } from 'ws';
import type { QuietRepeats } from '../telemetry/quiet-repeats.js';

// The gateway's client for Binance's combined-stream WebSocket (`<wsUrl>/stream`). Contract:
// - Streams are ref-counted: the first subscriber of a stream makes it SUBSCRIBEd upstream, the last
//   unsubscribe makes it UNSUBSCRIBEd; a connection left with no streams is closed. Changes made in
//   the same event-loop turn leave in one message, and no connection sends more than
//   MAX_MESSAGES_PER_SECOND (Binance drops connections above 5 incoming messages/s, pongs included).
// - A connection carries at most `maxStreamsPerConnection` streams (Binance: 1024); more streams open
//   more connections.
// - A connection that closes, errors, or stays silent for `deadAfterMs` (Binance pings every 20 s) is
//   reopened with exponential backoff and full jitter and resubscribed. Subscribers never see an
//   error, only a gap in events.
// - Binance drops connections at 24 h; each connection is replaced after `rotateAfterMs`: a fresh one
//   subscribes the same streams, and the old one keeps delivering until the new one delivers its
//   first event, then closes (no gap).
// - Subscribers receive the raw `data` of `{"stream","data"}` frames; all subscribers of a stream get
//   the same object and must not mutate it. Parsing vendor payloads is src/sources/binance.ts's job.

/** The combined-stream name of a pair's 24 h ticker ('btcusdt@ticker'). */
export function binanceTickerStream(pair: string): string {
  return `${pair.toLowerCase()}@ticker`;
}

export interface BinanceStreamsLogger {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

export interface BinanceStreamsDeps {
  /** Stream server origin, e.g. wss://data-stream.binance.vision; '/stream' is appended. */
  wsUrl: string;
  logger?: BinanceStreamsLogger;
  /**
   * Keeps a connection that fails to reconnect (every backoff, up to 5 s apart) to one warning per
   * kind of failure, summaries further and further apart and one line when it is open again; without it each is logged.
   */
  quiet?: QuietRepeats;
  /** Clock for the liveness check (default Date.now). */
  now?: () => number;
  maxStreamsPerConnection?: number;
  reconnect?: { initialMs?: number; maxMs?: number };
  rotateAfterMs?: number;
  /** No frame, ping or pong for this long means the connection is dead (default 60 s). */
  deadAfterMs?: number;
  /** How long a rotated-out connection waits for its successor's first event (default 30 s). */
  handoverTimeoutMs?: number;
  /** Source of jitter in [0, 1); injectable for tests. */
  random?: () => number;
}

export interface BinanceStreams {
  /** Starts delivering `stream`'s events to `onEvent`; returns the (idempotent) unsubscribe. */
  subscribe(stream: string, onEvent: (data: unknown) => void): () => void;
  /** Streams with at least one subscriber. */
  streams(): string[];
  /** True while the connection delivering `stream` is open and has it subscribed upstream. */
  live(stream: string): boolean;
  /** Upstream connections, including ones reconnecting or being rotated out. */
  connections(): number;
  close(): Promise<void>;
}

/** One below Binance's 5/s: the automatic pong to a server ping counts against the same limit. */
const MAX_MESSAGES_PER_SECOND = 4;
/** Streams named in the connect URL (the rest are SUBSCRIBEd once open) keep the request line short. */
const MAX_URL_STREAMS_CHARS = 2_000;

interface Link {
  id: number;
  socket: WebSocket | undefined;
  /** Streams this connection should carry. */
  wanted: Set<string>;
  /** Streams the server has for this connection, as far as we told it. */
  upstream: Set<string>;
  closed: boolean;
  attempt: number;
  lastSeen: number;
  /** Set once the current socket delivered a stream event. */
  delivered: boolean;
  sentAt: number[];
  flushQueued: boolean;
  rateTimer?: NodeJS.Timeout;
  reconnectTimer?: NodeJS.Timeout;
  rotateTimer?: NodeJS.Timeout;
  /** On a connection being rotated out: its replacement, and the deadline to hand over. */
  successor?: Link;
  handoverTimer?: NodeJS.Timeout;
  /** On a replacement: the connection it replaces. */
  predecessor?: Link;
  nextRequestId: number;
}

interface Subscriber {
  onEvent: (data: unknown) => void;
}

export function createBinanceStreams(deps: BinanceStreamsDeps): BinanceStreams {
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const logger = deps.logger;
  const failed = (link: Link, kind: string, fields: object, msg: string) => {
    if (deps.quiet) deps.quiet.failed(`binance stream ${link.id}`, kind, fields, msg);
    else logger?.warn(fields, msg);
  };
  const maxStreams = deps.maxStreamsPerConnection ?? 1024;
  const initialMs = deps.reconnect?.initialMs ?? 250;
  const maxMs = deps.reconnect?.maxMs ?? 5_000;
  const rotateAfterMs = deps.rotateAfterMs ?? 23.5 * 3_600_000;
  const deadAfterMs = deps.deadAfterMs ?? 60_000;
  const handoverTimeoutMs = deps.handoverTimeoutMs ?? 30_000;
  if (!/^wss?:\/\/\S+$/.test(deps.wsUrl)) {
    throw new TypeError(
      `binance streams: wsUrl must be a ws:// or wss:// URL, got ${JSON.stringify(deps.wsUrl)}`,
    );
  }
  const streamUrl = toStreamUrl(deps.wsUrl);

  const subscribers = new Map<string, Set<Subscriber>>();
  /** The active connection each stream is (to be) subscribed on. */
  const home = new Map<string, Link>();
  /** The connection whose events reach subscribers: `home`, or its predecessor until handover. */
  const owner = new Map<string, Link>();
  const active: Link[] = [];
  const retiring = new Set<Link>();
  let nextLinkId = 1;
  let watchdog: NodeJS.Timeout | undefined;
  let closing = false;

  function subscribe(stream: string, onEvent: (data: unknown) => void): () => void {
    if (closing) throw new Error('binance streams: subscribe() after close()');
    if (typeof stream !== 'string' || stream.length === 0) {
      throw new TypeError(
        `binance streams: stream must be a non-empty name like "btcusdt@ticker", got ${JSON.stringify(stream)}`,
      );
    }
    const entry: Subscriber = { onEvent };
    let set = subscribers.get(stream);
    if (!set) {
      set = new Set();
      subscribers.set(stream, set);
      attach(stream);
    }
    set.add(entry);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const current = subscribers.get(stream);
      if (!current?.delete(entry) || current.size > 0) return;
      subscribers.delete(stream);
      detach(stream);
    };
  }

  function attach(stream: string) {
    const link = active.find((l) => l.wanted.size < maxStreams) ?? createLink();
    link.wanted.add(stream);
    home.set(stream, link);
    owner.set(stream, link);
    scheduleFlush(link);
  }

  function detach(stream: string) {
    const link = home.get(stream);
    home.delete(stream);
    owner.delete(stream);
    if (!link) return;
    link.wanted.delete(stream);
    link.predecessor?.wanted.delete(stream);
    scheduleFlush(link);
  }

  function createLink(): Link {
    const link: Link = {
      id: nextLinkId++,
      socket: undefined,
      wanted: new Set(),
      upstream: new Set(),
      closed: false,
      attempt: 0,
      lastSeen: now(),
      delivered: false,
      sentAt: [],
      flushQueued: false,
      nextRequestId: 1,
    };
    active.push(link);
    watchdog ??= setInterval(checkLiveness, Math.min(15_000, Math.max(50, deadAfterMs / 4))).unref();
    return link;
  }

  function scheduleFlush(link: Link) {
    if (link.flushQueued) return;
    link.flushQueued = true;
    setImmediate(() => {
      link.flushQueued = false;
      flush(link);
    });
  }

  /** Brings the server's view of `link` in line with `wanted`, within the message budget. */
  function flush(link: Link) {
    if (link.closed || closing) return;
    if (link.wanted.size === 0 && !link.successor) {
      void closeLink(link);
      return;
    }
    if (!link.socket) {
      if (!link.reconnectTimer) connect(link);
      return;
    }
    if (link.socket.readyState !== WebSocket.OPEN) return; // 'open' flushes
    const add = [...link.wanted].filter((s) => !link.upstream.has(s));
    const remove = [...link.upstream].filter((s) => !link.wanted.has(s));
    const batches: Array<['SUBSCRIBE' | 'UNSUBSCRIBE', string[]]> = [];
    if (remove.length > 0) batches.push(['UNSUBSCRIBE', remove]);
    if (add.length > 0) batches.push(['SUBSCRIBE', add]);
    for (const [method, params] of batches) {
      // Pacing is measured on the monotonic clock its timers run on, never on the injectable `now`.
      const t = performance.now();
      while (link.sentAt.length > 0 && t - link.sentAt[0]! >= 1000) link.sentAt.shift();
      if (link.sentAt.length >= MAX_MESSAGES_PER_SECOND) {
        link.rateTimer ??= setTimeout(
          () => {
            link.rateTimer = undefined;
            flush(link);
          },
          link.sentAt[0]! + 1000 - t,
        );
        return;
      }
      link.sentAt.push(t);
      link.socket.send(JSON.stringify({ method, params, id: link.nextRequestId++ }));
      for (const s of params) {
        if (method === 'SUBSCRIBE') link.upstream.add(s);
        else link.upstream.delete(s);
      }
    }
  }

  function connect(link: Link) {
    link.reconnectTimer = undefined;
    const initial: string[] = [];
    let length = 0;
    for (const stream of link.wanted) {
      length += stream.length + 1;
      if (length > MAX_URL_STREAMS_CHARS) break;
      initial.push(stream);
    }
    link.upstream = new Set(initial);
    link.delivered = false;
    link.sentAt = [];
    const url = initial.length > 0 ? `${streamUrl}?streams=${initial.join('/')}` : streamUrl;
    let socket: WebSocket;
    try {
      socket = new WebSocket(url, { handshakeTimeout: 10_000, perMessageDeflate: false });
    } catch (error) {
      failed(
        link,
        String(error),
        { provider: 'binance', connection: link.id, err: String(error) },
        'binance stream connect failed',
      );
      link.reconnectTimer = setTimeout(() => connect(link), backoffMs(link));
      return;
    }
    link.socket = socket;
    socket.on('open', () => {
      link.lastSeen = now();
      const line = { provider: 'binance', connection: link.id, streams: link.wanted.size };
      const key = `binance stream ${link.id}`;
      if (!deps.quiet?.recovered(key, line, 'binance stream connection open'))
        logger?.info(line, 'binance stream connection open');
      link.rotateTimer = setTimeout(() => rotate(link), rotateAfterMs).unref();
      flush(link);
    });
    socket.on('message', (data) => receive(link, socket, data));
    socket.on('ping', () => touch(link, socket));
    socket.on('pong', () => touch(link, socket));
    socket.on('error', (error) => {
      if (link.socket === socket && !link.closed) {
        failed(
          link,
          `error ${error.message}`,
          { provider: 'binance', connection: link.id, err: error.message },
          'binance stream connection error',
        );
      }
    });
    socket.on('close', (code) => onClose(link, socket, code));
  }

  function touch(link: Link, socket: WebSocket) {
    if (link.socket !== socket) return;
    link.lastSeen = now();
    link.attempt = 0;
  }

  function receive(link: Link, socket: WebSocket, raw: RawData) {
    if (link.socket !== socket) return;
    touch(link, socket);
    let message: unknown;
    try {
      message = JSON.parse(raw.toString());
    } catch {
      logger?.warn(
        { provider: 'binance', connection: link.id },
        'binance stream sent a frame that is not JSON',
      );
      return;
    }
    if (typeof message !== 'object' || message === null) return;
    const frame = message as { stream?: unknown; data?: unknown; error?: unknown; id?: unknown };
    if (typeof frame.stream === 'string' && 'data' in frame) {
      if (!link.delivered) {
        link.delivered = true;
        if (link.predecessor) handOver(link);
      }
      if (owner.get(frame.stream) !== link) return;
      for (const subscriber of subscribers.get(frame.stream) ?? []) {
        try {
          subscriber.onEvent(frame.data);
        } catch (error) {
          logger?.warn(
            { provider: 'binance', stream: frame.stream, err: String(error) },
            'binance stream subscriber threw',
          );
        }
      }
      return;
    }
    if (frame.error !== undefined) {
      logger?.warn(
        { provider: 'binance', connection: link.id, error: frame.error, id: frame.id },
        'binance stream request failed',
      );
    }
  }

  function onClose(link: Link, socket: WebSocket, code: number) {
    if (link.socket !== socket) return;
    link.socket = undefined;
    clearTimeout(link.rotateTimer);
    if (link.closed || closing) return;
    if (link.successor) return handOver(link.successor); // died while being rotated out: no reconnect
    if (link.wanted.size === 0) return void closeLink(link);
    const delay = backoffMs(link);
    failed(
      link,
      `closed ${code}`,
      {
        provider: 'binance',
        connection: link.id,
        code,
        streams: link.wanted.size,
        delayMs: Math.round(delay),
      },
      'binance stream connection lost; reconnecting',
    );
    link.reconnectTimer = setTimeout(() => connect(link), delay);
  }

  /** Exponential backoff with full jitter; the attempt count resets once a connection hears anything. */
  function backoffMs(link: Link): number {
    const ceiling = Math.min(maxMs, initialMs * 2 ** link.attempt);
    link.attempt += 1;
    return random() * ceiling;
  }

  /** Replaces `link` by a fresh connection carrying the same streams (see handOver). */
  function rotate(link: Link) {
    if (link.closed || closing || link.successor || link.wanted.size === 0) return;
    if (link.predecessor) handOver(link); // still waiting for its own first event: settle that first
    const successor = createLink();
    active.pop(); // createLink appended it; it takes `link`'s place instead
    active.splice(active.indexOf(link), 1, successor);
    retiring.add(link);
    successor.predecessor = link;
    link.successor = successor;
    for (const stream of link.wanted) {
      successor.wanted.add(stream);
      home.set(stream, successor);
    }
    link.handoverTimer = setTimeout(() => handOver(successor), handoverTimeoutMs).unref();
    logger?.info(
      { provider: 'binance', connection: link.id, successor: successor.id },
      'binance stream connection rotating',
    );
    scheduleFlush(successor);
  }

  function handOver(successor: Link) {
    const old = successor.predecessor;
    if (!old) return;
    successor.predecessor = undefined;
    for (const [stream, current] of owner) if (current === old) owner.set(stream, successor);
    closeLink(old);
    scheduleFlush(successor);
  }

  function closeLink(link: Link): Promise<void> {
    link.closed = true;
    const predecessor = link.predecessor;
    link.predecessor = undefined;
    const closingPredecessor = predecessor ? closeLink(predecessor) : Promise.resolve();
    const index = active.indexOf(link);
    if (index >= 0) active.splice(index, 1);
    retiring.delete(link);
    for (const timer of [link.rateTimer, link.reconnectTimer, link.rotateTimer, link.handoverTimer])
      clearTimeout(timer);
    if (active.length === 0 && retiring.size === 0) {
      clearInterval(watchdog);
      watchdog = undefined;
    }
    const socket = link.socket;
    link.socket = undefined;
    return Promise.all([closingPredecessor, closeSocket(socket)]).then(() => {});
  }

  function checkLiveness() {
    const t = now();
    for (const link of [...active, ...retiring]) {
      if (link.socket?.readyState === WebSocket.OPEN && t - link.lastSeen > deadAfterMs) {
        logger?.warn(
          { provider: 'binance', connection: link.id, silentMs: t - link.lastSeen },
          'binance stream connection silent; dropping it',
        );
        link.socket.terminate();
      }
    }
  }

  return {
    subscribe,
    streams: () => [...subscribers.keys()],
    live(stream) {
      const link = owner.get(stream);
      return link?.socket?.readyState === WebSocket.OPEN && link.upstream.has(stream);
    },
    connections: () => active.length + retiring.size,
    async close() {
      closing = true;
      subscribers.clear();
      home.clear();
      owner.clear();
      await Promise.all([...active, ...retiring].map(closeLink));
    },
  };
}

function toStreamUrl(wsUrl: string): string {
  const base = wsUrl.replace(/\/+$/, '');
  return base.endsWith('/stream') ? base : `${base}/stream`;
}

/** Closes politely, and abruptly if the server has not finished the close handshake within 2 s. */
function closeSocket(socket: WebSocket | undefined): Promise<void> {
  if (!socket || socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => socket.terminate(), 2_000);
    socket.once('close', () => {
      clearTimeout(force);
      resolve();
    });
    if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
    else socket.close(1000);
  });
}
