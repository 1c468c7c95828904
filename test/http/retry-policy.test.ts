import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { UpstreamCode } from '../../src/errors.js';
import type { EnvelopeError, Http, HttpCall } from '../../src/http/client.js';
import { readCoinCapEnvelopeError } from '../../src/sources/coincap.js';
import { readEtherscanEnvelopeError } from '../../src/sources/etherscan.js';
import { readTokenMetricsEnvelopeError } from '../../src/sources/tokenmetrics.js';
import {
  buildConfig,
  makeHttp,
  type ScriptedServer,
  sendHtml,
  sendJson,
  startScriptedServer,
} from './helpers.js';

// Which failures are tried again, counted at a loopback server: with three retries allowed, an answer
// no retry can change (a refused key, a 4xx, a geo-block, an error envelope, a body that is not what
// the schema wants) costs one attempt; one that can change (network error, 429, 5xx, 408, an envelope
// saying the provider is busy) is tried again and its eventual success returned.

const RETRIES = 3;
const rows = z.array(z.object({ id: z.string() }));

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((thing) => thing.close()));
});

type Answer = (res: ServerResponse, destroy: () => void) => void;

async function attemptsFor(
  fail: Answer,
  options: { envelopeError?: (body: unknown) => EnvelopeError | undefined; recoverAfter?: number } = {},
): Promise<{ server: ScriptedServer; outcome: unknown }> {
  const recoverAfter = options.recoverAfter ?? Number.POSITIVE_INFINITY;
  const server = await startScriptedServer((req, res, n) =>
    n > recoverAfter ? sendJson(res, 200, [{ id: 'bitcoin' }]) : fail(res, () => req.socket.destroy()),
  );
  const config = buildConfig(
    { MARKETGRAPH_UPSTREAM_RETRIES: String(RETRIES), MARKETGRAPH_UPSTREAM_DEADLINE_MS: '5000' },
    { coingecko: server.url },
  );
  // No jitter wait: the attempts, not the backoff, are what is counted here.
  const { http } = makeHttp(config, { random: () => 0 });
  open.push(server, http);
  const call: HttpCall<unknown> = {
    provider: 'coingecko',
    endpoint: 'coins/markets',
    path: '/coins/markets',
    schema: rows,
    ...(options.envelopeError ? { envelopeError: options.envelopeError } : {}),
  };
  const outcome = await (http as Http).get(call).then(
    (value) => value,
    (error: unknown) => error,
  );
  return { server, outcome };
}

const permanent: Array<[string, Answer, UpstreamCode, ((body: unknown) => EnvelopeError | undefined)?]> = [
  ['a refused key (401)', (res) => sendJson(res, 401, { error: 'Invalid API key' }), 'UPSTREAM_UNAVAILABLE'],
  ['a forbidden key (403 HTML)', (res) => sendHtml(res, 403), 'UPSTREAM_UNAVAILABLE'],
  [
    'a geo-block (451)',
    (res) => sendJson(res, 451, { code: 0, msg: 'restricted location' }),
    'UPSTREAM_UNAVAILABLE',
  ],
  [
    'a 4xx error envelope (400)',
    (res) => sendJson(res, 400, { error: 'invalid vs_currency' }),
    'UPSTREAM_BAD_RESPONSE',
  ],
  ['a 404', (res) => sendJson(res, 404, { error: 'coin not found' }), 'UPSTREAM_BAD_RESPONSE'],
  [
    'malformed JSON',
    (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('[{"id": "bitcoin"');
    },
    'UPSTREAM_BAD_RESPONSE',
  ],
  ['an HTML page with 200', (res) => sendHtml(res, 200), 'UPSTREAM_BAD_RESPONSE'],
  ['a body the schema refuses', (res) => sendJson(res, 200, [{ id: 1 }]), 'UPSTREAM_BAD_RESPONSE'],
  [
    "Etherscan's invalid-key envelope",
    (res) => sendJson(res, 200, { status: '0', message: 'NOTOK', result: 'Invalid API Key' }),
    'UPSTREAM_UNAVAILABLE',
    (body) => readEtherscanEnvelopeError(body),
  ],
  [
    "Token Metrics' refused-key envelope",
    (res) => sendJson(res, 200, { success: false, message: 'Invalid API key' }),
    'UPSTREAM_UNAVAILABLE',
    readTokenMetricsEnvelopeError,
  ],
  [
    "CoinCap's error envelope",
    (res) => sendJson(res, 200, { error: 'asset not found' }),
    'UPSTREAM_BAD_RESPONSE',
    readCoinCapEnvelopeError,
  ],
];

const transient: Array<[string, Answer, ((body: unknown) => EnvelopeError | undefined)?]> = [
  ['a connection reset', (_res, destroy) => destroy()],
  ['a 429', (res) => sendJson(res, 429, { status: { error_code: 429 } })],
  ['a 500', (res) => sendJson(res, 500, { error: 'oops' })],
  ['a 503 HTML page', (res) => sendHtml(res, 503)],
  ['a 408', (res) => sendJson(res, 408, { error: 'request timeout' })],
  [
    "an envelope saying the provider is busy (Binance's -1008)",
    (res) => sendJson(res, 200, { code: -1008, msg: 'Server is currently overloaded' }),
    (body) =>
      (body as { code?: number }).code === -1008
        ? { code: 'UPSTREAM_UNAVAILABLE', message: 'binance: server busy (code -1008)' }
        : undefined,
  ],
];

describe('retries: only what another attempt can change', () => {
  it.each(permanent)('%s is not retried', async (_name, answer, code, envelopeError) => {
    const { server, outcome } = await attemptsFor(answer, envelopeError ? { envelopeError } : {});
    expect(outcome).toMatchObject({ code, provider: 'coingecko' });
    expect(server.requests).toHaveLength(1);
  });

  it.each(transient)('%s is retried until it succeeds', async (_name, answer, envelopeError) => {
    const { server, outcome } = await attemptsFor(answer, {
      recoverAfter: RETRIES,
      ...(envelopeError ? { envelopeError } : {}),
    });
    expect(outcome).toEqual([{ id: 'bitcoin' }]);
    expect(server.requests).toHaveLength(RETRIES + 1);
  });

  it('a transient failure that persists costs exactly 1 + retries attempts', async () => {
    const { server, outcome } = await attemptsFor((res) => sendJson(res, 502, { error: 'bad gateway' }));
    expect(outcome).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect(server.requests).toHaveLength(RETRIES + 1);
  });
});
