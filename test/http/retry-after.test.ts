import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { UpstreamError } from '../../src/errors.js';
import type { HttpCall } from '../../src/http/client.js';
import { parseRetryAfter } from '../../src/http/retry-after.js';
import { buildConfig, makeHttp, sendJson, startScriptedServer } from './helpers.js';

const call: HttpCall<unknown> = {
  provider: 'coingecko',
  endpoint: 'simple/price',
  path: '/simple/price',
  schema: z.unknown(),
};
const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((thing) => thing.close()));
});

async function waitUntil(check: () => boolean): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > 2000) throw new Error('condition not met within 2 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-06-01T12:00:00Z');
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('119', now)).toBe(119);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter(['7', '9'], now)).toBe(7);
  });
  it('reads an HTTP-date, rounding up and never negative', () => {
    expect(parseRetryAfter('Sun, 01 Jun 2025 12:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Sun, 01 Jun 2025 11:59:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('Sun, 01 Jun 2025 12:00:01 GMT', now + 500)).toBe(1);
  });
  it('ignores absent or unreadable values', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
  });
});

describe('Retry-After handling', () => {
  it('holds every call to the provider until Retry-After has elapsed, including a concurrent one', async () => {
    let limitedAt = 0;
    const server = await startScriptedServer((_req, res, n) => {
      if (n === 1) {
        limitedAt = Date.now();
        return sendJson(
          res,
          429,
          { status: { error_code: 429, error_message: 'Throttled' } },
          { 'retry-after': '1' },
        );
      }
      sendJson(res, 200, { bitcoin: { usd: 1 } });
    });
    const { http } = makeHttp(
      buildConfig({ MARKETGRAPH_UPSTREAM_DEADLINE_MS: '3000' }, { coingecko: server.url }),
    );
    open.push(server, http);

    const first = http.get(call);
    await waitUntil(() => http.health('coingecko').blockedUntil > 0);
    const second = http.get({ ...call, endpoint: 'coins/markets', path: '/coins/markets' });
    await expect(Promise.all([first, second])).resolves.toHaveLength(2);

    expect(server.requests).toHaveLength(3);
    for (const later of server.requests.slice(1)) expect(later.at - limitedAt).toBeGreaterThanOrEqual(995);
    expect(http.health('coingecko').blockedUntil).toBe(0);
  });

  it('honours an HTTP-date Retry-After', async () => {
    let limitedAt = 0;
    const server = await startScriptedServer((_req, res, n) => {
      if (n > 1) return sendJson(res, 200, {});
      limitedAt = Date.now();
      // HTTP-dates have whole-second resolution: 2 s from now is 1–2 s away once truncated.
      sendJson(res, 429, {}, { 'retry-after': new Date(limitedAt + 2000).toUTCString() });
    });
    const { http } = makeHttp(
      buildConfig({ MARKETGRAPH_UPSTREAM_DEADLINE_MS: '4000' }, { coingecko: server.url }),
    );
    open.push(server, http);
    await http.get(call);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]!.at - limitedAt).toBeGreaterThanOrEqual(995);
  });

  it('fails at once when Retry-After exceeds the deadline, and holds later calls without touching the network', async () => {
    const server = await startScriptedServer((_req, res) => sendJson(res, 429, {}, { 'retry-after': '120' }));
    // A deadline longer than the test's own timeout (20 s) and shorter than the 120 s asked for: a
    // call that waited for either instead of failing at once would fail this test by timing out.
    const { http, metrics } = makeHttp(
      buildConfig({ MARKETGRAPH_UPSTREAM_DEADLINE_MS: '60000' }, { coingecko: server.url }),
    );
    open.push(server, http);

    const error = (await http.get(call).catch((e: unknown) => e)) as UpstreamError;
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ code: 'UPSTREAM_RATE_LIMITED', details: { retryAfter: 120, status: 429 } });

    const later = (await http.get(call).catch((e: unknown) => e)) as UpstreamError;
    expect(later).toMatchObject({ code: 'UPSTREAM_RATE_LIMITED' });
    expect(later.details.retryAfter).toBeGreaterThanOrEqual(119);
    expect(later.details.retryAfter).toBeLessThanOrEqual(120);
    expect(later.message).toBe('coingecko simple/price: provider asked to wait 120 s (Retry-After)');
    expect(server.requests).toHaveLength(1);
    expect(http.health('coingecko').blockedUntil).toBeGreaterThan(Date.now() + 118_000);

    const counter = await metrics.registry.getSingleMetricAsString('marketgraph_upstream_requests_total');
    expect(counter).toContain('{provider="coingecko",endpoint="simple/price",outcome="rate_limited"} 1');
    expect(counter).toContain('{provider="coingecko",endpoint="simple/price",outcome="shed"} 1');
  });

  it('keeps a Retry-After block to its provider', async () => {
    const limited = await startScriptedServer((_req, res) => sendJson(res, 429, {}, { 'retry-after': '60' }));
    const healthy = await startScriptedServer((_req, res) => sendJson(res, 200, { ok: true }));
    const config = buildConfig(
      { MARKETGRAPH_UPSTREAM_DEADLINE_MS: '1000' },
      { coingecko: limited.url, defillama: healthy.url },
    );
    const { http } = makeHttp(config);
    open.push(limited, healthy, http);
    await expect(http.get(call)).rejects.toMatchObject({ code: 'UPSTREAM_RATE_LIMITED' });
    await expect(
      http.get({ ...call, provider: 'defillama', endpoint: 'prices', path: '/prices' }),
    ).resolves.toEqual({ ok: true });
  });
});
