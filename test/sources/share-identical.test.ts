import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Http, HttpCall } from '../../src/http/types.js';
import { shareIdentical } from '../../src/sources/share-identical.js';

// Identical calls in flight at once are sent once; anything that changes the request (query, headers,
// schema) is a call of its own, and a call that has settled is not reused.

const schema = z.array(z.number());
const call = (
  query: Record<string, string>,
  extra: Partial<HttpCall<number[]>> = {},
): HttpCall<number[]> => ({
  provider: 'binance',
  endpoint: 'ticker/price',
  path: '/api/v3/ticker/price',
  query,
  schema,
  ...extra,
});

function recordingHttp() {
  const sent: Array<HttpCall<unknown>> = [];
  const pending: Array<(value: unknown) => void> = [];
  const http: Http = {
    get: <T>(c: HttpCall<T>) => {
      sent.push(c as HttpCall<unknown>);
      return new Promise<T>((resolve) => pending.push(resolve as (value: unknown) => void));
    },
    health: () => {
      throw new Error('not used');
    },
    close: async () => {},
  };
  return {
    http,
    sent,
    settle: (value: unknown) => {
      for (const resolve of pending.splice(0)) resolve(value);
    },
  };
}

describe('shareIdentical', () => {
  it('sends identical calls in flight once, query order aside, and hands every caller the answer', async () => {
    const { http, sent, settle } = recordingHttp();
    const shared = shareIdentical(http);
    const a = shared.get(call({ symbols: '["BTCUSDT"]', type: 'MINI' }));
    const b = shared.get(call({ type: 'MINI', symbols: '["BTCUSDT"]' }));
    expect(sent).toHaveLength(1);
    settle([1]);
    expect(await a).toEqual([1]);
    expect(await b).toEqual([1]);
  });

  it('sends calls that differ in query, headers or schema apart, and a settled call again', async () => {
    const { http, sent, settle } = recordingHttp();
    const shared = shareIdentical(http);
    void shared.get(call({ symbols: 'A' }));
    void shared.get(call({ symbols: 'B' }));
    void shared.get(call({ symbols: 'A' }, { headers: { 'x-key': '1' } }));
    void shared.get(call({ symbols: 'A' }, { schema: z.array(z.number()) }));
    expect(sent).toHaveLength(4);
    settle([1]);
    await new Promise((resolve) => setImmediate(resolve));
    void shared.get(call({ symbols: 'A' }));
    expect(sent).toHaveLength(5);
  });

  it('hands a failure to every caller that joined, and lets the next call try again', async () => {
    let calls = 0;
    const failing: Http = {
      get: async () => {
        calls += 1;
        throw new Error('down');
      },
      health: () => {
        throw new Error('not used');
      },
      close: async () => {},
    };
    const shared = shareIdentical(failing);
    const results = await Promise.allSettled([shared.get(call({ s: 'A' })), shared.get(call({ s: 'A' }))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(calls).toBe(1);
    await expect(shared.get(call({ s: 'A' }))).rejects.toThrow('down');
    expect(calls).toBe(2);
  });
});
