import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { ProviderName } from './model.js';

// Environment and flags → one validated, frozen Config. Only src/main.ts passes process.env/argv in;
// everything else receives the Config it needs. An invalid value becomes a ConfigError whose message
// names the setting, what is allowed and what was given, so main can print one line and exit 2.

export type UpstreamName = Exclude<ProviderName, 'computed'>;

export const UPSTREAMS: readonly UpstreamName[] = [
  'coingecko',
  'binance',
  'defillama',
  'mempool',
  'tokenmetrics',
  'coincap',
  'etherscan',
];

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

export interface ProviderConfig {
  name: UpstreamName;
  enabled: boolean;
  /** REST base URL; empty in the sandbox profile until the sandbox has started. */
  url: string;
  wsUrl: string;
  key: string | undefined;
  rpm: number;
}

export interface Config {
  profile: 'sandbox' | 'live';
  host: string;
  port: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  redisUrl: string | undefined;
  redis: {
    /** Prefix of every key and channel this gateway uses, ending in ':'. */
    prefix: string;
    /** Budget of one Redis call (cache read/write, quota, lease, publish); past it the caller goes on without Redis. */
    timeoutMs: number;
    connectTimeoutMs: number;
  };
  providers: Record<UpstreamName, ProviderConfig>;
  http: {
    connectTimeoutMs: number;
    /** Whole-call budget including retries and quota waits. */
    deadlineMs: number;
    maxRetries: number;
    breakerThreshold: number;
    breakerHalfOpenAfterMs: number;
  };
  cache: {
    maxEntries: number;
    /** Bound of the in-process cache tier, in estimated bytes (src/cache/estimate-bytes.ts). */
    maxBytes: number;
    /** Fresh lifetime per data kind, ms. */
    ttl: {
      price: number;
      market: number;
      candles: number;
      metadata: number;
      onchain: number;
      signals: number;
    };
    /** How long past its TTL an entry may still be served (while refreshing, or when the provider fails). */
    staleMs: number;
  };
  limits: {
    maxPageSize: number;
    maxComplexity: number;
    /** Upstream attempts one request may send, all providers together (retries count). */
    maxUpstreamCallsPerRequest: number;
    /** Candle rows one request may ask providers for (merged windows counted as fetched). */
    maxCandleRowsPerRequest: number;
    /** Percent of each provider's per-minute quota bucket one request may spend. */
    maxQuotaSharePerRequest: number;
    /** HTTP request body, bytes (Yoga answers 413 above it). */
    maxBodyBytes: number;
    /** GraphQL document text, UTF-8 bytes, checked before parsing. */
    maxDocumentBytes: number;
    /** Lexical tokens per document, counted while parsing. */
    maxTokens: number;
    /** Selection depth (fragments counted as a level). */
    maxDepth: number;
    maxAliases: number;
    maxDirectives: number;
    /** Field selections per operation, fragments expanded. */
    maxNodes: number;
    /** Estimated heap the parse/validation cache may hold, bytes. */
    documentCacheBytes: number;
  };
  /** Whole GraphQL answers kept in memory and served before Yoga (src/response-cache.ts). */
  responseCache: {
    enabled: boolean;
    /** Bound on the bytes held (answer bodies plus their bookkeeping). */
    maxBytes: number;
  };
  sandbox: { seed: number; tickMs: number };
  /** Bounds on client sockets (node:http); see README's limits table. */
  server: {
    /** A request's headers must arrive within this: silent sockets and slowloris are closed (408). */
    headersTimeoutMs: number;
    /** A whole request, body included, must arrive within this; it never bounds a response (SSE streams). */
    requestTimeoutMs: number;
    /** An idle keep-alive connection is closed after this. */
    keepAliveTimeoutMs: number;
    /** Open client connections (HTTP, SSE, WebSocket); more are answered 503 and closed. */
    maxConnections: number;
  };
  /** Gateway processes sharing the port (node:cluster); 1 = this process serves. */
  workers: number;
  /** On SIGTERM/SIGINT, in-flight requests and subscribers get this long to finish before they are cut. */
  shutdownGraceMs: number;
  /** gzip/brotli for responses that benefit (off when a proxy in front compresses). */
  compression: boolean;
  ws: {
    /** A graphql-ws socket must send `connection_init` within this. */
    initTimeoutMs: number;
    /** Operations in flight per graphql-ws socket; more are answered with an `error` message. */
    maxSubscriptions: number;
    /** Largest WebSocket message accepted; a bigger one closes the socket (1009). */
    maxMessageBytes: number;
  };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

export function loadConfig(input: { env?: Env; argv?: string[] } = {}): Config {
  const env = input.env ?? {};
  const flags = parseFlags(input.argv ?? []);
  const read = (name: string, flag?: string) => (flag !== undefined ? flag : env[name]);
  /** Errors name the flag when the value came from one, the variable otherwise. */
  const from = (name: string, flag: string, given?: string) => (given !== undefined ? flag : name);

  const profile = setting(
    from('MARKETGRAPH_PROFILE', '--profile', flags.profile),
    read('MARKETGRAPH_PROFILE', flags.profile),
    z.enum(['sandbox', 'live']),
    'sandbox',
  );
  const providers = {} as Record<UpstreamName, ProviderConfig>;
  for (const name of UPSTREAMS) {
    const prefix = `MARKETGRAPH_${name.toUpperCase()}`;
    const key = setting(`${prefix}_KEY`, env[`${prefix}_KEY`], z.string().min(1), undefined);
    const url = setting(
      `${prefix}_URL`,
      env[`${prefix}_URL`],
      httpUrl,
      profile === 'live' ? LIVE_URLS[name] : '',
    );
    const wsUrl = setting(
      `${prefix}_WS_URL`,
      env[`${prefix}_WS_URL`],
      wsUrlSchema,
      profile === 'live' ? (LIVE_WS_URLS[name] ?? '') : '',
    );
    const rpm = setting(`${prefix}_RPM`, env[`${prefix}_RPM`], positiveInt(1, 1_000_000), DEFAULT_RPM[name]);
    const enabledDefault = !KEY_REQUIRED.has(name) || key !== undefined;
    const enabled = setting(`${prefix}_ENABLED`, env[`${prefix}_ENABLED`], bool, enabledDefault);
    providers[name] = {
      name,
      enabled,
      url: url.replace(/\/+$/, ''),
      wsUrl: wsUrl.replace(/\/+$/, ''),
      key,
      rpm,
    };
  }

  const config: Config = {
    profile,
    host: setting(
      from('MARKETGRAPH_HOST', '--host', flags.host),
      read('MARKETGRAPH_HOST', flags.host),
      z.string().min(1),
      '127.0.0.1',
    ),
    port: setting(
      from('MARKETGRAPH_PORT', '--port', flags.port),
      read('MARKETGRAPH_PORT', flags.port),
      positiveInt(0, 65_535),
      4000,
    ),
    logLevel: setting(
      'MARKETGRAPH_LOG_LEVEL',
      env.MARKETGRAPH_LOG_LEVEL,
      z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
      'info',
    ),
    redisUrl: setting('REDIS_URL', env.REDIS_URL, redisUrl, undefined),
    redis: {
      prefix: setting('MARKETGRAPH_REDIS_PREFIX', env.MARKETGRAPH_REDIS_PREFIX, redisPrefix, 'marketgraph:'),
      timeoutMs: setting(
        'MARKETGRAPH_REDIS_TIMEOUT_MS',
        env.MARKETGRAPH_REDIS_TIMEOUT_MS,
        positiveInt(1, 10_000),
        500,
      ),
      connectTimeoutMs: setting(
        'MARKETGRAPH_REDIS_CONNECT_TIMEOUT_MS',
        env.MARKETGRAPH_REDIS_CONNECT_TIMEOUT_MS,
        positiveInt(10, 60_000),
        2_000,
      ),
    },
    providers,
    http: {
      connectTimeoutMs: setting(
        'MARKETGRAPH_CONNECT_TIMEOUT_MS',
        env.MARKETGRAPH_CONNECT_TIMEOUT_MS,
        positiveInt(1, 60_000),
        3_000,
      ),
      deadlineMs: setting(
        'MARKETGRAPH_UPSTREAM_DEADLINE_MS',
        env.MARKETGRAPH_UPSTREAM_DEADLINE_MS,
        positiveInt(1, 120_000),
        8_000,
      ),
      maxRetries: setting(
        'MARKETGRAPH_UPSTREAM_RETRIES',
        env.MARKETGRAPH_UPSTREAM_RETRIES,
        positiveInt(0, 10),
        2,
      ),
      breakerThreshold: setting(
        'MARKETGRAPH_BREAKER_THRESHOLD',
        env.MARKETGRAPH_BREAKER_THRESHOLD,
        positiveInt(1, 1000),
        5,
      ),
      breakerHalfOpenAfterMs: setting(
        'MARKETGRAPH_BREAKER_HALF_OPEN_MS',
        env.MARKETGRAPH_BREAKER_HALF_OPEN_MS,
        positiveInt(10, 3_600_000),
        15_000,
      ),
    },
    cache: {
      maxEntries: setting(
        'MARKETGRAPH_CACHE_MAX_ENTRIES',
        env.MARKETGRAPH_CACHE_MAX_ENTRIES,
        positiveInt(10, 10_000_000),
        50_000,
      ),
      maxBytes: setting(
        'MARKETGRAPH_CACHE_MAX_BYTES',
        env.MARKETGRAPH_CACHE_MAX_BYTES,
        positiveInt(1_048_576, 17_179_869_184),
        33_554_432,
      ),
      ttl: {
        price: setting(
          'MARKETGRAPH_TTL_PRICE_MS',
          env.MARKETGRAPH_TTL_PRICE_MS,
          positiveInt(0, 86_400_000),
          15_000,
        ),
        market: setting(
          'MARKETGRAPH_TTL_MARKET_MS',
          env.MARKETGRAPH_TTL_MARKET_MS,
          positiveInt(0, 86_400_000),
          60_000,
        ),
        candles: setting(
          'MARKETGRAPH_TTL_CANDLES_MS',
          env.MARKETGRAPH_TTL_CANDLES_MS,
          positiveInt(0, 86_400_000),
          300_000,
        ),
        metadata: setting(
          'MARKETGRAPH_TTL_METADATA_MS',
          env.MARKETGRAPH_TTL_METADATA_MS,
          positiveInt(0, 604_800_000),
          3_600_000,
        ),
        onchain: setting(
          'MARKETGRAPH_TTL_ONCHAIN_MS',
          env.MARKETGRAPH_TTL_ONCHAIN_MS,
          positiveInt(0, 86_400_000),
          30_000,
        ),
        signals: setting(
          'MARKETGRAPH_TTL_SIGNALS_MS',
          env.MARKETGRAPH_TTL_SIGNALS_MS,
          positiveInt(0, 86_400_000),
          600_000,
        ),
      },
      staleMs: setting(
        'MARKETGRAPH_CACHE_STALE_MS',
        env.MARKETGRAPH_CACHE_STALE_MS,
        positiveInt(0, 604_800_000),
        3_600_000,
      ),
    },
    limits: {
      maxPageSize: 250,
      maxComplexity: setting(
        'MARKETGRAPH_MAX_COMPLEXITY',
        env.MARKETGRAPH_MAX_COMPLEXITY,
        positiveInt(1, 1_000_000),
        5_000,
      ),
      maxUpstreamCallsPerRequest: setting(
        'MARKETGRAPH_MAX_UPSTREAM_CALLS_PER_REQUEST',
        env.MARKETGRAPH_MAX_UPSTREAM_CALLS_PER_REQUEST,
        positiveInt(1, 100_000),
        100,
      ),
      maxCandleRowsPerRequest: setting(
        'MARKETGRAPH_MAX_CANDLE_ROWS_PER_REQUEST',
        env.MARKETGRAPH_MAX_CANDLE_ROWS_PER_REQUEST,
        positiveInt(1, 10_000_000),
        50_000,
      ),
      maxQuotaSharePerRequest: setting(
        'MARKETGRAPH_MAX_QUOTA_SHARE_PER_REQUEST',
        env.MARKETGRAPH_MAX_QUOTA_SHARE_PER_REQUEST,
        positiveInt(1, 100),
        25,
      ),
      maxBodyBytes: setting(
        'MARKETGRAPH_MAX_BODY_BYTES',
        env.MARKETGRAPH_MAX_BODY_BYTES,
        positiveInt(1_024, 100_000_000),
        1_000_000,
      ),
      maxDocumentBytes: setting(
        'MARKETGRAPH_MAX_DOCUMENT_BYTES',
        env.MARKETGRAPH_MAX_DOCUMENT_BYTES,
        positiveInt(256, 10_000_000),
        32_768,
      ),
      // Bounded so that nothing recursive downstream (validation rules, the cost walk) can run out of stack.
      maxTokens: setting(
        'MARKETGRAPH_MAX_TOKENS',
        env.MARKETGRAPH_MAX_TOKENS,
        positiveInt(10, 20_000),
        2_000,
      ),
      maxDepth: setting('MARKETGRAPH_MAX_DEPTH', env.MARKETGRAPH_MAX_DEPTH, positiveInt(1, 50), 12),
      maxAliases: setting('MARKETGRAPH_MAX_ALIASES', env.MARKETGRAPH_MAX_ALIASES, positiveInt(0, 1_000), 30),
      maxDirectives: setting(
        'MARKETGRAPH_MAX_DIRECTIVES',
        env.MARKETGRAPH_MAX_DIRECTIVES,
        positiveInt(0, 1_000),
        50,
      ),
      maxNodes: setting('MARKETGRAPH_MAX_NODES', env.MARKETGRAPH_MAX_NODES, positiveInt(10, 100_000), 1_000),
      documentCacheBytes: setting(
        'MARKETGRAPH_DOCUMENT_CACHE_BYTES',
        env.MARKETGRAPH_DOCUMENT_CACHE_BYTES,
        positiveInt(0, 1_000_000_000),
        16_000_000,
      ),
    },
    responseCache: {
      enabled: setting('MARKETGRAPH_RESPONSE_CACHE', env.MARKETGRAPH_RESPONSE_CACHE, bool, true),
      maxBytes: setting(
        'MARKETGRAPH_RESPONSE_CACHE_MAX_BYTES',
        env.MARKETGRAPH_RESPONSE_CACHE_MAX_BYTES,
        positiveInt(65_536, 4_294_967_296),
        33_554_432,
      ),
    },
    sandbox: {
      seed: setting('MARKETGRAPH_SANDBOX_SEED', env.MARKETGRAPH_SANDBOX_SEED, positiveInt(0, 2 ** 31), 42),
      tickMs: setting(
        'MARKETGRAPH_SANDBOX_TICK_MS',
        env.MARKETGRAPH_SANDBOX_TICK_MS,
        positiveInt(10, 60_000),
        1000,
      ),
    },
    server: {
      headersTimeoutMs: setting(
        'MARKETGRAPH_HEADERS_TIMEOUT_MS',
        env.MARKETGRAPH_HEADERS_TIMEOUT_MS,
        positiveInt(10, 600_000),
        10_000,
      ),
      requestTimeoutMs: setting(
        'MARKETGRAPH_REQUEST_TIMEOUT_MS',
        env.MARKETGRAPH_REQUEST_TIMEOUT_MS,
        positiveInt(10, 3_600_000),
        30_000,
      ),
      keepAliveTimeoutMs: setting(
        'MARKETGRAPH_KEEP_ALIVE_TIMEOUT_MS',
        env.MARKETGRAPH_KEEP_ALIVE_TIMEOUT_MS,
        positiveInt(10, 600_000),
        5_000,
      ),
      maxConnections: setting(
        'MARKETGRAPH_MAX_CONNECTIONS',
        env.MARKETGRAPH_MAX_CONNECTIONS,
        positiveInt(1, 1_000_000),
        10_000,
      ),
    },
    workers: setting(
      from('MARKETGRAPH_WORKERS', '--workers', flags.workers),
      read('MARKETGRAPH_WORKERS', flags.workers),
      positiveInt(1, 64),
      1,
    ),
    shutdownGraceMs: setting(
      'MARKETGRAPH_SHUTDOWN_GRACE_MS',
      env.MARKETGRAPH_SHUTDOWN_GRACE_MS,
      positiveInt(0, 600_000),
      10_000,
    ),
    compression: setting('MARKETGRAPH_COMPRESSION', env.MARKETGRAPH_COMPRESSION, bool, true),
    ws: {
      initTimeoutMs: setting(
        'MARKETGRAPH_WS_INIT_TIMEOUT_MS',
        env.MARKETGRAPH_WS_INIT_TIMEOUT_MS,
        positiveInt(10, 600_000),
        3_000,
      ),
      maxSubscriptions: setting(
        'MARKETGRAPH_WS_MAX_SUBSCRIPTIONS',
        env.MARKETGRAPH_WS_MAX_SUBSCRIPTIONS,
        positiveInt(1, 100_000),
        100,
      ),
      maxMessageBytes: setting(
        'MARKETGRAPH_WS_MAX_MESSAGE_BYTES',
        env.MARKETGRAPH_WS_MAX_MESSAGE_BYTES,
        positiveInt(1024, 104_857_600),
        1_048_576,
      ),
    },
  };
  // node:http refuses a headers timeout longer than the request timeout.
  if (config.server.headersTimeoutMs > config.server.requestTimeoutMs) {
    throw new ConfigError(
      `MARKETGRAPH_HEADERS_TIMEOUT_MS: must not exceed MARKETGRAPH_REQUEST_TIMEOUT_MS (${config.server.requestTimeoutMs}), got "${config.server.headersTimeoutMs}"`,
    );
  }
  return deepFreeze(config);
}

export interface ProviderEndpointOverride {
  url: string;
  wsUrl?: string;
  /** A key the endpoint accepts (the sandbox's demo keys); used only when no key is configured. */
  key?: string;
}

/**
 * Returns a copy with providers' URLs (and demo keys) filled in where the config left them empty: the
 * sandbox profile, once the sandbox listens. A keyed provider that gets a key this way is enabled
 * unless MARKETGRAPH_<P>_ENABLED=false said otherwise.
 */
export function withProviderUrls(
  config: Config,
  endpoints: Partial<Record<UpstreamName, ProviderEndpointOverride>>,
  env: Env = {},
): Config {
  const providers = { ...config.providers };
  for (const [name, endpoint] of Object.entries(endpoints) as Array<
    [UpstreamName, ProviderEndpointOverride]
  >) {
    const current = providers[name];
    const key = current.key ?? endpoint.key;
    const explicit = env[`MARKETGRAPH_${name.toUpperCase()}_ENABLED`];
    providers[name] = {
      ...current,
      url: current.url || endpoint.url,
      wsUrl: current.wsUrl || (endpoint.wsUrl ?? ''),
      key,
      enabled: explicit ? current.enabled : !KEY_REQUIRED.has(name) || key !== undefined,
    };
  }
  return deepFreeze({ ...config, providers });
}

function parseFlags(argv: string[]): { port?: string; host?: string; profile?: string; workers?: string } {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        profile: { type: 'string' },
        workers: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    });
    return values;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ConfigError(
      `command line: ${message.split('\n')[0]} (allowed: --port N, --host ADDR, --profile sandbox|live, --workers N, --help, --version)`,
    );
  }
}

function setting<T, D extends T | undefined>(
  name: string,
  raw: string | undefined,
  schema: z.ZodType<T>,
  fallback: D,
): T | D {
  if (raw === undefined || raw === '') return fallback;
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new ConfigError(`${name}: ${issue?.message ?? 'invalid value'}, got ${JSON.stringify(raw)}`);
}

function positiveInt(min: number, max: number) {
  return z
    .string()
    .regex(/^\d+$/, { message: `must be a whole number from ${min} to ${max}` })
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, { message: `must be a whole number from ${min} to ${max}` })
        .max(max, {
          message: `must be a whole number from ${min} to ${max}`,
        }),
    );
}

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const httpUrl = z.string().refine((v) => /^https?:\/\/[^\s]+$/.test(v) && URL.canParse(v), {
  message: 'must be an http(s) URL',
});
const wsUrlSchema = z.string().refine((v) => /^wss?:\/\/[^\s]+$/.test(v) && URL.canParse(v), {
  message: 'must be a ws(s) URL',
});
const redisUrl = z.string().refine((v) => /^rediss?:\/\/[^\s]+$/.test(v) && URL.canParse(v), {
  message: 'must be a redis:// or rediss:// URL',
});

/** Key prefixes end in ':' (added when missing) so one prefix never matches another's keys. */
const redisPrefix = z
  .string()
  .regex(/^[A-Za-z0-9_.:{}-]{1,100}$/, {
    message: 'must be 1 to 100 characters from A-Z a-z 0-9 _ . : { } -',
  })
  .transform((v) => (v.endsWith(':') ? v : `${v}:`));

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
