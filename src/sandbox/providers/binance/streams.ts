import type { IncomingMessage } from 'node:http';
import type { RawData, WebSocket } from 'ws';
import type { WebSocketEndpoint } from '../../dialect.js';
import type { Market } from '../../market/market.js';
import {
  type BinanceSymbol,
  createIntervalClock,
  formatDecimal,
  isKlineInterval,
  snapshotTicker,
  type TickerSnapshot,
  takerBuyShare,
} from './market.js';

// Binance's combined-stream server (/stream?streams=a/b): live SUBSCRIBE / UNSUBSCRIBE /
// LIST_SUBSCRIPTIONS / SET_PROPERTY / GET_PROPERTY, ≤1024 streams and ≤5 incoming messages per second
// per connection, a server ping every `pingMs` and a disconnect when no pong came for `pongTimeoutMs`.
// One timer drives every connection: each tick computes each subscribed stream's frame once and sends
// the same bytes to every connection that wants it. Streams of unknown symbols are accepted and stay
// silent, as on Binance. Raw `/ws/<stream>` endpoints are not served (the shell routes one path).

export interface BinanceStreamServerOptions {
  market: Market;
  symbols: ReadonlyMap<string, BinanceSymbol>;
  tickMs: number;
  pingMs: number;
  pongTimeoutMs: number;
  maxStreams?: number;
  maxMessagesPerSecond?: number;
  /** Skip a tick's frames for a socket with more than this many bytes unsent (slow consumer). */
  maxBufferedBytes?: number;
}

interface Connection {
  socket: WebSocket;
  streams: Set<string>;
  combined: boolean;
  lastPongAt: number;
  /** Arrival times (ms) of incoming messages and control frames within the last second. */
  recent: number[];
}

interface Frame {
  combined: Buffer;
  raw: Buffer;
}

const METHODS = ['SUBSCRIBE', 'UNSUBSCRIBE', 'LIST_SUBSCRIPTIONS', 'SET_PROPERTY', 'GET_PROPERTY'];
const ID_PATTERN = /^[A-Za-z0-9]{1,36}$/;

export function createBinanceStreamServer(options: BinanceStreamServerOptions): WebSocketEndpoint {
  const { market, symbols } = options;
  const maxStreams = options.maxStreams ?? 1024;
  const maxMessages = options.maxMessagesPerSecond ?? 5;
  const maxBuffered = options.maxBufferedBytes ?? 1 << 20;
  const connections = new Set<Connection>();
  let peak = 0;
  let tickTimer: NodeJS.Timeout | undefined;
  let pingTimer: NodeJS.Timeout | undefined;

  function startTimers() {
    tickTimer ??= setInterval(tick, options.tickMs);
    pingTimer ??= setInterval(pingAll, options.pingMs);
  }

  function stopTimers() {
    clearInterval(tickTimer);
    clearInterval(pingTimer);
    tickTimer = undefined;
    pingTimer = undefined;
  }

  function tick() {
    const t = market.now();
    const frames = new Map<string, Frame | null>();
    const tickers = new Map<string, TickerSnapshot>();
    for (const conn of connections) {
      if (conn.socket.readyState !== conn.socket.OPEN || conn.socket.bufferedAmount > maxBuffered) continue;
      for (const stream of conn.streams) {
        let frame = frames.get(stream);
        if (frame === undefined) {
          const data = buildEvent(stream, t, tickers);
          frame = data === undefined ? null : encodeFrame(stream, data);
          frames.set(stream, frame);
        }
        if (frame) conn.socket.send(conn.combined ? frame.combined : frame.raw, { binary: false });
      }
    }
  }

  function buildEvent(stream: string, t: number, tickers: Map<string, TickerSnapshot>): object | undefined {
    const at = stream.indexOf('@');
    if (at <= 0) return undefined;
    const name = stream.slice(0, at);
    const kind = stream.slice(at + 1);
    // Stream names carry lower-case symbols; anything else is a stream nobody publishes on.
    if (name !== name.toLowerCase()) return undefined;
    const sym = symbols.get(name.toUpperCase());
    if (!sym) return undefined;
    const ticker = () => {
      let snapshot = tickers.get(sym.symbol);
      if (!snapshot) {
        snapshot = snapshotTicker(market, sym, t);
        tickers.set(sym.symbol, snapshot);
      }
      return snapshot;
    };
    if (kind === 'ticker') return tickerEvent(ticker());
    if (kind === 'miniTicker') return miniTickerEvent(ticker());
    if (kind.startsWith('kline_')) return klineEvent(sym, kind.slice('kline_'.length), t);
    return undefined;
  }

  function klineEvent(sym: BinanceSymbol, interval: string, t: number): object | undefined {
    if (!isKlineInterval(interval)) return undefined;
    const clock = createIntervalClock(interval);
    const open = clock.floor(t);
    const c = market.candle(sym.asset.id, clock.next(open) - open, open);
    const taker = takerBuyShare(sym.symbol, open);
    const lastId = Math.floor(t / 50);
    return {
      e: 'kline',
      E: t,
      s: sym.symbol,
      k: {
        t: c.openTime,
        T: c.closeTime,
        s: sym.symbol,
        i: interval,
        f: lastId - c.trades + 1,
        L: lastId,
        o: formatDecimal(c.open),
        c: formatDecimal(c.close),
        h: formatDecimal(c.high),
        l: formatDecimal(c.low),
        v: formatDecimal(c.volume),
        n: c.trades,
        x: false,
        q: formatDecimal(c.quoteVolume),
        V: formatDecimal(c.volume * taker),
        Q: formatDecimal(c.quoteVolume * taker),
        B: '0',
      },
    };
  }

  function pingAll() {
    const now = Date.now();
    for (const conn of connections) {
      if (now - conn.lastPongAt > options.pongTimeoutMs) {
        conn.socket.terminate();
        continue;
      }
      if (conn.socket.readyState === conn.socket.OPEN) conn.socket.ping();
    }
  }

  /** Counts an incoming message or control frame; false once the connection went over the limit. */
  function admit(conn: Connection): boolean {
    const now = Date.now();
    conn.recent.push(now);
    while (conn.recent.length > 0 && now - conn.recent[0]! >= 1000) conn.recent.shift();
    if (conn.recent.length <= maxMessages) return true;
    conn.socket.close(1008, 'Too many requests');
    return false;
  }

  function reply(conn: Connection, body: object) {
    if (conn.socket.readyState === conn.socket.OPEN) conn.socket.send(JSON.stringify(body));
  }

  function replyError(conn: Connection, id: unknown, code: number, msg: string) {
    reply(conn, { error: { code, msg }, id: isValidId(id) ? id : null });
  }

  function handleMessage(conn: Connection, raw: RawData) {
    if (!admit(conn)) return;
    const text = raw.toString();
    let request: unknown;
    try {
      request = JSON.parse(text);
    } catch {
      return replyError(conn, null, 3, `Invalid JSON: expected value at line 1 column ${text.length}`);
    }
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      return replyError(
        conn,
        null,
        2,
        `Invalid request: expected a JSON object at line 1 column ${text.length}`,
      );
    }
    const { method, params, id } = request as { method?: unknown; params?: unknown; id?: unknown };
    if (method === undefined) {
      return replyError(
        conn,
        id,
        2,
        `Invalid request: missing field \`method\` at line 1 column ${text.length}`,
      );
    }
    if (typeof method !== 'string' || !METHODS.includes(method)) {
      const expected = METHODS.map((m) => `\`${m}\``).join(', ');
      return replyError(
        conn,
        id,
        2,
        `Invalid request: unknown variant \`${String(method)}\`, expected one of ${expected} at line 1 column ${text.length}`,
      );
    }
    if (!isValidId(id))
      return replyError(conn, null, 2, 'Invalid request: request ID must be an unsigned integer');

    if (method === 'LIST_SUBSCRIPTIONS') return reply(conn, { result: [...conn.streams], id });
    if (method === 'GET_PROPERTY' || method === 'SET_PROPERTY')
      return handleProperty(conn, method, params, id);

    if (!Array.isArray(params) || !params.every((p) => typeof p === 'string')) {
      return replyError(conn, id, 2, 'Invalid request: params must be a list of stream names');
    }
    if (method === 'SUBSCRIBE') {
      const added = params.filter((p) => !conn.streams.has(p));
      if (conn.streams.size + new Set(added).size > maxStreams) {
        return replyError(
          conn,
          id,
          2,
          `Invalid request: too many streams; a connection listens to at most ${maxStreams}`,
        );
      }
      for (const stream of params) conn.streams.add(stream);
    } else {
      for (const stream of params) conn.streams.delete(stream);
    }
    reply(conn, { result: null, id });
  }

  function handleProperty(conn: Connection, method: string, params: unknown, id: unknown) {
    const list = Array.isArray(params) ? params : [];
    const [name, value] = list;
    if (typeof name !== 'string')
      return replyError(conn, id, 2, 'Invalid request: property name must be a string');
    if (name !== 'combined') return replyError(conn, id, 0, 'Unknown property');
    if (method === 'GET_PROPERTY') return reply(conn, { result: conn.combined, id });
    if (typeof value !== 'boolean') return replyError(conn, id, 1, 'Invalid value type: expected Boolean');
    conn.combined = value;
    reply(conn, { result: null, id });
  }

  return {
    path: '/stream',
    endpoint: 'ws/stream',
    accept(socket: WebSocket, _request: IncomingMessage, url: URL) {
      const initial = (url.searchParams.get('streams') ?? '').split('/').filter(Boolean);
      const conn: Connection = {
        socket,
        streams: new Set(initial),
        combined: true,
        lastPongAt: Date.now(),
        recent: [],
      };
      if (conn.streams.size > maxStreams) {
        socket.close(1008, `Too many streams; at most ${maxStreams} per connection`);
        return;
      }
      connections.add(conn);
      peak = Math.max(peak, connections.size);
      startTimers();
      socket.on('message', (data) => handleMessage(conn, data));
      socket.on('ping', () => admit(conn));
      socket.on('pong', () => {
        conn.lastPongAt = Date.now();
        admit(conn);
      });
      socket.on('error', () => socket.terminate());
      socket.on('close', () => {
        connections.delete(conn);
        if (connections.size === 0) stopTimers();
      });
    },
    streams() {
      const all = new Set<string>();
      for (const conn of connections) for (const stream of conn.streams) all.add(stream);
      return [...all];
    },
    connections: () => connections.size,
    peakConnections: () => peak,
    resetPeak() {
      peak = connections.size;
    },
    dropAll() {
      for (const conn of connections) conn.socket.terminate();
    },
    close() {
      stopTimers();
      for (const conn of connections) conn.socket.terminate();
      connections.clear();
    },
  };
}

function tickerEvent(t: TickerSnapshot) {
  return {
    e: '24hrTicker',
    E: t.eventTime,
    s: t.symbol,
    p: formatDecimal(t.priceChange),
    P: formatDecimal(t.priceChangePercent, 3),
    w: formatDecimal(t.weightedAvgPrice),
    x: formatDecimal(t.prevClose),
    c: formatDecimal(t.last),
    Q: formatDecimal(t.lastQty),
    b: formatDecimal(t.bid),
    B: formatDecimal(t.bidQty),
    a: formatDecimal(t.ask),
    A: formatDecimal(t.askQty),
    o: formatDecimal(t.open),
    h: formatDecimal(t.high),
    l: formatDecimal(t.low),
    v: formatDecimal(t.volume),
    q: formatDecimal(t.quoteVolume),
    O: t.openTime,
    C: t.closeTime,
    F: t.firstId,
    L: t.lastId,
    n: t.count,
  };
}

function miniTickerEvent(t: TickerSnapshot) {
  return {
    e: '24hrMiniTicker',
    E: t.eventTime,
    s: t.symbol,
    c: formatDecimal(t.last),
    o: formatDecimal(t.open),
    h: formatDecimal(t.high),
    l: formatDecimal(t.low),
    v: formatDecimal(t.volume),
    q: formatDecimal(t.quoteVolume),
  };
}

function encodeFrame(stream: string, data: object): Frame {
  const raw = JSON.stringify(data);
  return {
    raw: Buffer.from(raw),
    combined: Buffer.from(`{"stream":${JSON.stringify(stream)},"data":${raw}}`),
  };
}

/** Binance accepts a 64-bit integer, an alphanumeric string of up to 36 characters, or null. */
function isValidId(id: unknown): boolean {
  return (
    id === null ||
    (typeof id === 'number' && Number.isInteger(id)) ||
    (typeof id === 'string' && ID_PATTERN.test(id))
  );
}
