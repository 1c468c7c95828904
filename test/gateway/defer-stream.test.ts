import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type ExecutionPayload, firstSseEvents, multipartPayloads } from '../helpers/yoga-stream.js';

// @defer and @stream (Yoga's defer-stream plugin): the quick part of an answer first, the slow parts
// (candles, signals) as they resolve, over multipart/mixed or SSE incremental delivery.

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(async () => {
  await t.close();
});

const DEFERRED = `{
  asset(by: { id: "bitcoin" }) {
    name
    price { value }
    ... @defer(label: "history") {
      candles(interval: D1, first: 5) { edges { node { openTime close } } }
      signals(kinds: [RSI]) { kind direction }
    }
  }
}`;

/** Everything the deferred parts carried, merged per path. */
function incremental(parts: ExecutionPayload[]) {
  return parts.slice(1).flatMap((p) => p.incremental ?? []);
}

describe('@defer', () => {
  it('sends the initial payload, then the deferred candles and signals, over multipart/mixed', async () => {
    const { contentType, parts } = await multipartPayloads(t.gateway, { query: DEFERRED });
    expect(contentType).toMatch(/^multipart\/mixed/);
    expect(parts.length).toBeGreaterThanOrEqual(2);

    const [initial] = parts;
    expect(initial!.errors).toBeUndefined();
    expect(initial!.hasNext).toBe(true);
    const asset = initial!.data!.asset as Record<string, unknown>;
    expect(asset.name).toBe('Bitcoin');
    expect(asset).not.toHaveProperty('candles');
    expect(asset).not.toHaveProperty('signals');

    const deferred = incremental(parts);
    expect(deferred).toHaveLength(1);
    expect(deferred[0]!.path).toEqual(['asset']);
    const data = deferred[0]!.data as {
      candles: { edges: Array<{ node: { openTime: string; close: number } }> };
      signals: Array<{ kind: string }>;
    };
    expect(data.candles.edges).toHaveLength(5);
    expect(data.candles.edges.every((e) => e.node.close > 0)).toBe(true);
    expect(data.signals.map((s) => s.kind)).toEqual(['RSI']);
    expect(parts.at(-1)!.hasNext).toBe(false);
  });

  it('does the same over SSE', async () => {
    const events = await firstSseEvents(t.gateway, { query: DEFERRED }, 10);
    expect((events[0]!.data!.asset as Record<string, unknown>).name).toBe('Bitcoin');
    expect(events[0]!.data!.asset).not.toHaveProperty('candles');
    expect(events[0]!.hasNext).toBe(true);
    const deferred = incremental(events);
    expect(deferred.map((d) => Object.keys(d.data ?? {}).sort())).toEqual([['candles', 'signals']]);
    expect(events.at(-1)!.hasNext).toBe(false);
  });

  it('answers 406 to a client that accepts neither multipart/mixed nor SSE (Yoga cannot send it in one piece)', async () => {
    const response = await t.gateway.yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
      },
      body: JSON.stringify({ query: DEFERRED }),
    });
    expect(response.status).toBe(406);
  });

  it('counts deferred fields against the cost limit as if they were not deferred', async () => {
    const costly = (defer: string) => `{
      assets(first: 250) { edges { node { id ... ${defer} { signals { kind } quotes { value } candles { edges { cursor } } } } } }
    }`;
    const plain = await t.query(costly(''));
    const { parts } = await multipartPayloads(t.gateway, { query: costly('@defer') });
    expect(parts).toHaveLength(1);
    for (const errors of [plain.body.errors, parts[0]!.errors]) {
      expect((errors as Array<{ extensions?: { code?: string } }>)[0]!.extensions?.code).toBe(
        'COST_LIMIT_EXCEEDED',
      );
    }
    expect(parts[0]!.errors).toEqual(plain.body.errors);
  });
});

describe('@stream', () => {
  it('sends the first items of a list, then the rest', async () => {
    const { parts } = await multipartPayloads(t.gateway, {
      query:
        '{ signals(assetIds: ["bitcoin", "ethereum"], kinds: [RSI]) @stream(initialCount: 1) { assetId kind } }',
    });
    expect(parts[0]!.data!.signals).toEqual([{ assetId: 'bitcoin', kind: 'RSI' }]);
    expect(parts[0]!.hasNext).toBe(true);
    const streamed = incremental(parts).flatMap((i) => i.items ?? []);
    expect(streamed).toEqual([{ assetId: 'ethereum', kind: 'RSI' }]);
  });
});
