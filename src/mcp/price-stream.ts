import type { IsomorphicHeaders } from '@modelcontextprotocol/sdk/types.js';
import { createParser } from 'eventsource-parser';
import { type AgentError, agentError } from './errors.js';
import { forwardedHeaders, GRAPHQL_URL, type GraphqlError, type GraphqlFetch } from './execute.js';

// One run of the gateway's `priceUpdated` subscription over SSE (through yoga.fetch, with the
// caller's credentials): each price is handed to `onPrice`; the run ends with why it ended, a coded
// error, or with nothing when it was aborted (an unsubscribe or a closed session).

const PRICE_FIELDS = 'assetId value currency change24h source asOf stale';
export const PRICE_READ = `query PriceResource($id: ID!, $currency: Currency) { asset(by: { id: $id }) { price(currency: $currency) { ${PRICE_FIELDS} } } }`;
const SUBSCRIBE = `subscription PriceResource($ids: [ID!]!, $currency: Currency, $throttleMs: Int) { priceUpdated(assetIds: $ids, currency: $currency, throttleMs: $throttleMs) { ${PRICE_FIELDS} } }`;

/** A stream that stopped without an error of its own (cut, or completed by the gateway). */
export const SUBSCRIPTION_ENDED = 'SUBSCRIPTION_ENDED';

export async function streamPrices(request: {
  fetch: GraphqlFetch;
  assetId: string;
  currency: string;
  throttleMs: number;
  headers: IsomorphicHeaders | undefined;
  signal: AbortSignal;
  onPrice: (price: unknown) => void;
}): Promise<AgentError | undefined> {
  const { signal } = request;
  const coded = (error: GraphqlError, retryAfter?: number) => agentError(error, { retryAfter, status: 200 });
  const ended = (message: string) => coded({ message, extensions: { code: SUBSCRIPTION_ENDED } });
  try {
    const response = await request.fetch(GRAPHQL_URL, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        ...forwardedHeaders(request.headers),
      },
      body: JSON.stringify({
        query: SUBSCRIBE,
        variables: { ids: [request.assetId], currency: request.currency, throttleMs: request.throttleMs },
      }),
      signal,
    });
    if (!response.ok || !response.body) {
      const body = (await response.json().catch(() => ({}))) as { errors?: GraphqlError[] };
      const retry = Number(response.headers.get('retry-after') ?? Number.NaN);
      return coded(
        body.errors?.[0] ?? { message: `the gateway answered ${response.status}` },
        Number.isFinite(retry) ? retry : undefined,
      );
    }
    let failure: AgentError | undefined;
    const parser = createParser({
      onEvent(event) {
        if (event.event !== 'next' || failure) return;
        const payload = JSON.parse(event.data) as {
          data?: { priceUpdated?: unknown };
          errors?: GraphqlError[];
        };
        const price = payload.data?.priceUpdated;
        if (price) request.onPrice(price);
        else failure = coded(payload.errors?.[0] ?? { message: 'the subscription answered no price' });
      },
    });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
      if (failure) {
        await reader.cancel().catch(() => undefined);
        return failure;
      }
    }
    return signal.aborted ? undefined : ended('the live price stream ended');
  } catch (error) {
    return signal.aborted ? undefined : ended(`the live price stream failed: ${(error as Error).message}`);
  }
}
