import { z } from 'zod';
import { AUTH_SETTINGS } from './auth.js';
import { FRONT_DOOR_SETTINGS, TRUSTED_DOCUMENT_SETTINGS } from './front-door.js';
import {
  bool,
  httpUrl,
  nonEmpty,
  oneOf,
  providerSetting,
  redisPrefix,
  redisUrl,
  setting,
  wholeNumber,
  wsUrl,
} from './setting.js';
import { OTEL_SETTINGS } from './tracing.js';
import { UPSTREAMS, type UpstreamName } from './upstreams.js';

// Every setting, once: its variable, parser, default, README text and whether it is a secret. The
// table's shape is Config's shape (src/config.ts builds Config from it and fails to compile when they
// part), and its order is README's configuration table's order (`npm run docs:config` writes it).
// Adding a setting: docs/architecture.md, "Configuration".

/** Providers that refuse service without a key stay off until one is set. */
const KEY_REQUIRED = new Set<UpstreamName>(['tokenmetrics', 'coincap', 'etherscan']);

const LIVE_URLS: Record<UpstreamName, string> = {
  coingecko: 'https://api.coingecko.com/api/v3',
  binance: 'https://api.binance.com',
  defillama: 'https://api.llama.fi',
  mempool: 'https://mempool.space/api',
  tokenmetrics: 'https://api.tokenmetrics.com/v2',
  coincap: 'https://rest.coincap.io/v3',
  etherscan: 'https://api.etherscan.io/v2/api',
};
const LIVE_WS_URLS: Partial<Record<UpstreamName, string>> = {
  binance: 'wss://data-stream.binance.vision',
};

/** Requests per minute we allow ourselves, sized to each provider's documented free tier. */
const DEFAULT_RPM: Record<UpstreamName, number> = {
  coingecko: 30, // keyless/Demo free tier counts failed calls too
  binance: 1200, // 6000 weight/min; our calls weigh ≤ 4
  defillama: 300, // ~500/min soft limit
  mempool: 60, // undisclosed; HTML 429 and bans for repeat offenders
  tokenmetrics: 60,
  coincap: 600,
  etherscan: 180, // 3 calls/s on the free plan
};

const ttl = (env: string, max: number, fallback: number, doc: string) =>
  setting({ env, parse: wholeNumber(0, max), default: fallback, doc });

/** Rows of one provider, read as MARKETGRAPH_<P>_<env>; in ProviderConfig's shape, `name` aside. */
export const PROVIDER_SETTINGS = {
  // First: the `enabled` default reads it.
  key: providerSetting<string | undefined>({
    env: 'KEY',
    parse: nonEmpty,
    default: ({ endpoint }) => endpoint?.key,
    shown: '—',
    doc: 'API key (CoinGecko demo/pro, Token Metrics, CoinCap, Etherscan); the sandbox supplies demo keys',
    secret: true,
  }),
  url: providerSetting({
    env: 'URL',
    parse: httpUrl,
    default: ({ profile, provider, endpoint }) =>
      (profile === 'live' ? LIVE_URLS[provider] : '') || endpoint?.url || '',
    shown: "live: the provider's; sandbox: the embedded one",
    doc: 'REST base URL of provider `<P>`',
  }),
  wsUrl: providerSetting({
    env: 'WS_URL',
    parse: wsUrl,
    default: ({ profile, provider, endpoint }) =>
      (profile === 'live' ? (LIVE_WS_URLS[provider] ?? '') : '') || endpoint?.wsUrl || '',
    shown: 'live: `wss://data-stream.binance.vision` for `BINANCE`',
    doc: 'WebSocket base of provider `<P>` (only Binance streams: its combined-stream base)',
  }),
  enabled: providerSetting({
    env: 'ENABLED',
    parse: bool,
    default: ({ provider, key }) => !KEY_REQUIRED.has(provider) || key !== undefined,
    shown: 'on; keyed providers on only with a key',
    doc: 'turn a provider off (`false`) or on',
  }),
  rpm: providerSetting({
    env: 'RPM',
    parse: wholeNumber(1, 1_000_000),
    default: ({ provider }) => DEFAULT_RPM[provider],
    shown: UPSTREAMS.map((p) => `${p} ${DEFAULT_RPM[p]}`).join(', '),
    doc: 'requests per minute we allow ourselves (queued, then shed, before the provider says 429)',
  }),
};

/** Every other setting, in Config's shape (`providers` is PROVIDER_SETTINGS once per provider). */
export const SETTINGS = {
  // First: other defaults may depend on the profile.
  profile: setting({
    env: 'MARKETGRAPH_PROFILE',
    flag: { name: 'profile', value: 'sandbox|live' },
    parse: oneOf(['sandbox', 'live']),
    default: 'sandbox',
    doc: '`sandbox`: start the embedded providers and use them; `live`: the real providers',
  }),
  host: setting({
    env: 'MARKETGRAPH_HOST',
    flag: { name: 'host', value: 'ADDR' },
    parse: nonEmpty,
    default: '127.0.0.1',
    doc: 'listen address',
  }),
  port: setting({
    env: 'MARKETGRAPH_PORT',
    flag: { name: 'port', value: 'N' },
    parse: wholeNumber(0, 65_535),
    default: 4000,
    doc: 'listen port (`0` = any free port)',
  }),
  workers: setting({
    env: 'MARKETGRAPH_WORKERS',
    flag: { name: 'workers', value: 'N' },
    parse: wholeNumber(1, 64),
    default: 1,
    doc: 'gateway processes sharing the port (node:cluster, 1–64); see [Production](#production)',
  }),
  shutdownGraceMs: setting({
    env: 'MARKETGRAPH_SHUTDOWN_GRACE_MS',
    parse: wholeNumber(0, 600_000),
    default: 10_000,
    doc: 'on SIGTERM/SIGINT, how long requests in flight and subscribers get before they are cut',
  }),
  compression: setting({
    env: 'MARKETGRAPH_COMPRESSION',
    parse: bool,
    default: true,
    doc: 'gzip/brotli for answers of 1 KiB or more, and the GraphiQL page (`false` when a proxy in front compresses)',
  }),
  server: {
    headersTimeoutMs: setting({
      env: 'MARKETGRAPH_HEADERS_TIMEOUT_MS',
      parse: wholeNumber(10, 600_000),
      default: 10_000,
      doc: "a request's headers must arrive within this (at most the request timeout)",
    }),
    requestTimeoutMs: setting({
      env: 'MARKETGRAPH_REQUEST_TIMEOUT_MS',
      parse: wholeNumber(10, 3_600_000),
      default: 30_000,
      doc: 'a whole request, body included, must arrive within this (responses are not bounded)',
    }),
    keepAliveTimeoutMs: setting({
      env: 'MARKETGRAPH_KEEP_ALIVE_TIMEOUT_MS',
      parse: wholeNumber(10, 600_000),
      default: 5_000,
      doc: 'an idle keep-alive connection is closed after this',
    }),
    maxConnections: setting({
      env: 'MARKETGRAPH_MAX_CONNECTIONS',
      parse: wholeNumber(1, 1_000_000),
      default: 10_000,
      doc: 'open client connections (HTTP, SSE, WebSocket); more are answered 503',
    }),
    maxConnectionsPerAddress: setting({
      env: 'MARKETGRAPH_MAX_CONNECTIONS_PER_ADDRESS',
      parse: wholeNumber(0, 1_000_000),
      default: 0,
      doc: 'open client connections one address may hold, loopback and trusted proxies exempt (`0`: a quarter of `MARKETGRAPH_MAX_CONNECTIONS`); more are answered 503',
    }),
  },
  ws: {
    initTimeoutMs: setting({
      env: 'MARKETGRAPH_WS_INIT_TIMEOUT_MS',
      parse: wholeNumber(10, 600_000),
      default: 3_000,
      doc: 'a graphql-ws socket must send `connection_init` within this',
    }),
    maxSubscriptions: setting({
      env: 'MARKETGRAPH_WS_MAX_SUBSCRIPTIONS',
      parse: wholeNumber(1, 100_000),
      default: 100,
      doc: 'operations a graphql-ws socket may run at once',
    }),
    maxMessageBytes: setting({
      env: 'MARKETGRAPH_WS_MAX_MESSAGE_BYTES',
      parse: wholeNumber(1024, 104_857_600),
      default: 1_048_576,
      doc: 'largest WebSocket message accepted',
    }),
  },
  logLevel: setting({
    env: 'MARKETGRAPH_LOG_LEVEL',
    parse: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
    doc: '`fatal` `error` `warn` `info` `debug` `trace` `silent` (JSON logs, pino)',
  }),
  redisUrl: setting<string | undefined>({
    env: 'REDIS_URL',
    parse: redisUrl,
    default: undefined,
    doc: '`redis://…`: shared cache, shared quota buckets and cross-process live events (scale-out); optional at run time, see [Redis](#redis)',
  }),
  redis: {
    prefix: setting({
      env: 'MARKETGRAPH_REDIS_PREFIX',
      parse: redisPrefix,
      default: 'marketgraph:',
      doc: 'prefix of every Redis key and channel (a `:` is appended if missing); give each deployment sharing a Redis its own',
    }),
    timeoutMs: setting({
      env: 'MARKETGRAPH_REDIS_TIMEOUT_MS',
      parse: wholeNumber(1, 10_000),
      default: 500,
      doc: 'budget of one Redis call (cache read or write, quota bucket, lease, publish); past it the caller carries on without Redis',
    }),
    connectTimeoutMs: setting({
      env: 'MARKETGRAPH_REDIS_CONNECT_TIMEOUT_MS',
      parse: wholeNumber(10, 60_000),
      default: 2_000,
      doc: 'Redis connect timeout (reconnects back off up to 2 s, for ever)',
    }),
  },
  providers: PROVIDER_SETTINGS,
  http: {
    deadlineMs: setting({
      env: 'MARKETGRAPH_UPSTREAM_DEADLINE_MS',
      parse: wholeNumber(1, 120_000),
      default: 8_000,
      doc: 'whole-call budget per upstream call, retries and waits included',
    }),
    connectTimeoutMs: setting({
      env: 'MARKETGRAPH_CONNECT_TIMEOUT_MS',
      parse: wholeNumber(1, 60_000),
      default: 3_000,
      doc: 'TCP/TLS connect timeout',
    }),
    maxRetries: setting({
      env: 'MARKETGRAPH_UPSTREAM_RETRIES',
      parse: wholeNumber(0, 10),
      default: 2,
      doc: 'retries for idempotent calls (network errors, 429, 5xx)',
    }),
    breakerThreshold: setting({
      env: 'MARKETGRAPH_BREAKER_THRESHOLD',
      parse: wholeNumber(1, 1000),
      default: 5,
      doc: "consecutive failures that open a provider's circuit",
    }),
    breakerHalfOpenAfterMs: setting({
      env: 'MARKETGRAPH_BREAKER_HALF_OPEN_MS',
      parse: wholeNumber(10, 3_600_000),
      default: 15_000,
      doc: 'how long a circuit stays open before one probe',
    }),
  },
  cache: {
    maxBytes: setting({
      env: 'MARKETGRAPH_CACHE_MAX_BYTES',
      parse: wholeNumber(1_048_576, 17_179_869_184),
      default: 33_554_432,
      shown: '`33554432` (32 MiB)',
      doc: 'bound of the in-process cache tier, in estimated heap bytes (1 MiB to 16 GiB); least recently used entries go first',
    }),
    maxEntries: setting({
      env: 'MARKETGRAPH_CACHE_MAX_ENTRIES',
      parse: wholeNumber(10, 10_000_000),
      default: 50_000,
      doc: 'bound of the in-process cache tier, in entries',
    }),
    ttl: {
      price: ttl('MARKETGRAPH_TTL_PRICE_MS', 86_400_000, 15_000, 'freshness of spot quotes'),
      market: ttl('MARKETGRAPH_TTL_MARKET_MS', 86_400_000, 60_000, 'freshness of market data and rankings'),
      candles: ttl('MARKETGRAPH_TTL_CANDLES_MS', 86_400_000, 300_000, 'freshness of candle windows'),
      metadata: ttl(
        'MARKETGRAPH_TTL_METADATA_MS',
        604_800_000,
        3_600_000,
        'freshness of catalogues and id maps',
      ),
      onchain: ttl('MARKETGRAPH_TTL_ONCHAIN_MS', 86_400_000, 30_000, 'freshness of on-chain metrics'),
      signals: ttl('MARKETGRAPH_TTL_SIGNALS_MS', 86_400_000, 600_000, 'freshness of provider signals'),
    },
    staleMs: setting({
      env: 'MARKETGRAPH_CACHE_STALE_MS',
      parse: wholeNumber(0, 604_800_000),
      default: 3_600_000,
      doc: 'how long past its TTL a value may still be served (flagged `stale`) when its provider fails',
    }),
  },
  limits: {
    /** Not a setting: the schema's `first` maximum, documented with it. */
    maxPageSize: 250,
    maxCost: setting({
      env: 'MARKETGRAPH_MAX_COST',
      parse: wholeNumber(1, 100_000),
      default: 50,
      doc: 'cost limit per operation: the upstream calls it can cause, counted with the real batch sizes (`COST_LIMIT_EXCEEDED` above it, before any call)',
    }),
    /** Refused with a pointer to its replacement: its units were items × work, not upstream calls. */
    maxComplexity: setting<undefined>({
      env: 'MARKETGRAPH_MAX_COMPLEXITY',
      parse: z
        .string()
        .refine(() => false, {
          message: 'replaced by MARKETGRAPH_MAX_COST, which counts estimated upstream calls (default 50)',
        })
        .transform(() => undefined),
      default: undefined,
      shown: 'removed',
      doc: 'removed: use `MARKETGRAPH_MAX_COST` (setting it stops start-up with that message)',
    }),
    executionTimeoutMs: setting({
      env: 'MARKETGRAPH_EXECUTION_TIMEOUT_MS',
      parse: wholeNumber(10, 600_000),
      default: 15_000,
      doc: "a request's execution is abandoned after this (`EXECUTION_TIMEOUT`, 504), its upstream calls with it",
    }),
    maxBodyBytes: setting({
      env: 'MARKETGRAPH_MAX_BODY_BYTES',
      parse: wholeNumber(1_024, 100_000_000),
      default: 1_000_000,
      doc: 'request body limit, bytes (413 above it)',
    }),
    maxDocumentBytes: setting({
      env: 'MARKETGRAPH_MAX_DOCUMENT_BYTES',
      parse: wholeNumber(256, 10_000_000),
      default: 32_768,
      doc: 'GraphQL document limit, UTF-8 bytes',
    }),
    // Bounded so that nothing recursive downstream (validation rules, the cost walk) can run out of stack.
    maxTokens: setting({
      env: 'MARKETGRAPH_MAX_TOKENS',
      parse: wholeNumber(10, 20_000),
      default: 2_000,
      doc: 'tokens per document (10-20000)',
    }),
    maxDepth: setting({
      env: 'MARKETGRAPH_MAX_DEPTH',
      parse: wholeNumber(1, 50),
      default: 12,
      doc: 'selection depth (1-50)',
    }),
    maxAliases: setting({
      env: 'MARKETGRAPH_MAX_ALIASES',
      parse: wholeNumber(0, 1_000),
      default: 30,
      doc: 'aliases per operation',
    }),
    maxDirectives: setting({
      env: 'MARKETGRAPH_MAX_DIRECTIVES',
      parse: wholeNumber(0, 1_000),
      default: 50,
      doc: 'directives per operation',
    }),
    maxNodes: setting({
      env: 'MARKETGRAPH_MAX_NODES',
      parse: wholeNumber(10, 100_000),
      default: 1_000,
      doc: 'fields per operation, fragments expanded',
    }),
    documentCacheBytes: setting({
      env: 'MARKETGRAPH_DOCUMENT_CACHE_BYTES',
      parse: wholeNumber(0, 1_000_000_000),
      default: 16_000_000,
      doc: 'parse/validation cache budget, estimated heap bytes (`0` = off)',
    }),
    maxUpstreamCallsPerRequest: setting({
      env: 'MARKETGRAPH_MAX_UPSTREAM_CALLS_PER_REQUEST',
      parse: wholeNumber(1, 100_000),
      default: 100,
      doc: 'upstream calls one request may make, all providers together, retries included',
    }),
    maxCandleRowsPerRequest: setting({
      env: 'MARKETGRAPH_MAX_CANDLE_ROWS_PER_REQUEST',
      parse: wholeNumber(1, 10_000_000),
      default: 50_000,
      doc: 'candle rows one request may ask providers for (windows fetched, after merging)',
    }),
    maxQuotaSharePerRequest: setting({
      env: 'MARKETGRAPH_MAX_QUOTA_SHARE_PER_REQUEST',
      parse: wholeNumber(1, 100),
      default: 25,
      doc: "percent of each provider's per-minute quota one request may spend, and that the live feeds leave to requests (`100`: no reservation)",
    }),
  },
  responseCache: {
    enabled: setting({
      env: 'MARKETGRAPH_RESPONSE_CACHE',
      parse: bool,
      default: true,
      doc: 'serve repeated reads from whole stored answers, with HTTP caching headers (`false`: every request executes)',
    }),
    maxBytes: setting({
      env: 'MARKETGRAPH_RESPONSE_CACHE_MAX_BYTES',
      parse: wholeNumber(65_536, 4_294_967_296),
      default: 33_554_432,
      shown: '`33554432` (32 MiB)',
      doc: 'memory bound of the response cache; answers larger than an eighth of it are not stored',
    }),
  },
  /** CORS, introspection, GraphiQL (src/config/front-door.ts); Config.frontDoor is derived from them. */
  frontDoor: FRONT_DOOR_SETTINGS,
  /** Operations allowed by hash (src/trust/); Config.trustedDocuments is derived from them. */
  trustedDocuments: TRUSTED_DOCUMENT_SETTINGS,
  /** Client identity, scopes and budgets (src/config/auth.ts); Config.auth is derived from them. */
  auth: AUTH_SETTINGS,
  batching: {
    limit: setting({
      env: 'MARKETGRAPH_BATCH_LIMIT',
      parse: wholeNumber(0, 100),
      default: 0,
      doc: 'GraphQL over HTTP batching: operations per JSON-array request (`0` = batches refused; at most 100); each operation passes every limit and gets its own upstream budget',
    }),
  },
  /** The MCP server for agents (src/mcp/): Streamable HTTP at /mcp, and stdio with `npm run mcp`. */
  mcp: {
    enabled: setting({
      env: 'MARKETGRAPH_MCP',
      parse: bool,
      default: true,
      doc: "serve MCP (Streamable HTTP) at `/mcp` on the gateway's port; see [Agents (MCP)](#agents-mcp)",
    }),
    operationsFile: setting({
      env: 'MARKETGRAPH_MCP_OPERATIONS',
      parse: nonEmpty,
      default: '',
      shown: 'the shipped `mcp/operations.json`',
      doc: 'trusted-documents manifest (`"sha256:<hash>": document`) whose `# @mcp` operations become the MCP tools',
    }),
    byDocumentId: setting({
      env: 'MARKETGRAPH_MCP_BY_DOCUMENT_ID',
      parse: bool,
      default: false,
      doc: "send a tool's operation as `documentId` only (for a gateway serving that manifest as trusted documents) instead of its text with its persisted-query hash",
    }),
    schemaTools: setting({
      env: 'MARKETGRAPH_MCP_SCHEMA_TOOLS',
      parse: bool,
      default: true,
      doc: 'offer the `describe_type` and `run_graphql` tools (arbitrary documents, still under every rule of `/graphql`)',
    }),
    apiKey: setting<string | undefined>({
      env: 'MARKETGRAPH_MCP_API_KEY',
      parse: nonEmpty,
      default: undefined,
      shown: '—',
      doc: 'API key the stdio server (`npm run mcp`) sends as `Authorization: Bearer <key>`',
      secret: true,
    }),
    notifyThrottleMs: setting({
      env: 'MARKETGRAPH_MCP_NOTIFY_THROTTLE_MS',
      parse: wholeNumber(0, 3_600_000),
      default: 1_000,
      doc: 'at most one price-resource notification per resource per this many ms (`0`: every change)',
    }),
    maxSessions: setting({
      env: 'MARKETGRAPH_MCP_MAX_SESSIONS',
      parse: wholeNumber(1, 100_000),
      default: 100,
      doc: 'open MCP sessions over HTTP, one caller (address; loopback exempt) a quarter of them; an `initialize` past either is answered 503 (`Retry-After: 30`)',
    }),
    sessionIdleMs: setting({
      env: 'MARKETGRAPH_MCP_SESSION_IDLE_MS',
      parse: wholeNumber(1_000, 86_400_000),
      default: 600_000,
      doc: 'an MCP session unused for this long is closed (its subscriptions end)',
    }),
    stalledStreamMs: setting({
      env: 'MARKETGRAPH_MCP_STALLED_STREAM_MS',
      parse: wholeNumber(500, 600_000),
      default: 10_000,
      doc: "a session's notification stream (GET) whose client has not taken what was written for this long is closed (the session stays; its client opens a new stream)",
    }),
    maxSubscriptions: setting({
      env: 'MARKETGRAPH_MCP_MAX_SUBSCRIPTIONS',
      parse: wholeNumber(1, 1_000),
      default: 20,
      doc: 'price-resource subscriptions per MCP session',
    }),
  },
  /** OpenTelemetry's standard variables (src/config/tracing.ts); Config.tracing is derived from them. */
  otel: OTEL_SETTINGS,
  sandbox: {
    seed: setting({
      env: 'MARKETGRAPH_SANDBOX_SEED',
      parse: wholeNumber(0, 2 ** 31),
      default: 42,
      doc: 'seed of the simulated market',
    }),
    tickMs: setting({
      env: 'MARKETGRAPH_SANDBOX_TICK_MS',
      parse: wholeNumber(10, 60_000),
      default: 1000,
      doc: "tick period of the sandbox's push streams; its hot REST answers (markets page, simple/price, tickers, CoinCap assets) are computed once per URL per tick",
    }),
  },
};

/** Rules across settings, checked once every row has its value; each returns the error message. */
export const CHECKS: Array<
  (config: { server: { headersTimeoutMs: number; requestTimeoutMs: number } }) => string | undefined
> = [
  // node:http refuses a headers timeout longer than the request timeout.
  ({ server }) =>
    server.headersTimeoutMs > server.requestTimeoutMs
      ? `MARKETGRAPH_HEADERS_TIMEOUT_MS: must not exceed MARKETGRAPH_REQUEST_TIMEOUT_MS (${server.requestTimeoutMs}), got "${server.headersTimeoutMs}"`
      : undefined,
];
