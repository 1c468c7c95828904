import { request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_CACHE_CONTROL } from '../../src/transport/static-page.js';
import { onlyUpstreams, startTestGateway, type TestGateway } from '../helpers/gateway.js';

// Issue #13, compression and static caching, over a real socket (compression lives in the node:http
// listener): the GraphiQL page compressed once, with an ETag, long-lived caching and 304; large
// GraphQL answers compressed whether they were stored (hits send the kept compressed part and their own
// extensions.cost) or not;
// small answers and SSE streams never; the Yoga-answered rest (/metrics) through the middleware.
// Raw node:http requests, because fetch would decompress and hide what was sent.

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function send(url: string, headers: Record<string, string>, body?: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: body === undefined ? 'GET' : 'POST', headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function decode(raw: Raw): string {
  const coding = raw.headers['content-encoding'];
  if (coding === 'gzip') return gunzipSync(raw.body).toString('utf8');
  if (coding === 'br') return brotliDecompressSync(raw.body).toString('utf8');
  return raw.body.toString('utf8');
}

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };
const LARGE =
  '{ assets(first: 100) { edges { node { id symbol name rank price { value change24h asOf source } } } } }';
/** Candles are never stored: this answer goes out through the skip branch. */
const UNSTORED =
  '{ asset(id: "bitcoin") { candles(interval: H1, first: 200) { edges { node { openTime close } } } } }';

let g: TestGateway;
let url = '';

beforeAll(async () => {
  g = await startTestGateway({ env: onlyUpstreams('coingecko', 'binance') });
  url = (await g.gateway.start()).url;
});

afterAll(async () => {
  await g?.close();
});

describe('the GraphiQL page', () => {
  it('is sent gzip- or brotli-compressed with an ETag and long-lived caching, and 304 for that ETag', async () => {
    const page = await (await g.gateway.yoga.fetch(url, { headers: { accept: 'text/html' } })).text();
    expect(page.length).toBeGreaterThan(1_000_000);

    const gzip = await send(url, { accept: 'text/html', 'accept-encoding': 'gzip' });
    expect(gzip.status).toBe(200);
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(Number(gzip.headers['content-length'])).toBe(gzip.body.length);
    expect(gzip.body.length).toBeLessThan(page.length / 3);
    expect(decode(gzip)).toBe(page);
    expect(gzip.headers['cache-control']).toBe(PAGE_CACHE_CONTROL);
    expect(gzip.headers.vary).toBe('Accept, Accept-Encoding');
    const etag = gzip.headers.etag as string;
    expect(etag).toMatch(/^"[\w-]+-gzip"$/);

    const br = await send(url, { accept: 'text/html', 'accept-encoding': 'gzip, deflate, br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(decode(br)).toBe(page);

    const plain = await send(url, { accept: 'text/html' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString('utf8')).toBe(page);

    const notModified = await send(url, {
      accept: 'text/html',
      'accept-encoding': 'gzip',
      'if-none-match': etag,
    });
    expect(notModified.status).toBe(304);
    expect(notModified.body.length).toBe(0);
    expect(notModified.headers.etag).toBe(etag);
    expect(notModified.headers['cache-control']).toBe(PAGE_CACHE_CONTROL);
    // Another coding's tag names the same page.
    expect(
      (await send(url, { accept: 'text/html', 'if-none-match': br.headers.etag as string })).status,
    ).toBe(304);
    expect((await send(url, { accept: 'text/html', 'if-none-match': '"other"' })).status).toBe(200);
  });
});

describe('GraphQL answers', () => {
  it('compresses a large answer, stored or not; a stored one in gzip, its part before extensions.cost compressed once', async () => {
    const body = JSON.stringify({ query: LARGE });
    const identity = await send(url, JSON_HEADERS, body);
    expect(identity.headers['content-encoding']).toBeUndefined();
    const expected = JSON.parse(identity.body.toString('utf8'));
    expect(expected.data.assets.edges).toHaveLength(100);

    // A stored answer ends with a per-response extensions.cost, spliced into gzip (brotli cannot be):
    // a client that takes both gets gzip, one that takes only brotli gets it as it is.
    for (const [accepted, sent] of [
      ['gzip', 'gzip'],
      ['gzip, deflate, br', 'gzip'],
      ['br', undefined],
    ] as const) {
      const first = await send(url, { ...JSON_HEADERS, 'accept-encoding': accepted }, body);
      const again = await send(url, { ...JSON_HEADERS, 'accept-encoding': accepted }, body);
      expect(again.headers['x-response-cache']).toBe('hit');
      for (const reply of [first, again]) {
        expect(reply.headers['content-encoding']).toBe(sent);
        expect(Number(reply.headers['content-length'])).toBe(reply.body.length);
        expect(JSON.parse(decode(reply)).data).toEqual(expected.data);
      }
      if (sent) expect(again.body.length).toBeLessThan(identity.body.length / 3);
      expect(JSON.parse(decode(again)).extensions.cost.upstreamCalls.total).toBe(0);
    }

    const unstored = await send(
      url,
      { ...JSON_HEADERS, 'accept-encoding': 'gzip' },
      JSON.stringify({ query: UNSTORED }),
    );
    expect(unstored.headers['x-response-cache']).toMatch(/^skip/);
    expect(unstored.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(decode(unstored)).data.asset.candles.edges.length).toBeGreaterThan(20);
  });

  it('gives a compressed GET answer its own (weak) ETag, Vary: Accept-Encoding and 304', async () => {
    const target = `${url}?query=${encodeURIComponent(LARGE)}`;
    const first = await send(target, { accept: 'application/json', 'accept-encoding': 'gzip' });
    expect(first.headers['content-encoding']).toBe('gzip');
    expect(first.headers.vary).toBe('Accept, Origin, Accept-Encoding');
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^W\/"[\w-]+-gzip"$/);
    const plain = await send(target, { accept: 'application/json', 'accept-encoding': 'identity' });
    expect(plain.headers.etag).toBe(etag.replace(/-gzip"$/, '"'));
    const notModified = await send(target, {
      accept: 'application/json',
      'accept-encoding': 'gzip',
      'if-none-match': etag,
    });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.etag).toBe(etag);
  });

  it('sends small answers as they are', async () => {
    const small = await send(
      url,
      { ...JSON_HEADERS, 'accept-encoding': 'gzip, br' },
      '{"query":"{ __typename }"}',
    );
    expect(small.status).toBe(200);
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(small.body.toString('utf8')).data).toEqual({ __typename: 'Query' });
  });
});

describe('streams and the rest', () => {
  it('never compresses SSE: each event arrives as it is sent', async () => {
    const events: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          agent: false,
          headers: {
            'content-type': 'application/json',
            accept: 'text/event-stream',
            'accept-encoding': 'gzip, br',
          },
        },
        (res) => {
          expect(res.headers['content-encoding'] ?? 'none').toBe('none');
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            events.push(chunk);
            if (events.join('').includes('event: next')) {
              req.destroy();
              resolve();
            }
          });
        },
      );
      req.on('error', (error) => (events.join('').includes('event: next') ? resolve() : reject(error)));
      req.end(
        JSON.stringify({ query: 'subscription { priceUpdated(assetIds: ["bitcoin"]) { assetId value } }' }),
      );
    });
    await done;
    expect(events.join('')).toMatch(/event: next\ndata: \{"data":\{"priceUpdated":\{"assetId":"bitcoin"/);
  });

  it('compresses what Yoga answers itself (/metrics) through the middleware', async () => {
    const metricsUrl = url.replace(/\/graphql$/, '/metrics');
    const metrics = await send(metricsUrl, { 'accept-encoding': 'gzip' });
    expect(metrics.headers['content-encoding']).toBe('gzip');
    expect(decode(metrics)).toMatch(/^# HELP /m);
  });
});

describe('with MARKETGRAPH_COMPRESSION=false', () => {
  it('sends everything as it is', async () => {
    const off = await startTestGateway({
      env: { ...onlyUpstreams('coingecko'), MARKETGRAPH_COMPRESSION: 'false' },
    });
    try {
      const offUrl = (await off.gateway.start()).url;
      const answer = await send(
        offUrl,
        { ...JSON_HEADERS, 'accept-encoding': 'gzip' },
        JSON.stringify({ query: LARGE }),
      );
      expect(answer.headers['content-encoding']).toBeUndefined();
      expect(JSON.parse(answer.body.toString('utf8')).data.assets.edges).toHaveLength(100);
      const page = await send(offUrl, { accept: 'text/html', 'accept-encoding': 'gzip' });
      expect(page.headers['content-encoding']).toBeUndefined();
      expect(page.headers.etag).toMatch(/^"[\w-]+"$/);
    } finally {
      await off.close();
    }
  });
});
