import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { classifyResponse } from '../../src/http/classify.js';
import type { HttpCall } from '../../src/http/client.js';
import {
  collectConfigSecrets,
  collectSecrets,
  collectUrlSecrets,
  createRedactor,
  FRAGMENT,
  redactLogger,
  redactText,
} from '../../src/http/redact.js';

// Each way a key used to get past redaction, and the forms it can take on the way back from a
// provider: encoded, escaped, cut, split, or hidden in the base URL.

/** Has characters that every encoding rewrites (/, +, =, &, ", \) so each form differs from the raw key. */
const KEY = 'mgK3y/Pl+us=Eq&"Q\\9f8e7d6c5b4a3';
const PATH_KEY = '9aa3d95b3bc440fa88ea12eaa4456161';

function windowsOf(secret: string, length = FRAGMENT): string[] {
  const out: string[] = [];
  for (let i = 0; i + length <= secret.length; i++) out.push(secret.slice(i, i + length));
  return out;
}

/** Fails with the offending window, not just "true is not false". */
function expectNoFragment(text: string, secret: string): void {
  const lower = text.toLowerCase();
  const found = windowsOf(secret.toLowerCase()).filter((w) => lower.includes(w));
  expect(found, `fragments of the secret in ${JSON.stringify(text)}`).toEqual([]);
}

const everyCharPercent = (s: string, hex: (h: string) => string = (h) => h) =>
  [...Buffer.from(s)].map((b) => `%${hex(b.toString(16).padStart(2, '0'))}`).join('');
const everyCharUnicode = (s: string) =>
  [...s].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');

describe('redactText: encoded forms', () => {
  const forms: Array<[string, string]> = [
    ['raw', KEY],
    ['URL-encoded', encodeURIComponent(KEY)],
    ['URL-encoded, lower-case hex', encodeURIComponent(KEY).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())],
    ['every character percent-encoded', everyCharPercent(KEY)],
    [
      'every character percent-encoded, mixed-case hex',
      everyCharPercent(KEY, (h) => h[0] + h[1]!.toUpperCase()),
    ],
    ['double URL-encoded', encodeURIComponent(encodeURIComponent(KEY))],
    ['triple URL-encoded', encodeURIComponent(encodeURIComponent(encodeURIComponent(KEY)))],
    ['JSON-escaped', JSON.stringify(KEY).slice(1, -1)],
    ['JSON-escaped with \\/', JSON.stringify(KEY).slice(1, -1).replace(/\//g, '\\/')],
    ['JSON \\u escapes', everyCharUnicode(KEY)],
    ['JSON-escaped, then URL-encoded', encodeURIComponent(JSON.stringify(KEY).slice(1, -1))],
    ['upper-cased', KEY.toUpperCase()],
    ['base64', Buffer.from(KEY).toString('base64')],
    ['base64 after one byte', Buffer.from(`x${KEY}`).toString('base64')],
    ['base64 after two bytes', Buffer.from(`xy${KEY}`).toString('base64')],
    ['base64url', Buffer.from(`user:${KEY}`).toString('base64url')],
  ];

  it.each(forms)('removes the key %s', (_label, form) => {
    const out = redactText(`provider said: bad credential <${form}> (code 7)`, [KEY]);
    expectNoFragment(out, KEY);
    // Nothing of the encoded form survives either (its own windows, e.g. "%2FPl%2B").
    expectNoFragment(out, form);
    expect(out).toContain('[redacted]');
    expect(out).toMatch(/^provider said: bad credential <.*\[redacted\].*> \(code 7\)$/);
  });

  it('removes every occurrence, in every form, in one text', () => {
    const text = forms.map(([label, form]) => `${label}=${form}`).join(' | ');
    const out = createRedactor([KEY]).redact(text, { maxLength: 10_000 });
    expectNoFragment(out, KEY);
    for (const [, form] of forms) expectNoFragment(out, form);
  });
});

describe('redactText: fragments', () => {
  it(`removes every substring of a secret of ${FRAGMENT} or more characters, wherever it sits`, () => {
    for (let length = FRAGMENT; length <= KEY.length; length++) {
      for (const fragment of windowsOf(KEY, length)) {
        // Delimiters the key does not contain, so the run is exactly the fragment.
        const out = redactText(`~${fragment}! and ${encodeURIComponent(fragment)}`, [KEY]);
        expect(out).toBe('~[redacted]! and [redacted]');
      }
    }
  });

  it(`leaves runs shorter than ${FRAGMENT} characters, and ordinary text, alone`, () => {
    const short = KEY.slice(3, 3 + FRAGMENT - 1);
    expect(redactText(`prefix ${short} suffix`, [KEY])).toBe(`prefix ${short} suffix`);
    expect(redactText('coingecko coins/markets: HTTP 503', [KEY, PATH_KEY])).toBe(
      'coingecko coins/markets: HTTP 503',
    );
  });

  it('matches a secret shorter than the fragment length only whole', () => {
    expect(redactText('key abc12 and abc1', ['abc12'])).toBe('key [redacted] and abc1');
  });

  it('ignores values too short to be secrets', () => {
    expect(redactText('a b c', ['b'])).toBe('a b c');
    expect(collectSecrets('abc', { apikey: 'xy' }, undefined)).toEqual([]);
  });
});

describe('redactText: truncation comes last', () => {
  it('redacts a key that straddles the cut, so not even its first characters remain', () => {
    for (const at of [150, 180, 188, 195, 199, 200, 205]) {
      const text = `${'x'.repeat(at)}${KEY} ${'trailing '.repeat(10)}`;
      const out = redactText(text, [KEY]);
      expect(out.length).toBeLessThanOrEqual(200);
      expect(out.endsWith('…')).toBe(true);
      expect(out).not.toContain(KEY.slice(0, 4));
    }
  });

  it('redacts an encoded key at the cut', () => {
    const encoded = everyCharPercent(KEY);
    const out = redactText(`${'x'.repeat(170)}${encoded}`, [KEY]);
    expect(out).not.toMatch(/%[0-9a-f]{2}/i);
  });

  it('handles a text far longer than it scans, without showing what lies near the scan limit', () => {
    for (const at of [16_384 - 7, 16_384 - 3, 16_000, 15_000]) {
      const text = `${'[redacted]'.repeat(Math.floor(at / 10))}${'y'.repeat(at % 10)}${KEY}${'z'.repeat(100_000)}`;
      const out = createRedactor([KEY]).redact(text, { maxLength: 100_000 });
      expect(out.endsWith('…')).toBe(true);
      expect(out).not.toContain(KEY.slice(0, 4));
    }
    const huge = `${'q'.repeat(5_000_000)}${KEY}`;
    expect(redactText(huge, [KEY])).toBe(`${'q'.repeat(199)}…`);
  });

  it('keeps short texts intact and cuts long ones to 200 characters', () => {
    expect(redactText('short')).toBe('short');
    const out = redactText('a'.repeat(500));
    expect(out).toHaveLength(200);
    expect(out.endsWith('…')).toBe(true);
  });
});

describe('redactText: credentials nobody declared', () => {
  it.each([
    ['a query string', 'GET /v1/x?vs=usd&apikey=abc123secretvalue failed', 'abc123secretvalue'],
    ['a key=value pair', 'rejected api_key=zz9secretzz9 for plan', 'zz9secretzz9'],
    ['a token=value pair', 'access_token=tok3n-value-42 expired', 'tok3n-value-42'],
    ['an Authorization header', 'sent Authorization: Bearer eyJhbGciOi.J9.sig, denied', 'eyJhbGciOi.J9.sig'],
    ['a JSON header object', '{"x-api-key":"K-0123456789abcdef"}', 'K-0123456789abcdef'],
    ['an x-cg key header', 'x-cg-demo-api-key: CG-abcdef1234567890', 'CG-abcdef1234567890'],
    ['a bare Bearer token', 'token Bearer abcDEF123456789xyz was revoked', 'abcDEF123456789xyz'],
    ['a Basic credential', 'got Basic dXNlcjpwYXNzd29yZA== from you', 'dXNlcjpwYXNzd29yZA=='],
  ])('masks %s', (_label, text, secret) => {
    const out = redactText(text);
    expect(out).not.toContain(secret);
    expect(out).toContain('[redacted]');
  });
});

describe('collectSecrets', () => {
  it('takes the key, credential-named query and header values, and bare Bearer/Basic credentials', () => {
    const basic = Buffer.from('alice:w0nderl4nd-pass').toString('base64');
    const secrets = collectSecrets(
      'the-configured-key',
      { apikey: 'q-secret-1', ids: 'bitcoin', vs_currency: 'usd' },
      {
        authorization: 'Bearer hdr-token-2',
        'x-api-key': 'hdr-key-3',
        'proxy-authorization': `Basic ${basic}`,
      },
    );
    expect(secrets).toEqual(
      expect.arrayContaining([
        'the-configured-key',
        'q-secret-1',
        'hdr-token-2',
        'hdr-key-3',
        basic,
        'w0nderl4nd-pass',
      ]),
    );
    expect(secrets).not.toContain('bitcoin');
    expect(secrets).not.toContain('usd');
  });

  it('takes the base URL’s userinfo, key-shaped path segments and credential query values', () => {
    const url = `https://alice:s3cr3t-pw@rpc.example.test/v3/${PATH_KEY}/api?token=t0ken-abc&format=json`;
    const secrets = collectUrlSecrets(url);
    expect(secrets).toEqual(expect.arrayContaining(['alice', 's3cr3t-pw', PATH_KEY, 't0ken-abc']));
    for (const plain of ['v3', 'api', 'json', 'rpc.example.test']) expect(secrets).not.toContain(plain);
    expect(collectSecrets(undefined, undefined, undefined, url)).toEqual(expect.arrayContaining([PATH_KEY]));
    expect(collectUrlSecrets('https://api.coingecko.com/api/v3')).toEqual([]);
    expect(collectUrlSecrets('not a url')).toEqual([]);
  });

  it('so a provider echoing the request path cannot show the key in it', () => {
    const base = `https://rpc.example.test/v3/${PATH_KEY}`;
    const secrets = collectSecrets(undefined, undefined, undefined, base);
    const echoed = `404: no route for /v3/${PATH_KEY}/coins and ${encodeURIComponent(`/v3/${PATH_KEY}`)}`;
    expectNoFragment(redactText(echoed, secrets), PATH_KEY);
  });

  it('from the whole configuration: keys, REST and WebSocket URLs, Redis password', () => {
    const provider = (url: string, key?: string, wsUrl = '') => ({ url, key, wsUrl });
    const secrets = collectConfigSecrets({
      providers: {
        coingecko: provider('https://api.example.test/api/v3', 'CG-key-0001'),
        etherscan: provider(`https://x.test/v2/${PATH_KEY}`),
        binance: provider('https://b.test', undefined, 'wss://u:ws-pass-9@b.test/ws'),
      } as never,
      redisUrl: 'redis://:r3dis-pass@127.0.0.1:6379/0',
    });
    expect(secrets).toEqual(expect.arrayContaining(['CG-key-0001', PATH_KEY, 'ws-pass-9', 'r3dis-pass']));
  });
});

describe('redactLogger', () => {
  function capture(secrets: string[]) {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    return { logger: redactLogger(pino({ level: 'debug' }, stream), secrets), lines };
  }

  it('redacts every string field, nested ones and errors included, and credential-named fields whole', () => {
    const { logger, lines } = capture([KEY]);
    logger.warn(
      {
        reason: `echo ${encodeURIComponent(KEY)}`,
        nested: { list: [`x${KEY}y`], headers: { authorization: 'Bearer whatever', accept: 'json' } },
        err: new Error(`failed with ${KEY}`),
        count: 3,
      },
      'upstream call failed',
    );
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expectNoFragment(lines[0]!, KEY);
    expect(line).toMatchObject({
      msg: 'upstream call failed',
      reason: 'echo [redacted]',
      nested: { list: ['x[redacted]y'], headers: { authorization: '[redacted]', accept: 'json' } },
      err: { type: 'Error', message: 'failed with [redacted]' },
      count: 3,
    });
  });

  it('leaves fields that hold our own names alone, even when a demo key shares a fragment with them', () => {
    const { logger, lines } = capture(['sandbox-etherscan-key']);
    logger.warn({ provider: 'etherscan', reason: 'refused sandbox-etherscan-key for etherscan' }, 'x');
    expect(JSON.parse(lines[0]!)).toMatchObject({
      provider: 'etherscan',
      reason: 'refused [redacted] for [redacted]',
    });
  });

  it('leaves lines without secrets as they were, and costs nothing below the level', () => {
    const { logger, lines } = capture([KEY]);
    logger.info({ provider: 'coingecko', latencyMs: 12 }, 'upstream call');
    logger.trace({ reason: KEY }, 'not written');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      provider: 'coingecko',
      latencyMs: 12,
      msg: 'upstream call',
    });
  });
});

describe('classifyResponse: what a client is told', () => {
  const call = (extra: Partial<HttpCall<unknown>> = {}): HttpCall<unknown> => ({
    provider: 'coingecko',
    endpoint: 'simple/price',
    path: '/simple/price',
    schema: z.record(z.string(), z.object({ usd: z.number() })),
    ...extra,
  });
  const classify = (c: HttpCall<unknown>, body: unknown, secrets: string[]) => {
    const verdict = classifyResponse(
      c,
      { status: 200, headers: { 'content-type': 'application/json' }, text: JSON.stringify(body) },
      { nowMs: 0, secrets },
    );
    if (verdict.ok) throw new Error('expected a failure');
    return verdict;
  };

  it('gets our fixed reason for an error envelope; the provider text goes, redacted, to detail', () => {
    const envelopeError = (body: unknown) => ({
      code: 'UPSTREAM_UNAVAILABLE' as const,
      message: `status 0: ${(body as { result: string }).result}`,
    });
    const text = `${'please check your subscription plan. '.repeat(4)}Invalid API Key ${encodeURIComponent(KEY)}`;
    const failure = classify(call({ envelopeError }), { result: text }, [KEY]);
    expect(failure.error.message).toBe(
      'coingecko simple/price: error in the response body: the provider refused the request or our credentials',
    );
    expect(failure.error.details).toEqual({ endpoint: 'simple/price', status: 200 });
    expect(failure.detail).toMatch(/^status 0: please check.*Invalid API Key \[redacted\]$/);
    expectNoFragment(failure.detail!, KEY);
  });

  it('quotes a key of the provider’s body in a schema path only redacted, and a long one not at all', () => {
    const bad = classify(call(), { [PATH_KEY]: { usd: 'x' } }, [PATH_KEY]);
    expect(bad.error.message).toBe('coingecko simple/price: expected number at ["[redacted]"].usd');
    const long = classify(call(), { [`${'k'.repeat(60)}`]: { usd: 'x' } }, []);
    expect(long.error.message).toBe('coingecko simple/price: expected number at […].usd');
    const plain = classify(call(), { bitcoin: { usd: 'x' } }, [PATH_KEY]);
    expect(plain.error.message).toBe('coingecko simple/price: expected number at bitcoin.usd');
  });
});
