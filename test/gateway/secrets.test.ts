import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { sandboxEndpoints } from '../../src/sandbox/dialects.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';
import { createGateway, type Gateway } from '../../src/server.js';
import { onlyUpstreams } from '../helpers/gateway.js';

// Issue #15 part 6, end to end. A loopback provider answers every call with an error that echoes
// what it was sent (keys from the query, the Authorization header and api_key, the request path with
// the key that sits in the base URL) in each of the forms that used to get past redaction: URL-encoded,
// double-encoded, JSON-escaped, base64, and at character ~150 of a long message (where the old 160
// cut left the key's first 12 characters). The test asserts that no secret, nor any 8-character
// fragment of one, in any of those forms, reaches a GraphQL response (errors and `sources`) or a log
// line, and that the echo really arrived (the logs carry the provider's words, redacted).

const ETHERSCAN_KEY = 'ES-k3y/with+plus=eq&amp-7f6e5d4c';
const COINCAP_KEY = 'cc_T0ken.~9a8b7c6d5e4f3a2b1c0d';
const TOKENMETRICS_KEY = 'tm-Key"quoted"\\back-0f1e2d3c4b';
const PATH_KEY = 'pk9aa3d95b3bc440fa88ea12eaa4456161';
const SECRETS = [ETHERSCAN_KEY, COINCAP_KEY, TOKENMETRICS_KEY, PATH_KEY];
const FRAGMENT = 8;
const ECHOING = ['etherscan', 'coincap', 'tokenmetrics'];

type GqlError = { message: string; extensions?: Record<string, unknown> };
type SourceRow = { name: string; lastError: string | null; lastFailure: { message: string } | null };

const toUnicodeEscapes = (s: string) =>
  [...s].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
const lowerHex = (s: string) => s.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());

/** How the provider quotes back what it received. */
const VARIANTS: Record<string, (sent: string[]) => string> = {
  raw: (sent) => `echo: invalid request ${sent.join(' ')}`,
  'URL-encoded': (sent) => `echo: invalid request ${sent.map(encodeURIComponent).join('&')}`,
  'URL-encoded, lower-case hex': (sent) =>
    `echo: ${sent.map((s) => lowerHex(encodeURIComponent(s))).join(' ')}`,
  'double URL-encoded': (sent) =>
    `echo: ${sent.map((s) => encodeURIComponent(encodeURIComponent(s))).join(' ')}`,
  'JSON-escaped': (sent) => `echo: ${JSON.stringify({ sent }).replace(/\//g, '\\/')}`,
  'JSON \\u escapes': (sent) => `echo: {"sent":"${sent.map(toUnicodeEscapes).join(' ')}"}`,
  base64: (sent) => `echo: Basic ${sent.map((s) => Buffer.from(`user:${s}`).toString('base64')).join(' ')}`,
  'long message': (sent) =>
    `echo: ${'invalid request, please check your plan. '.repeat(4).slice(0, 144)}${sent.join(' ')}`,
};

interface EchoProvider {
  url: string;
  variant: string;
  requests: Record<string, number>;
  close(): Promise<void>;
}

/** What a request carried that a careless provider might quote: the path (base-URL key included), keys. */
function sentBy(req: IncomingMessage): string[] {
  const url = new URL(req.url ?? '/', 'http://echo.test');
  const sent = [decodeURIComponent(url.pathname)];
  const apikey = url.searchParams.get('apikey');
  if (apikey) sent.push(apikey);
  for (const header of ['authorization', 'api_key']) {
    const value = req.headers[header];
    if (typeof value === 'string') sent.push(value);
  }
  return sent;
}

async function startEchoProvider(): Promise<EchoProvider> {
  const provider: EchoProvider = { url: '', variant: 'raw', requests: {}, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const name = (req.url ?? '').split('/')[1] ?? '';
    provider.requests[name] = (provider.requests[name] ?? 0) + 1;
    const echo = VARIANTS[provider.variant]!(sentBy(req));
    const body =
      name === 'etherscan'
        ? { status: '0', message: 'NOTOK', result: echo }
        : name === 'coincap'
          ? { error: echo }
          : { success: false, message: echo };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  provider.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  provider.close = () => new Promise((resolve) => server.close(() => resolve()));
  return provider;
}

/** Percent and JSON escapes undone, three rounds: written apart from src/http/redact.ts on purpose. */
function decoded(text: string): string {
  let out = text;
  for (let round = 0; round < 3; round++) {
    out = out
      .replace(/%([0-9a-f]{2})/gi, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
      .replace(/\\(u[0-9a-f]{4}|["\\/])/gi, (_m, sequence: string) =>
        sequence.length === 5 ? String.fromCharCode(Number.parseInt(sequence.slice(1), 16)) : sequence,
      );
  }
  return out;
}

/** The secret itself and the parts of its base64 encodings that do not depend on what surrounds it. */
function formsOf(secret: string): string[] {
  const forms = [secret];
  for (const prefix of ['', 'u', 'us', 'user:']) {
    const encoded = Buffer.from(`${prefix}${secret}`).toString('base64');
    forms.push(encoded.slice(Math.ceil((prefix.length * 8) / 6), -4));
  }
  return forms;
}

function leakedFragments(text: string): string[] {
  const haystacks = [text, decoded(text)].map((t) => t.toLowerCase());
  const found: string[] = [];
  for (const form of SECRETS.flatMap(formsOf)) {
    const lower = form.toLowerCase();
    for (let i = 0; i + FRAGMENT <= lower.length; i++) {
      const fragment = lower.slice(i, i + FRAGMENT);
      if (haystacks.some((h) => h.includes(fragment))) found.push(fragment);
    }
  }
  return found;
}

describe('secrets stay secret, end to end', () => {
  let sandbox: Sandbox;
  let echo: EchoProvider;

  beforeAll(async () => {
    sandbox = await startSandbox({ quotas: false, providers: ['coingecko'] });
    echo = await startEchoProvider();
  });

  afterAll(async () => {
    await echo?.close();
    await sandbox?.close();
  });

  /** A fresh gateway per variant: nothing one round learnt (a catalogue, a breaker) hides the next. */
  function startGateway(lines: string[]): Gateway {
    const env = {
      ...onlyUpstreams('coingecko', 'etherscan', 'coincap', 'tokenmetrics'),
      MARKETGRAPH_PORT: '0',
      MARKETGRAPH_UPSTREAM_RETRIES: '0',
      MARKETGRAPH_ETHERSCAN_URL: `${echo.url}/etherscan/v2/${PATH_KEY}/api`,
      MARKETGRAPH_ETHERSCAN_KEY: ETHERSCAN_KEY,
      MARKETGRAPH_COINCAP_URL: `${echo.url}/coincap/v3`,
      MARKETGRAPH_COINCAP_KEY: COINCAP_KEY,
      MARKETGRAPH_TOKENMETRICS_URL: `${echo.url}/tokenmetrics/${PATH_KEY}/v2`,
      MARKETGRAPH_TOKENMETRICS_KEY: TOKENMETRICS_KEY,
    };
    const config = loadConfig({ env, endpoints: sandboxEndpoints(sandbox) });
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    return createGateway(config, { logger: pino({ level: 'debug' }, stream) });
  }

  async function query(gateway: Gateway, source: string, responses: string[]) {
    const response = await gateway.yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query: source }),
    });
    const text = await response.text();
    responses.push(text);
    return JSON.parse(text) as { data?: Record<string, unknown>; errors?: GqlError[] };
  }

  it.each(Object.keys(VARIANTS))('a provider echoing keys %s leaks nothing', async (variant) => {
    echo.variant = variant;
    const before = { ...echo.requests };
    const lines: string[] = [];
    const responses: string[] = [];
    const gateway = startGateway(lines);
    try {
      const chain = await query(
        gateway,
        '{ onChainMetrics(chain: "ethereum", kinds: [GAS_PROPOSE]) { value } }',
        responses,
      );
      await query(
        gateway,
        '{ asset(id: "bitcoin") { price(source: COINCAP) { value } signals { kind direction } } }',
        responses,
      );
      const sources = await query(
        gateway,
        '{ sources { name lastError lastFailure { code message endpoint status at } } }',
        responses,
      );

      // Every echoing provider was really called in this round, and the client was told in our terms.
      for (const name of ECHOING) {
        expect(echo.requests[name] ?? 0, name).toBeGreaterThan(before[name] ?? 0);
      }
      expect(chain.errors?.[0]).toMatchObject({
        message:
          'etherscan gastracker/gasoracle: error in the response body: the provider rejected the request',
        extensions: {
          code: 'UPSTREAM_BAD_RESPONSE',
          provider: 'etherscan',
          endpoint: 'gastracker/gasoracle',
        },
      });
      const rows = (sources.data as { sources: SourceRow[] }).sources;
      for (const name of ECHOING) {
        const row = rows.find((r) => r.name === name)!;
        expect(row.lastFailure, name).toMatchObject({
          code: expect.stringMatching(/^UPSTREAM_/),
          message: expect.stringMatching(new RegExp(`^${name} \\S+: error in the response body: `)),
          endpoint: expect.any(String),
          status: 200,
          at: expect.any(String),
        });
        expect(row.lastError).toBe(row.lastFailure!.message);
        expect(row.lastFailure!.message).not.toContain('echo');
      }

      // The provider's words did reach the log, redacted.
      const failed = lines
        .filter((line) => line.includes('"upstream call failed"'))
        .map((line) => JSON.parse(line) as { provider: string; detail?: string });
      for (const name of ECHOING) {
        const details = failed.filter((line) => line.provider === name && line.detail?.includes('echo'));
        expect(details.length, name).toBeGreaterThan(0);
        expect(
          details.some((line) => line.detail!.includes('[redacted]')),
          name,
        ).toBe(true);
      }

      expect(leakedFragments(responses.join('\n')), 'in GraphQL responses').toEqual([]);
      expect(leakedFragments(lines.join('\n')), 'in log lines').toEqual([]);
    } finally {
      await gateway.close();
    }
  });

  it('the check itself finds the echoes it is looking for (it would catch a leak)', () => {
    for (const [variant, render] of Object.entries(VARIANTS)) {
      const sample = render([
        `/etherscan/v2/${PATH_KEY}/api`,
        ETHERSCAN_KEY,
        `Bearer ${COINCAP_KEY}`,
        TOKENMETRICS_KEY,
      ]);
      expect(leakedFragments(JSON.stringify({ message: sample })).length, variant).toBeGreaterThan(0);
    }
  });
});
