import { describe, expect, it } from 'vitest';
import type { GraphqlExecutor, GraphqlFetch } from '../../src/mcp/execute.js';
import { createPriceResources, FIRST_EVENT_WAIT_MS, type PriceLog } from '../../src/mcp/price-resources.js';
import { RESUBSCRIBE_BACKOFF } from '../../src/mcp/resubscribe.js';
import { settle } from '../helpers/manual-clock.js';
import { manualTimers } from '../helpers/manual-timers.js';

// A price subscription that fails after it started (src/mcp/price-resources.ts), against a fake
// gateway whose SSE streams the test writes, ends, cuts or refuses: the client is told, reads answer
// the coded error, failures a retry can fix are re-subscribed after a backoff, terminal ones are not,
// and unsubscribe or close leave no timer behind.

const URI = 'price://bitcoin/usd';
const price = (value: number) => ({ assetId: 'bitcoin', value, currency: 'USD', source: 'BINANCE' });
const sse = (payload: unknown) => `event: next\ndata: ${JSON.stringify(payload)}\n\n`;

interface Stream {
  signal: AbortSignal;
  send(payload: unknown): void;
  /** The gateway completes the stream. */
  end(): void;
  /** The connection breaks. */
  cut(): void;
}

/** A gateway whose subscriptions are streams the test drives; `refuse` answers the next ones with an HTTP error. */
function fakeGateway() {
  const streams: Stream[] = [];
  const refusals: Array<{ status: number; code: string; retryAfter?: number }> = [];
  const encoder = new TextEncoder();
  const fetch: GraphqlFetch = async (_url, init) => {
    const refusal = refusals.shift();
    if (refusal)
      return new Response(
        JSON.stringify({ errors: [{ message: 'refused', extensions: { code: refusal.code } }] }),
        {
          status: refusal.status,
          headers: refusal.retryAfter ? { 'retry-after': String(refusal.retryAfter) } : {},
        },
      );
    const signal = init.signal!;
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
      },
    });
    signal.addEventListener('abort', () => controller.error(new DOMException('aborted', 'AbortError')));
    streams.push({
      signal,
      send: (payload) => controller.enqueue(encoder.encode(sse(payload))),
      end: () => {
        controller.enqueue(encoder.encode('event: complete\ndata:\n\n'));
        controller.close();
      },
      cut: () => controller.error(new TypeError('terminated')),
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  };
  return { fetch, streams, refusals, last: () => streams[streams.length - 1]! };
}

function setup(random = () => 0.5) {
  const gateway = fakeGateway();
  const timers = manualTimers();
  const updates: string[] = [];
  const logs: Array<{ level: string; fields: Record<string, unknown> }> = [];
  const log: PriceLog = (level, fields) => void logs.push({ level, fields });
  const execute = (async () => {
    throw new Error('no read should reach the gateway while subscribed');
  }) as unknown as GraphqlExecutor;
  const prices = createPriceResources({
    execute,
    fetch: gateway.fetch,
    throttleMs: 0,
    maxSubscriptions: 5,
    onUpdate: (uri) => void updates.push(uri),
    log,
    timers,
    random,
  });
  const subscribe = async () => {
    const subscribed = prices.subscribe(URI, undefined);
    await settle();
    gateway.last().send({ data: { priceUpdated: price(100) } });
    await subscribed;
  };
  const readPrice = async () =>
    JSON.parse(((await prices.read(URI, undefined)).contents[0] as { text: string }).text);
  const readError = async () => {
    const error = await prices.read(URI, undefined).then(
      () => undefined,
      (e: { data?: Record<string, unknown>; message: string }) => e,
    );
    expect(error, 'the read should answer the error').toBeDefined();
    return error!;
  };
  return { gateway, timers, updates, logs, prices, subscribe, readPrice, readError };
}

describe('MCP price resources when the subscription fails after it started', () => {
  it('a cut stream: resources/updated, reads answer the error, then after the backoff live again with another resources/updated', async () => {
    const { gateway, timers, updates, logs, prices, subscribe, readPrice, readError } = setup();
    await subscribe();
    expect(await readPrice()).toMatchObject({ value: 100 });
    expect(updates).toEqual([]);

    gateway.last().cut();
    await settle();
    expect(updates).toEqual([URI]);
    const error = await readError();
    expect(error.data).toMatchObject({ code: 'SUBSCRIPTION_ENDED', resubscribing: true });
    expect(error.message).toMatch(/SUBSCRIPTION_ENDED: the live price stream failed: terminated/);
    expect(logs.filter((l) => l.level === 'warn')).toEqual([
      { level: 'warn', fields: { uri: URI, code: 'SUBSCRIPTION_ENDED', resubscribeInMs: 500 } },
    ]);
    // Still subscribed: the client did not ask to stop.
    expect(prices.subscribed()).toEqual([URI]);
    expect(timers.pending()).toEqual([500]);
    expect(gateway.streams).toHaveLength(1);

    expect(timers.fire()).toBe(1);
    await settle();
    expect(gateway.streams).toHaveLength(2);
    // Re-subscribed but no event yet: still the error, and no news for the client.
    expect((await readError()).data).toMatchObject({ code: 'SUBSCRIPTION_ENDED' });
    expect(updates).toEqual([URI]);

    gateway.last().send({ data: { priceUpdated: price(101) } });
    await settle();
    expect(updates).toEqual([URI, URI]);
    expect(await readPrice()).toMatchObject({ value: 101 });
    expect(timers.pending()).toEqual([]);
    // Later changes are notified as before.
    gateway.last().send({ data: { priceUpdated: price(102) } });
    await settle();
    expect(updates).toEqual([URI, URI, URI]);
    expect(await readPrice()).toMatchObject({ value: 102 });
    prices.close();
  });

  it.each([
    ['the gateway completing the stream', undefined],
    ['SHUTTING_DOWN', 'SHUTTING_DOWN'],
    ['UPSTREAM_UNAVAILABLE', 'UPSTREAM_UNAVAILABLE'],
    ['UPSTREAM_TIMEOUT', 'UPSTREAM_TIMEOUT'],
  ])('%s is re-subscribed', async (_name, code) => {
    const { gateway, timers, updates, subscribe, readError, readPrice } = setup();
    await subscribe();
    if (code) gateway.last().send({ data: null, errors: [{ message: 'it failed', extensions: { code } }] });
    else gateway.last().end();
    await settle();
    expect(updates).toEqual([URI]);
    expect((await readError()).data).toMatchObject({
      code: code ?? 'SUBSCRIPTION_ENDED',
      resubscribing: true,
    });
    expect(timers.fire()).toBe(1);
    await settle();
    gateway.last().send({ data: { priceUpdated: price(7) } });
    await settle();
    expect(await readPrice()).toMatchObject({ value: 7 });
    expect(updates).toEqual([URI, URI]);
  });

  it('RATE_LIMITED waits at least its retryAfter, and the read says it', async () => {
    const { gateway, timers, subscribe, readError } = setup(() => 0);
    await subscribe();
    gateway.last().send({
      data: null,
      errors: [{ message: 'slow down', extensions: { code: 'RATE_LIMITED', retryAfter: 7 } }],
    });
    await settle();
    expect((await readError()).data).toMatchObject({
      code: 'RATE_LIMITED',
      retryAfter: 7,
      resubscribing: true,
    });
    expect(timers.pending()).toEqual([7_000]);
  });

  it.each(['NOT_FOUND', 'FORBIDDEN', 'UNAUTHENTICATED', 'BAD_USER_INPUT'])(
    '%s is terminal: told once, answered on every read, never retried',
    async (code) => {
      const { gateway, timers, updates, logs, subscribe, readError } = setup();
      await subscribe();
      gateway.last().send({ data: null, errors: [{ message: 'no', extensions: { code } }] });
      await settle();
      expect(updates).toEqual([URI]);
      expect(timers.pending()).toEqual([]);
      for (let i = 0; i < 3; i += 1)
        expect((await readError()).data).toMatchObject({ code, resubscribing: false });
      expect(timers.fire()).toBe(0);
      await settle();
      expect(gateway.streams).toHaveLength(1);
      expect(logs).toEqual([{ level: 'warn', fields: { uri: URI, code } }]);
    },
  );

  it('failed re-subscriptions back off exponentially up to the cap, told and logged once per code', async () => {
    const { gateway, timers, updates, logs, subscribe, readError } = setup(() => 0.999);
    await subscribe();
    gateway.last().cut();
    await settle();
    const waits: number[] = [];
    for (let attempt = 0; attempt < 8; attempt += 1) {
      waits.push(...timers.pending());
      gateway.refusals.push({ status: 503, code: 'UPSTREAM_UNAVAILABLE' });
      timers.fire();
      await settle();
      await settle();
    }
    const ceilings = waits.map((_, i) =>
      Math.min(RESUBSCRIBE_BACKOFF.capMs, RESUBSCRIBE_BACKOFF.baseMs * 2 ** i),
    );
    expect(waits).toEqual(ceilings.map((c) => Math.floor(0.999 * c)));
    expect(Math.max(...waits)).toBeLessThan(RESUBSCRIBE_BACKOFF.capMs);
    expect(gateway.streams).toHaveLength(1);
    // The cut, then the first refusal (a new code): two notifications and two warnings, no more.
    expect(updates).toEqual([URI, URI]);
    expect(logs.filter((l) => l.level === 'warn').map((l) => l.fields.code)).toEqual([
      'SUBSCRIPTION_ENDED',
      'UPSTREAM_UNAVAILABLE',
    ]);
    expect((await readError()).data).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', resubscribing: true });
    // A refusal that turns terminal stops the retries.
    gateway.refusals.push({ status: 403, code: 'FORBIDDEN' });
    timers.fire();
    await settle();
    await settle();
    expect(timers.pending()).toEqual([]);
    expect((await readError()).data).toMatchObject({ code: 'FORBIDDEN', resubscribing: false });
    expect(updates).toHaveLength(3);
  });

  it('unsubscribe during the backoff clears the timer and nothing re-subscribes', async () => {
    const { gateway, timers, prices, subscribe } = setup();
    await subscribe();
    gateway.last().cut();
    await settle();
    expect(timers.pending()).toHaveLength(1);
    prices.unsubscribe(URI);
    expect(timers.pending()).toEqual([]);
    expect(prices.subscribed()).toEqual([]);
    expect(timers.fire()).toBe(0);
    await settle();
    expect(gateway.streams).toHaveLength(1);
  });

  it('close during the backoff, and unsubscribe while a re-subscription is opening, leave nothing running', async () => {
    const a = setup();
    await a.subscribe();
    a.gateway.last().cut();
    await settle();
    expect(a.timers.pending()).toHaveLength(1);
    a.prices.close();
    expect(a.timers.pending()).toEqual([]);

    const b = setup();
    await b.subscribe();
    b.gateway.last().cut();
    await settle();
    b.timers.fire();
    await settle();
    expect(b.gateway.streams).toHaveLength(2);
    b.prices.unsubscribe(URI);
    expect(b.gateway.last().signal.aborted).toBe(true);
    await settle();
    expect(b.timers.pending()).toEqual([]);
    expect(b.updates).toEqual([URI]);
  });

  it('a subscription refused before its first event is the answer to subscribe, not retried', async () => {
    const { gateway, timers, updates, prices } = setup();
    const subscribed = prices.subscribe(URI, undefined);
    await settle();
    gateway
      .last()
      .send({ data: null, errors: [{ message: 'no such asset', extensions: { code: 'NOT_FOUND' } }] });
    await expect(subscribed).rejects.toMatchObject({ data: { code: 'NOT_FOUND' } });
    // A stream cut before its first event is refused the same way.
    const again = prices.subscribe(URI, undefined);
    await settle();
    gateway.last().cut();
    await expect(again).rejects.toMatchObject({ data: { code: 'SUBSCRIPTION_ENDED' } });
    expect(gateway.streams).toHaveLength(2);
    expect(prices.subscribed()).toEqual([]);
    expect(timers.pending()).toEqual([]);
    expect(updates).toEqual([]);
  });

  it('answers a subscribe with no first price after FIRST_EVENT_WAIT_MS, then announces the price when it comes', async () => {
    const { gateway, timers, updates, prices, readPrice } = setup();
    const subscribed = prices.subscribe(URI, undefined);
    await settle();
    expect(timers.pending()).toEqual([FIRST_EVENT_WAIT_MS]);
    timers.fire();
    await subscribed;
    expect(prices.subscribed()).toEqual([URI]);
    expect(updates).toEqual([]);
    gateway.last().send({ data: { priceUpdated: price(101) } });
    await settle();
    expect(updates).toEqual([URI]);
    expect(await readPrice()).toMatchObject({ value: 101 });
    expect(timers.pending()).toEqual([]);
  });

  it('a stream that fails before its first price, after the subscribe was answered, is announced and retried', async () => {
    const { gateway, timers, updates, prices, readError } = setup();
    const subscribed = prices.subscribe(URI, undefined);
    await settle();
    timers.fire();
    await subscribed;
    gateway.last().cut();
    await settle();
    expect(updates).toEqual([URI]);
    expect((await readError()).data).toMatchObject({ code: 'SUBSCRIPTION_ENDED', resubscribing: true });
    expect(timers.pending()).toEqual([500]);
    prices.close();
    expect(timers.pending()).toEqual([]);
  });
});
