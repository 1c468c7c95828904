import {
  ErrorCode,
  type IsomorphicHeaders,
  McpError,
  type ReadResourceResult,
} from '@modelcontextprotocol/sdk/types.js';
import { createParser } from 'eventsource-parser';
import { agentError, describeAgentError } from './errors.js';
import {
  forwardedHeaders,
  GRAPHQL_URL,
  type GraphqlError,
  type GraphqlExecutor,
  type GraphqlFetch,
} from './execute.js';

// Live prices as MCP resources, `price://<asset id>/<currency>`. Reading one asks the gateway for the
// current price; subscribing to one opens the gateway's own `priceUpdated` subscription (over SSE,
// through yoga.fetch, with the caller's credentials), so it rides the same shared feeds, subscription
// caps and throttling as any other subscriber, and never polls a provider itself. Each event after
// the first (the current value) becomes one `notifications/resources/updated`; a read while subscribed
// answers the latest event.

export const PRICE_TEMPLATE = 'price://{assetId}/{currency}';
const CURRENCIES = new Set(['USD', 'EUR', 'GBP', 'JPY', 'AUD', 'CAD', 'CHF', 'BTC', 'ETH']);
const PRICE_FIELDS = 'assetId value currency change24h source asOf stale';
const READ = `query PriceResource($id: ID!, $currency: Currency) { asset(by: { id: $id }) { price(currency: $currency) { ${PRICE_FIELDS} } } }`;
const SUBSCRIBE = `subscription PriceResource($ids: [ID!]!, $currency: Currency, $throttleMs: Int) { priceUpdated(assetIds: $ids, currency: $currency, throttleMs: $throttleMs) { ${PRICE_FIELDS} } }`;

export interface PriceUri {
  uri: string;
  assetId: string;
  currency: string;
}

export function parsePriceUri(uri: string): PriceUri {
  const match = /^price:\/\/([a-z0-9][a-z0-9._-]*)\/([a-z]{3})$/i.exec(uri);
  const currency = match?.[2]?.toUpperCase();
  if (!match || !currency || !CURRENCIES.has(currency))
    throw new McpError(
      ErrorCode.InvalidParams,
      `not a price resource: ${JSON.stringify(uri)}; use price://<asset id>/<currency>, e.g. price://bitcoin/usd (currencies: ${[...CURRENCIES].join(', ').toLowerCase()})`,
    );
  return { uri, assetId: match[1]!.toLowerCase(), currency };
}

export interface PriceResources {
  read(uri: string, headers: IsomorphicHeaders | undefined): Promise<ReadResourceResult>;
  /** Resolves once the first event (the current price) arrived; rejects with the gateway's coded error. */
  subscribe(uri: string, headers: IsomorphicHeaders | undefined): Promise<void>;
  unsubscribe(uri: string): void;
  subscribed(): string[];
  close(): void;
}

export function createPriceResources(deps: {
  execute: GraphqlExecutor;
  fetch: GraphqlFetch;
  throttleMs: number;
  maxSubscriptions: number;
  /** Called for each price change of a subscribed resource. */
  onUpdate: (uri: string) => void;
}): PriceResources {
  const live = new Map<string, { latest: unknown; abort: AbortController }>();

  const contents = (uri: string, price: unknown): ReadResourceResult => ({
    contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(price) }],
  });

  return {
    async read(uri, headers) {
      const target = parsePriceUri(uri);
      const held = live.get(target.uri);
      if (held?.latest !== undefined) return contents(uri, held.latest);
      const answer = await deps.execute({
        text: READ,
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
        throw new McpError(
          ErrorCode.InvalidRequest,
          `this session holds ${live.size} price subscriptions, the most it may: unsubscribe from one first`,
        );
      const abort = new AbortController();
      const entry: { latest: unknown; abort: AbortController } = { latest: undefined, abort };
      live.set(target.uri, entry);
      let first: (error?: McpError) => void = () => undefined;
      const started = new Promise<void>((resolve, reject) => {
        first = (error) => (error ? reject(error) : resolve());
      });
      const fail = (error: McpError) => {
        if (live.get(target.uri) === entry) live.delete(target.uri);
        abort.abort();
        first(error);
      };
      void (async () => {
        const response = await deps.fetch(GRAPHQL_URL, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'text/event-stream',
            ...forwardedHeaders(headers),
          },
          body: JSON.stringify({
            query: SUBSCRIBE,
            variables: { ids: [target.assetId], currency: target.currency, throttleMs: deps.throttleMs },
          }),
          signal: abort.signal,
        });
        if (!response.ok || !response.body) {
          const body = (await response.json().catch(() => ({}))) as { errors?: GraphqlError[] };
          const retry = Number(response.headers.get('retry-after') ?? Number.NaN);
          return fail(
            asMcpError(
              body.errors?.[0] ?? { message: `the gateway answered ${response.status}` },
              Number.isFinite(retry) ? retry : undefined,
            ),
          );
        }
        let events = 0;
        const parser = createParser({
          onEvent(event) {
            if (event.event !== 'next') return;
            const payload = JSON.parse(event.data) as {
              data?: { priceUpdated?: unknown };
              errors?: GraphqlError[];
            };
            const price = payload.data?.priceUpdated;
            if (!price) return fail(asMcpError(payload.errors?.[0] ?? { message: 'the subscription ended' }));
            entry.latest = price;
            events += 1;
            if (events === 1) first();
            else deps.onUpdate(target.uri);
          },
        });
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parser.feed(decoder.decode(value, { stream: true }));
        }
        fail(new McpError(ErrorCode.InternalError, 'the price subscription ended'));
      })().catch((error: unknown) => {
        if (!abort.signal.aborted)
          fail(
            new McpError(ErrorCode.InternalError, `price subscription failed: ${(error as Error).message}`),
          );
      });
      return started;
    },
    unsubscribe(uri) {
      const target = parsePriceUri(uri);
      live.get(target.uri)?.abort.abort();
      live.delete(target.uri);
    },
    subscribed: () => [...live.keys()],
    close() {
      for (const entry of live.values()) entry.abort.abort();
      live.clear();
    },
  };
}

/** A gateway error as a JSON-RPC error whose message is the code, message and hint, and data the rest. */
function asMcpError(error: GraphqlError, retryAfter?: number): McpError {
  const agent = agentError(error, { retryAfter, status: 200 });
  const code =
    agent.code === 'NOT_FOUND' || agent.code === 'BAD_USER_INPUT'
      ? ErrorCode.InvalidParams
      : ErrorCode.InternalError;
  return new McpError(code, describeAgentError(agent), agent);
}
