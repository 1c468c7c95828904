import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/clients.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type KeysDir, keysDir, keysFileText, newKey } from '../helpers/keys.js';

// Issue #12 parts 6-7: trusted documents, CORS, the execution timeout, introspection and GraphiQL.

const URL_ = 'http://gateway.test/graphql';
const UNTRUSTED = '{ assets(first: 3) { edges { node { id symbol } } } }';
/** Callers from a keys file (src/auth/): one key may send any document, the other only trusted ones. */
const anyDocument = newKey('any', { scopes: ['query:any'] });
const reader = newKey('reader');
const asAny = { authorization: `Bearer ${anyDocument.key}` };
const asReader = { authorization: `Bearer ${reader.key}` };

let dir: string;
let manifestFile: string;
let manifest: Record<string, string>;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'marketgraph-trusted-'));
  manifestFile = join(dir, 'manifest.json');
  // The script under test builds the manifest the gateway reads.
  execFileSync(
    process.execPath,
    ['--import', 'tsx', 'scripts/trusted-documents.ts', 'test/operations', '--out', manifestFile],
    {
      stdio: 'pipe',
    },
  );
  manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Record<string, string>;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function idOf(name: string): string {
  const entry = Object.entries(manifest).find(([, document]) => document.startsWith(`query ${name}`));
  if (!entry) throw new Error(`no ${name} in the manifest`);
  return entry[0];
}

async function post(t: TestGateway, body: unknown, headers: Record<string, string> = {}) {
  const response = await t.gateway.yoga.fetch(URL_, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: answers are probed field by field
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

describe('the trusted-documents manifest script', () => {
  it('writes one entry per operation, keyed by the SHA-256 of its document', () => {
    expect(Object.keys(manifest)).toHaveLength(2);
    for (const [key, document] of Object.entries(manifest)) {
      expect(key).toBe(`sha256:${createHash('sha256').update(document).digest('hex')}`);
    }
  });
});

describe('trusted documents, enforce mode', () => {
  let t: TestGateway;
  let url: string;
  let keys: KeysDir;
  beforeAll(async () => {
    keys = await keysDir(keysFileText([anyDocument, reader]));
    t = await startTestGateway({
      env: {
        MARKETGRAPH_TRUSTED_DOCUMENTS: manifestFile,
        MARKETGRAPH_TRUSTED_DOCUMENTS_MODE: 'enforce',
        MARKETGRAPH_API_KEYS_FILE: keys.path,
      },
    });
    ({ url } = await t.gateway.start());
  });
  afterAll(async () => {
    await t.close();
    await keys.remove();
  });

  it('refuses a document outside the manifest, coded, before any upstream call', async () => {
    t.sandbox.resetCounts();
    const res = await post(t, { query: UNTRUSTED });
    expect(res.status).toBe(403);
    expect(res.body.errors[0].extensions.code).toBe('TRUSTED_DOCUMENT_REQUIRED');
    expect(res.body.data ?? null).toBeNull();
    expect(t.sandbox.counts()).toEqual({});
    const unknownId = await post(t, { documentId: `sha256:${'0'.repeat(64)}` });
    expect(unknownId.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it('serves a known document by documentId (POST and GET) and by APQ hash', async () => {
    const id = idOf('TopAssets');
    const variables = { first: 3, currency: 'USD' };
    const byId = await post(t, { documentId: id, variables });
    expect(byId.body.errors).toBeUndefined();
    expect(byId.body.data.assets.edges).toHaveLength(3);
    const apq = await post(t, {
      variables,
      extensions: { persistedQuery: { version: 1, sha256Hash: id.slice('sha256:'.length) } },
    });
    expect(apq.body.data).toEqual(byId.body.data);
    const params = new URLSearchParams({ documentId: id, variables: JSON.stringify(variables) });
    const get = await t.gateway.yoga.fetch(`${URL_}?${params}`, { headers: { accept: 'application/json' } });
    expect(((await get.json()) as { data: unknown }).data).toEqual(byId.body.data);
    // The manifest's own text is trusted too.
    const text = await post(t, { query: manifest[id], variables });
    expect(text.body.data).toEqual(byId.body.data);
  });

  it('lets a caller with scope query:any send any document', async () => {
    const res = await post(t, { query: UNTRUSTED }, asAny);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.assets.edges).toHaveLength(3);
    const other = await post(t, { query: UNTRUSTED }, asReader);
    expect(other.body.errors[0].extensions.code).toBe('TRUSTED_DOCUMENT_REQUIRED');
  });

  it('never serves an untrusted document from the response cache to a caller without query:any', async () => {
    const get = (headers: Record<string, string>) =>
      fetch(`${url}?query=${encodeURIComponent(UNTRUSTED)}`, {
        headers: { accept: 'application/json', ...headers },
      });
    expect((await get(asAny)).headers.get('x-response-cache')).toBe('miss');
    expect((await get(asAny)).headers.get('x-response-cache')).toBe('hit');
    const anonymous = await get({});
    expect(anonymous.headers.get('x-response-cache')).not.toBe('hit');
    expect(
      ((await anonymous.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions
        .code,
    ).toBe('TRUSTED_DOCUMENT_REQUIRED');
  });
});

describe('trusted documents, allow mode', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ env: { MARKETGRAPH_TRUSTED_DOCUMENTS: manifestFile } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('runs any document, and known ones by id', async () => {
    expect((await post(t, { query: UNTRUSTED })).body.errors).toBeUndefined();
    const byId = await post(t, { documentId: idOf('TopAssets'), variables: { first: 2, currency: 'EUR' } });
    expect(byId.body.data.assets.edges).toHaveLength(2);
  });
});

describe('CORS', () => {
  const preflight = (t: TestGateway, origin: string) =>
    t.gateway.yoga.fetch(URL_, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });

  it('answers localhost origins in the sandbox profile, with credentials, and no other origin', async () => {
    const t = await startTestGateway();
    try {
      const local = await post(t, { query: '{ __typename }' }, { origin: 'http://localhost:5173' });
      expect(local.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
      expect(local.headers.get('access-control-allow-credentials')).toBe('true');
      expect(local.headers.get('vary')).toContain('Origin');
      const evil = await post(t, { query: '{ __typename }' }, { origin: 'https://evil.example' });
      expect(evil.headers.get('access-control-allow-origin')).toBeNull();
      expect(evil.headers.get('access-control-allow-credentials')).toBeNull();
      expect(
        (await preflight(t, 'https://evil.example')).headers.get('access-control-allow-origin'),
      ).toBeNull();
    } finally {
      await t.close();
    }
  });

  it('answers exactly the configured origins; * answers any origin without credentials', async () => {
    const t = await startTestGateway({ env: { MARKETGRAPH_CORS_ORIGINS: 'https://app.example.com' } });
    try {
      const app = await preflight(t, 'https://app.example.com');
      expect(app.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      expect(app.headers.get('access-control-allow-credentials')).toBe('true');
      expect(
        (await preflight(t, 'http://localhost:5173')).headers.get('access-control-allow-origin'),
      ).toBeNull();
    } finally {
      await t.close();
    }
    const any = await startTestGateway({ env: { MARKETGRAPH_CORS_ORIGINS: '*' } });
    try {
      const res = await post(any, { query: '{ __typename }' }, { origin: 'https://elsewhere.example' });
      expect(res.headers.get('access-control-allow-origin')).toBe('https://elsewhere.example');
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    } finally {
      await any.close();
    }
  });
});

describe('execution timeout', () => {
  it('answers EXECUTION_TIMEOUT (504) and makes none of the calls that would have followed', async () => {
    const t = await startTestGateway({
      env: { MARKETGRAPH_EXECUTION_TIMEOUT_MS: '300', MARKETGRAPH_RESPONSE_CACHE: 'false' },
    });
    try {
      // The page of assets is slow; the EUR markets of those assets would be asked for after it.
      t.sandbox.faults.set('coingecko', 'coins/markets', { kind: 'latency', latencyMs: 1_200, times: 1 });
      t.sandbox.resetCounts();
      const res = await post(t, {
        query: '{ assets(first: 3) { edges { node { market(currency: EUR) { price } } } } }',
      });
      expect(res.status).toBe(504);
      expect(res.body.errors[0].extensions.code).toBe('EXECUTION_TIMEOUT');
      // The slow page arrives later; its execution goes on in the background without calling anyone.
      await waitFor(() => t.sandbox.requests('coingecko').length > 0, 5_000, 'the slow page');
      // Without abandoning, the EUR markets call follows the page within a few ms.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(t.sandbox.requests('coingecko').map((r) => r.endpoint)).toEqual(['coins/markets']);
    } finally {
      await t.close();
    }
  });
});

describe('introspection and GraphiQL switches', () => {
  it('refuses __schema and serves no GraphiQL page when off; __typename still works', async () => {
    const t = await startTestGateway({
      env: { MARKETGRAPH_INTROSPECTION: 'false', MARKETGRAPH_GRAPHIQL: 'false' },
    });
    try {
      const introspection = await post(t, { query: '{ __schema { types { name } } }' });
      expect(introspection.body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect((await post(t, { query: '{ __typename }' })).body.data).toEqual({ __typename: 'Query' });
      const { url } = await t.gateway.start();
      const page = await fetch(url, { headers: { accept: 'text/html' } });
      expect(await page.text()).not.toContain('graphiql');
    } finally {
      await t.close();
    }
  });

  it('are on in the sandbox profile', async () => {
    const t = await startTestGateway();
    try {
      expect(
        (await post(t, { query: '{ __schema { queryType { name } } }' })).body.data.__schema.queryType.name,
      ).toBe('Query');
    } finally {
      await t.close();
    }
  });
});
