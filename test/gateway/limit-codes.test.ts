import { describe, expect, it } from 'vitest';
import { subscribeSse, subscribeWs, waitFor, wsClient } from '../helpers/clients.js';
import { useListeningGateway } from '../helpers/gateway.js';

// The depth and node-count limits answer with their code on every transport the gateway serves
// (HTTP POST and GET on a socket, SSE, graphql-ws), whichever way the document is deep or wide:
// nested selections, nested brackets past the parser guard, fragment spreads, fragments expanded.

const nested = (n: number) =>
  `{ asset(by: { id: "bitcoin" }) ${'{ sameSymbol '.repeat(n)}{ id }${' }'.repeat(n)} }`;
const spreads = (n: number) =>
  `query { asset(by: { id: "bitcoin" }) { ...F0 } } ${Array.from(
    { length: n },
    (_, i) => `fragment F${i} on Asset { sameSymbol { ${i + 1 < n ? `...F${i + 1}` : 'id'} } }`,
  ).join(' ')}`;
const expanded = `query { asset(by: { id: "bitcoin" }) { ${'...A '.repeat(300)} } } fragment A on Asset { id symbol name rank }`;
const subscriptionExpanded = `subscription { priceUpdated(assetIds: ["bitcoin"]) { ${'...P '.repeat(300)} } } fragment P on Price { value asOf source currency }`;

const CASES: Array<[string, string, string]> = [
  ['nested selections', nested(15), 'DEPTH_LIMIT_EXCEEDED'],
  ['brackets nested past the parser guard', nested(200), 'DEPTH_LIMIT_EXCEEDED'],
  ['fragment spreads', spreads(12), 'DEPTH_LIMIT_EXCEEDED'],
  ['a fragment spread 300 times', expanded, 'NODE_LIMIT_EXCEEDED'],
  ['a subscription spreading a fragment 300 times', subscriptionExpanded, 'NODE_LIMIT_EXCEEDED'],
];

type Coded = { extensions?: { code?: string } };

describe('depth and node-count limits on every transport', () => {
  const gateway = useListeningGateway();

  it.each(CASES)('%s: coded over POST, GET, SSE and graphql-ws', async (_name, query, code) => {
    const codes = (errors: Coded[] | undefined) => (errors ?? []).map((e) => e.extensions?.code);

    const post = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query }),
    });
    expect(post.status).toBe(400);
    expect(codes(((await post.json()) as { errors?: Coded[] }).errors)).toEqual([code]);

    const get = await fetch(`${gateway.url}?query=${encodeURIComponent(query)}`);
    expect(codes(((await get.json()) as { errors?: Coded[] }).errors)).toEqual([code]);

    const sse = subscribeSse(gateway.url, query);
    await sse.done;
    expect(sse.events.map((e) => codes(e.errors as Coded[]))).toEqual([[code]]);

    const client = wsClient(gateway.url);
    const ws = subscribeWs(client, query);
    await waitFor(() => ws.events.length > 0 || ws.failure() !== undefined, 5_000, 'a graphql-ws answer');
    expect(codes((ws.events[0]?.errors ?? ws.failure()) as Coded[])).toEqual([code]);
    await client.dispose();
  });
});
