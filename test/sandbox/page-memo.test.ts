import { describe, expect, it } from 'vitest';
import { JSON_CONTENT_TYPE, type SandboxRequest, type SandboxResponse } from '../../src/sandbox/dialect.js';
import { createPageMemo } from '../../src/sandbox/page-memo.js';

// The memo behind the sandbox's hot REST endpoints, on an injected clock: one computation per URL per
// tick, the same bytes for every caller within it, a fresh computation once the next tick starts.

const TICK = 1000;

function request(pathAndQuery: string): SandboxRequest {
  return { method: 'GET', url: new URL(pathAndQuery, 'http://sandbox'), headers: {}, params: {} };
}

/** A handler that answers with how many times it ran and the clock it saw, so reuse is visible. */
function countingHandler(now: () => number) {
  let calls = 0;
  const handle = (req: SandboxRequest): SandboxResponse => {
    calls++;
    return { headers: { 'x-call': String(calls) }, json: { call: calls, at: now(), q: req.url.search } };
  };
  return { handle, calls: () => calls };
}

describe('page memo', () => {
  it('computes a URL once per tick and serves those bytes to every call within it', () => {
    let clock = 5 * TICK + 10;
    const now = () => clock;
    const memo = createPageMemo({ now, tickMs: TICK });
    const counted = countingHandler(now);
    const handle = memo.wrap(counted.handle);

    const first = handle(request('/prices?ids=a,b'));
    clock = 5 * TICK + 999;
    const second = handle(request('/prices?ids=a,b'));
    expect(counted.calls()).toBe(1);
    expect(second).toEqual(first);
    expect(JSON.parse(first.text!)).toEqual({ call: 1, at: 5 * TICK + 10, q: '?ids=a,b' });
    expect(first.contentType).toBe(JSON_CONTENT_TYPE);
    expect(first.json).toBeUndefined();

    clock = 6 * TICK;
    const next = handle(request('/prices?ids=a,b'));
    expect(counted.calls()).toBe(2);
    expect(JSON.parse(next.text!)).toMatchObject({ call: 2, at: 6 * TICK });
  });

  it('keys on the path and the whole query string', () => {
    const now = () => TICK;
    const memo = createPageMemo({ now, tickMs: TICK });
    const counted = countingHandler(now);
    const handle = memo.wrap(counted.handle);
    handle(request('/prices?ids=a'));
    handle(request('/prices?ids=b'));
    handle(request('/prices?ids=a&x=1'));
    handle(request('/other?ids=a'));
    handle(request('/prices?ids=a'));
    expect(counted.calls()).toBe(4);
    expect(memo.size()).toBe(4);
  });

  it('hands out copies: a caller that decorates its response does not change the next one', () => {
    const memo = createPageMemo({ now: () => TICK, tickMs: TICK });
    const handle = memo.wrap(() => ({ status: 400, headers: { a: '1' }, json: { error: 'bad' } }));
    const first = handle(request('/x'));
    first.headers!.b = '2';
    first.headers = { ...first.headers, c: '3' };
    const second = handle(request('/x'));
    expect(second).toEqual({
      status: 400,
      headers: { a: '1' },
      text: '{"error":"bad"}',
      contentType: JSON_CONTENT_TYPE,
    });
  });

  it('passes text answers through with their own content type', () => {
    const memo = createPageMemo({ now: () => TICK, tickMs: TICK });
    const handle = memo.wrap(() => ({ text: '840000', contentType: 'text/plain' }));
    expect(handle(request('/height'))).toEqual({
      status: undefined,
      headers: undefined,
      text: '840000',
      contentType: 'text/plain',
    });
  });

  it('forgets the oldest URL past maxEntries, and everything when the tick changes', () => {
    let clock = TICK;
    const now = () => clock;
    const memo = createPageMemo({ now, tickMs: TICK, maxEntries: 2 });
    const counted = countingHandler(now);
    const handle = memo.wrap(counted.handle);
    handle(request('/a'));
    handle(request('/b'));
    handle(request('/c'));
    expect(memo.size()).toBe(2);
    handle(request('/c'));
    handle(request('/b'));
    expect(counted.calls()).toBe(3);
    handle(request('/a'));
    expect(counted.calls()).toBe(4);
    clock = 2 * TICK;
    expect(memo.size()).toBe(0);
  });

  it('refuses a tick that is not a positive length', () => {
    expect(() => createPageMemo({ now: () => 0, tickMs: 0 })).toThrow(/tickMs must be > 0, got 0/);
  });
});
