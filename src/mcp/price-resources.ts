import {
  ErrorCode,
  type IsomorphicHeaders,
  type McpError,
  type ReadResourceResult,
} from '@modelcontextprotocol/sdk/types.js';
import type { AgentError } from './errors.js';
import type { GraphqlExecutor, GraphqlFetch } from './execute.js';
import { asMcpError, GatewayMcpError, mcpErrorOf } from './mcp-error.js';
import { PRICE_READ, streamPrices } from './price-stream.js';
import { isRetryable, REAL_TIMERS, resubscribeDelayMs, type Timers } from './resubscribe.js';

// Live prices as MCP resources, `price://<asset id>/<currency>`. Reading one asks the gateway for the
// current price; subscribing to one opens the gateway's own `priceUpdated` subscription (over SSE,
// through yoga.fetch, with the caller's credentials), so it rides the same shared feeds, subscription
// caps and throttling as any other subscriber, and never polls a provider itself. Each event after
// the first (the current value) becomes one `notifications/resources/updated`; a read while subscribed
// answers the latest event.
// A subscription that fails after it started is never dropped silently: the client is sent
// resources/updated and its reads answer the error, while failures another try can fix are
// re-subscribed in the background (backoff, resubscribe.ts) until live again, which is another
// resources/updated. The subscription stays listed until the client unsubscribes.

export const PRICE_TEMPLATE = 'price://{assetId}/{currency}';
const CURRENCIES = new Set(['USD', 'EUR', 'GBP', 'JPY', 'AUD', 'CAD', 'CHF', 'BTC', 'ETH']);

export interface PriceUri {
  uri: string;
  assetId: string;
  currency: string;
}

export function parsePriceUri(uri: string): PriceUri {
  const match = /^price:\/\/([a-z0-9][a-z0-9._-]*)\/([a-z]{3})$/i.exec(uri);
  const currency = match?.[2]?.toUpperCase();
  if (!match || !currency || !CURRENCIES.has(currency))
    throw new GatewayMcpError(
      ErrorCode.InvalidParams,
      `not a price resource: ${JSON.stringify(uri)}; use price://<asset id>/<currency>, e.g. price://bitcoin/usd (currencies: ${[...CURRENCIES].join(', ').toLowerCase()})`,
    );
  return { uri, assetId: match[1]!.toLowerCase(), currency };
}

export interface PriceResources {
  read(uri: string, headers: IsomorphicHeaders | undefined): Promise<ReadResourceResult>;
  /**
   * Resolves once the first event (the current price) arrived, or after FIRST_EVENT_WAIT_MS without one
   * (the subscription stays, and its first price is announced with resources/updated); rejects with
   * the gateway's coded error when that comes first.
   */
  subscribe(uri: string, headers: IsomorphicHeaders | undefined): Promise<void>;
  unsubscribe(uri: string): void;
  subscribed(): string[];
  close(): void;
}

export type PriceLog = (
  level: 'warn' | 'info' | 'debug',
  fields: Record<string, unknown>,
  message: string,
) => void;

/** What a failed subscription's reads answer: the gateway's error, and whether it is being retried. */
export interface PriceFailure extends AgentError {
  resubscribing: boolean;
}

interface Entry {
  target: PriceUri;
  /** The credentials it was subscribed with; a re-subscription carries them again. */
  headers: IsomorphicHeaders | undefined;
  latest: unknown;
  /** Set while the subscription is not live; reads answer it. */
  error?: McpError;
  abort?: AbortController;
  timer?: unknown;
  /** Failed re-subscriptions since it was last live. */
  attempt: number;
  /** The subscribe was answered before the first price: that price, or a failure, is announced. */
  answeredEarly?: boolean;
}

/** How long a subscribe waits for the current price before it answers anyway (providers may all be out). */
export const FIRST_EVENT_WAIT_MS = 10_000;

export function createPriceResources(deps: {
  execute: GraphqlExecutor;
  fetch: GraphqlFetch;
  throttleMs: number;
  maxSubscriptions: number;
  /** Called for each price change of a subscribed resource, and when one fails or is live again. */
  onUpdate: (uri: string) => void;
  log?: PriceLog;
  timers?: Timers;
  random?: () => number;
}): PriceResources {
  const live = new Map<string, Entry>();
  const timers = deps.timers ?? REAL_TIMERS;
  const random = deps.random ?? Math.random;
  const log: PriceLog = deps.log ?? (() => undefined);

  const contents = (uri: string, price: unknown): ReadResourceResult => ({
    contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(price) }],
  });
  const current = (entry: Entry) => live.get(entry.target.uri) === entry;

  /** Opens one stream; resolves at its first price (undefined) or with the error that came before one. */
  const open = (entry: Entry): Promise<AgentError | undefined> => {
    const abort = new AbortController();
    entry.abort = abort;
    let started = false;
    let first: (error: AgentError | undefined) => void = () => undefined;
    const firstEvent = new Promise<AgentError | undefined>((resolve) => {
      first = resolve;
    });
    void streamPrices({
      fetch: deps.fetch,
      assetId: entry.target.assetId,
      currency: entry.target.currency,
      throttleMs: deps.throttleMs,
      headers: entry.headers,
      signal: abort.signal,
      onPrice(price) {
        if (abort.signal.aborted) return;
        entry.latest = price;
        if (started) return deps.onUpdate(entry.target.uri);
        started = true;
        first(undefined);
        if (entry.answeredEarly) {
          entry.answeredEarly = false;
          deps.onUpdate(entry.target.uri);
        }
      },
    }).then((error) => {
      abort.abort();
      if (!started) {
        first(error);
        // Nobody awaits this first event any more: the failure goes the way of a later one.
        if (error && entry.answeredEarly && current(entry) && entry.abort === abort) {
          entry.answeredEarly = false;
          failed(entry, error);
        }
        return;
      }
      if (error && current(entry) && entry.abort === abort) failed(entry, error);
    });
    return firstEvent;
  };

  const failed = (entry: Entry, agent: AgentError) => {
    const { uri } = entry.target;
    const { code } = agent;
    const retrying = isRetryable(code);
    const previous = (entry.error?.data as PriceFailure | undefined)?.code;
    entry.latest = undefined;
    entry.error = mcpErrorOf<PriceFailure>({ ...agent, resubscribing: retrying });
    const delayMs = retrying ? resubscribeDelayMs(entry.attempt, agent.retryAfter, random) : undefined;
    // A retry failing the same way again is no news: the client already reads this error.
    if (code !== previous) {
      log(
        'warn',
        { uri, code, ...(delayMs !== undefined ? { resubscribeInMs: delayMs } : {}) },
        retrying
          ? 'MCP price subscription failed; subscribing again'
          : 'MCP price subscription failed; not retrying',
      );
      deps.onUpdate(uri);
    } else log('debug', { uri, code, attempt: entry.attempt }, 'MCP price re-subscription failed');
    if (delayMs === undefined) return;
    entry.attempt += 1;
    entry.timer = timers.set(() => {
      entry.timer = undefined;
      if (current(entry)) void resubscribe(entry);
    }, delayMs);
  };

  const resubscribe = async (entry: Entry) => {
    const error = await open(entry);
    if (!current(entry)) return;
    if (error) return failed(entry, error);
    log('info', { uri: entry.target.uri, attempts: entry.attempt }, 'MCP price subscription live again');
    entry.error = undefined;
    entry.attempt = 0;
    deps.onUpdate(entry.target.uri);
  };

  const stop = (entry: Entry) => {
    if (entry.timer !== undefined) timers.clear(entry.timer);
    entry.timer = undefined;
    entry.abort?.abort();
  };

  return {
    async read(uri, headers) {
      const target = parsePriceUri(uri);
      const held = live.get(target.uri);
      if (held?.error) throw held.error;
      if (held?.latest !== undefined) return contents(uri, held.latest);
      const answer = await deps.execute({
        text: PRICE_READ,
        variables: { id: target.assetId, currency: target.currency },
        headers,
      });
      const price = (answer.data?.asset as { price?: unknown } | null | undefined)?.price;
      if (!price) throw asMcpError(answer.errors?.[0] ?? { message: 'no price' }, answer.retryAfter);
      return contents(uri, price);
    },
    async subscribe(uri, headers) {
      const target = parsePriceUri(uri);
      if (live.has(target.uri)) return;
      if (live.size >= deps.maxSubscriptions)
        throw new GatewayMcpError(
          ErrorCode.InvalidRequest,
          `this session holds ${live.size} price subscriptions, the most it may: unsubscribe from one first`,
        );
      const entry: Entry = { target, headers, latest: undefined, attempt: 0 };
      live.set(target.uri, entry);
      let timer: unknown;
      const waited = new Promise<'waited'>((resolve) => {
        timer = timers.set(() => resolve('waited'), FIRST_EVENT_WAIT_MS);
      });
      const outcome = await Promise.race([open(entry), waited]);
      timers.clear(timer);
      if (outcome === 'waited') {
        entry.answeredEarly = true;
        log(
          'warn',
          { uri },
          'MCP price subscription has no price yet; answered, its first price will be announced',
        );
        return;
      }
      const error = outcome;
      if (!error) return;
      // Refused at once: the client hears it as the answer to its subscribe, and holds nothing.
      if (current(entry)) live.delete(target.uri);
      throw mcpErrorOf(error);
    },
    unsubscribe(uri) {
      const target = parsePriceUri(uri);
      const entry = live.get(target.uri);
      if (entry) stop(entry);
      live.delete(target.uri);
    },
    subscribed: () => [...live.keys()],
    close() {
      for (const entry of live.values()) stop(entry);
      live.clear();
    },
  };
}
