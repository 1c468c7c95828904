import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClientBudgets } from '../../src/auth/budgets.js';
import type { Client } from '../../src/auth/client.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type KeysDir, keysDir, keysFileText, newKey } from '../helpers/keys.js';

// Issue #12 parts 1-3 through Yoga (yoga.fetch): who is calling (API keys from the keys file, JWTs
// verified against a JWKS served here on loopback), what their scopes let them see, and what their
// budgets let them spend. The fast path, SSE, graphql-ws and Redis are in auth-transports.test.ts.

// biome-ignore lint/suspicious/noExplicitAny: GraphQL answers are probed field by field
type Body = any;

let sandbox: Sandbox;
let jwks: Server;
let jwksUrl: string;
let signingKey: CryptoKey;
const open: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  sandbox = await startSandbox({ quotas: false });
  const pair = await generateKeyPair('RS256');
  signingKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  jwks = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => jwks.close(() => resolve()));
  await sandbox.close();
});

afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

async function gatewayWith(
  env: Record<string, string>,
  logger = pino({ level: 'silent' }),
): Promise<TestGateway> {
  const g = await startTestGateway({ sandboxInstance: sandbox, env, logger });
  open.push(g);
  return g;
}

async function withKeys(text: string): Promise<KeysDir> {
  const dir = await keysDir(text);
  open.push({ close: () => dir.remove() });
  return dir;
}

async function post(g: TestGateway, query: string, headers: Record<string, string> = {}) {
  const response = await g.gateway.yoga.fetch('http://gateway.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Body };
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const PING = '{ assets(first: 1) { edges { node { id } } } }';
const SOURCES = '{ sources { name healthy lastFailure { code } blockedUntil } }';

function jwt(
  claims: Record<string, unknown>,
  options: { expiresIn?: string | number; audience?: string } = {},
) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
    .setIssuer('https://issuer.test')
    .setAudience(options.audience ?? 'marketgraph')
    .setSubject('user-1')
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(signingKey);
}

describe('identity', () => {
  it('in required mode, refuses no key and a wrong key with 401 UNAUTHENTICATED and serves a good one', async () => {
    const good = newKey('good');
    const keys = await withKeys(keysFileText([good]));
    const g = await gatewayWith({ MARKETGRAPH_AUTH: 'required', MARKETGRAPH_API_KEYS_FILE: keys.path });

    const none = await post(g, PING);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(none.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(none.body.data).toBeUndefined();

    const wrong = await post(g, PING, bearer(`${good.key}x`));
    expect(wrong.status).toBe(401);
    expect(wrong.body.errors[0]).toMatchObject({
      message: 'the API key is not valid',
      extensions: { code: 'UNAUTHENTICATED' },
    });

    const byBearer = await post(g, PING, bearer(good.key));
    expect(byBearer.status).toBe(200);
    expect(byBearer.body.data.assets.edges).toHaveLength(1);
    const byHeader = await post(g, PING, { 'x-api-key': good.key });
    expect(byHeader.status).toBe(200);
    expect(byHeader.body.errors).toBeUndefined();
  });

  it('in optional mode, serves a caller without a key but never takes a wrong key for anonymous', async () => {
    const keys = await withKeys(keysFileText([newKey('good')]));
    const g = await gatewayWith({ MARKETGRAPH_AUTH: 'optional', MARKETGRAPH_API_KEYS_FILE: keys.path });
    expect((await post(g, PING)).status).toBe(200);
    const wrong = await post(g, PING, { 'x-api-key': 'mg_not-a-key' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const scheme = await post(g, PING, { authorization: 'Basic dXNlcjpwYXNz' });
    expect(scheme.status).toBe(401);
  });

  it('with MARKETGRAPH_AUTH=off checks nothing: no credential needed, every field open', async () => {
    const g = await gatewayWith({ MARKETGRAPH_AUTH: 'off' });
    const answer = await post(g, SOURCES, { 'x-api-key': 'anything' });
    expect(answer.status).toBe(200);
    expect(answer.body.errors).toBeUndefined();
  });

  it('verifies JWTs against the JWKS: scopes from the scope claim; expired, foreign-audience and forged tokens get 401', async () => {
    const keys = await withKeys(keysFileText([]));
    const g = await gatewayWith({
      MARKETGRAPH_AUTH: 'required',
      MARKETGRAPH_API_KEYS_FILE: keys.path,
      MARKETGRAPH_JWT_JWKS_URL: jwksUrl,
      MARKETGRAPH_JWT_ISSUER: 'https://issuer.test',
      MARKETGRAPH_JWT_AUDIENCE: 'marketgraph',
    });
    const operator = await post(g, SOURCES, bearer(await jwt({ scope: 'sources:detail other:scope' })));
    expect(operator.status).toBe(200);
    expect(operator.body.errors).toBeUndefined();
    expect(operator.body.data.sources.length).toBeGreaterThan(0);

    const plain = await post(g, SOURCES, bearer(await jwt({})));
    expect(plain.status).toBe(200);
    expect(plain.body.errors[0].extensions).toMatchObject({ code: 'FORBIDDEN', scope: 'sources:detail' });

    const expired = await post(
      g,
      PING,
      bearer(await jwt({}, { expiresIn: Math.floor(Date.now() / 1000) - 60 })),
    );
    expect(expired.status).toBe(401);
    expect(expired.body.errors[0]).toMatchObject({
      message: 'the bearer token was refused: the token has expired',
      extensions: { code: 'UNAUTHENTICATED' },
    });
    const foreign = await post(g, PING, bearer(await jwt({}, { audience: 'someone-else' })));
    expect(foreign.status).toBe(401);
    expect(foreign.body.errors[0].message).toMatch(/aud/);

    const other = await generateKeyPair('RS256');
    const forged = await new SignJWT({ scope: 'sources:detail' })
      .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
      .setIssuer('https://issuer.test')
      .setAudience('marketgraph')
      .setSubject('mallory')
      .setExpirationTime('5m')
      .sign(other.privateKey);
    const refused = await post(g, SOURCES, bearer(forged));
    expect(refused.status).toBe(401);
    expect(refused.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});

it('answers 503 AUTH_UNAVAILABLE, not 401, when the JWKS cannot be fetched to judge a token', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const g = await gatewayWith({
    MARKETGRAPH_AUTH: 'required',
    MARKETGRAPH_JWT_JWKS_URL: `http://127.0.0.1:${port}/jwks.json`,
  });
  const answer = await post(g, PING, bearer(await jwt({})));
  expect(answer.status).toBe(503);
  expect(answer.headers.get('retry-after')).toBe('5');
  expect(answer.body.errors[0].extensions.code).toBe('AUTH_UNAVAILABLE');
});

describe('scopes', () => {
  it('refuses only the field whose scope is missing: FORBIDDEN for a key, UNAUTHENTICATED for anonymous, the rest served', async () => {
    const plain = newKey('plain');
    const operator = newKey('operator', { scopes: ['sources:detail'] });
    const keys = await withKeys(keysFileText([plain, operator], { scopes: [] }));
    const g = await gatewayWith({ MARKETGRAPH_AUTH: 'optional', MARKETGRAPH_API_KEYS_FILE: keys.path });
    const query =
      '{ sources { name healthy lastFailure { code } } assets(first: 1) { edges { node { id } } } }';

    const refused = await post(g, query, bearer(plain.key));
    expect(refused.status).toBe(200);
    expect(refused.body.data.assets.edges).toHaveLength(1);
    const sources = refused.body.data.sources as Array<Record<string, unknown>>;
    expect(sources.length).toBeGreaterThan(1);
    for (const source of sources) {
      expect(typeof source.name).toBe('string');
      expect(source.lastFailure).toBeNull();
    }
    expect(refused.body.errors).toHaveLength(sources.length);
    expect(refused.body.errors[0]).toMatchObject({
      message: 'Source.lastFailure needs scope sources:detail, which this client does not have',
      path: ['sources', 0, 'lastFailure'],
      extensions: { code: 'FORBIDDEN', scope: 'sources:detail' },
    });

    const anonymous = await post(g, query);
    expect(anonymous.status).toBe(200);
    expect(anonymous.body.data.assets.edges).toHaveLength(1);
    expect(anonymous.body.errors[0].extensions).toEqual({ code: 'UNAUTHENTICATED', scope: 'sources:detail' });

    const allowed = await post(g, query, bearer(operator.key));
    expect(allowed.body.errors).toBeUndefined();
  });

  it('serves Token Metrics signals only with signals:licensed; computed ones to everybody', async () => {
    const plain = newKey('plain');
    const licensed = newKey('licensed', { scopes: ['signals:licensed'] });
    const keys = await withKeys(keysFileText([plain, licensed]));
    const g = await gatewayWith({ MARKETGRAPH_AUTH: 'optional', MARKETGRAPH_API_KEYS_FILE: keys.path });
    const named = '{ signals(assetIds: ["bitcoin"], kinds: [RSI, TM_TRADER_GRADE]) { kind source } }';

    const withScope = await post(g, named, bearer(licensed.key));
    expect(withScope.body.errors).toBeUndefined();
    expect(withScope.body.data.signals.map((s: Body) => s.kind).sort()).toEqual(['RSI', 'TM_TRADER_GRADE']);

    const without = await post(g, named, bearer(plain.key));
    const entries = without.body.data.signals as Array<Body>;
    expect(entries.filter((s) => s !== null).map((s) => s.kind)).toEqual(['RSI']);
    expect(entries.filter((s) => s === null)).toHaveLength(1);
    expect(without.body.errors).toHaveLength(1);
    expect(without.body.errors[0].extensions).toEqual({ code: 'FORBIDDEN', scope: 'signals:licensed' });

    // Without kinds, the licensed ones are not even asked for.
    const all = await post(g, '{ signals(assetIds: ["bitcoin"]) { kind source } }', bearer(plain.key));
    expect(all.body.errors).toBeUndefined();
    const kinds = (all.body.data.signals as Array<Body>).map((s) => s.kind);
    expect(kinds.length).toBeGreaterThan(0);
    expect(kinds.some((k: string) => k.startsWith('TM_'))).toBe(false);
    const full = await post(g, '{ signals(assetIds: ["bitcoin"]) { kind source } }', bearer(licensed.key));
    expect((full.body.data.signals as Array<Body>).some((s) => s.source === 'TOKENMETRICS')).toBe(true);
  });
});

describe('budgets', () => {
  it('refuses a key over its requests per minute with 429 RATE_LIMITED and Retry-After; other keys are unaffected', async () => {
    const tight = newKey('tight', { requestsPerMinute: 3 });
    const other = newKey('other');
    const keys = await withKeys(keysFileText([tight, other]));
    const g = await gatewayWith({ MARKETGRAPH_AUTH: 'required', MARKETGRAPH_API_KEYS_FILE: keys.path });
    for (let i = 0; i < 3; i++) expect((await post(g, PING, bearer(tight.key))).status).toBe(200);
    const over = await post(g, PING, bearer(tight.key));
    expect(over.status).toBe(429);
    const retryAfter = Number(over.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(over.body.errors[0]).toMatchObject({
      extensions: { code: 'RATE_LIMITED', retryAfter, limit: 'REQUESTS_PER_MINUTE' },
    });
    expect(over.body.errors[0].extensions.http).toBeUndefined();
    expect((await post(g, PING, bearer(other.key))).status).toBe(200);
  });

  it('refuses a key over its cost per minute (each operation costs its estimate, 1 without one)', async () => {
    const cheap = newKey('cheap', { costPerMinute: 2 });
    const keys = await withKeys(keysFileText([cheap]));
    const g = await gatewayWith({ MARKETGRAPH_AUTH: 'required', MARKETGRAPH_API_KEYS_FILE: keys.path });
    expect((await post(g, PING, bearer(cheap.key))).status).toBe(200);
    expect((await post(g, PING, bearer(cheap.key))).status).toBe(200);
    const over = await post(g, PING, bearer(cheap.key));
    expect(over.status).toBe(429);
    expect(over.body.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'COST_PER_MINUTE' });
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('reports what is left after each charge and hands a refused cost back', async () => {
    const budgets = createClientBudgets();
    const client: Client = {
      id: 'x',
      kind: 'key',
      scopes: new Set(),
      plan: { requestsPerMinute: 10, costPerMinute: 50, maxSubscriptions: 1 },
    };
    expect(await budgets.charge(client, { requests: 1, cost: 20 })).toMatchObject({
      ok: true,
      snapshot: { requests: 9, cost: 30 },
    });
    expect(await budgets.charge(client, { requests: 1, cost: 40 })).toMatchObject({
      ok: false,
      limit: 'cost',
      snapshot: { requests: 8, cost: 30 },
    });
    // The refused 40 was handed back: 30 still fit.
    expect(await budgets.charge(client, { requests: 1, cost: 30 })).toMatchObject({
      ok: true,
      snapshot: { cost: 0 },
    });
    // More than a whole minute's budget could never pass: COST_LIMIT_EXCEEDED, not "retry later".
    expect(await budgets.charge(client, { requests: 0, cost: 51 })).toMatchObject({
      ok: false,
      limit: 'plan',
    });
  });
});

describe('keys file', () => {
  it('is re-read on reload (SIGHUP) and on change; a bad file keeps the last good keys and logs one line', async () => {
    const first = newKey('first');
    const second = newKey('second');
    const third = newKey('third');
    const keys = await withKeys(keysFileText([first]));
    const lines: Array<{ level: number; msg: string }> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const g = await gatewayWith(
      { MARKETGRAPH_AUTH: 'required', MARKETGRAPH_API_KEYS_FILE: keys.path },
      logger,
    );
    expect((await post(g, PING, bearer(second.key))).status).toBe(401);

    await keys.write(keysFileText([first, second]));
    expect(await g.gateway.reloadKeys()).toBe(true);
    expect((await post(g, PING, bearer(second.key))).status).toBe(200);

    const before = lines.length;
    await keys.write('{ "keys": [ { "id": "broken" } ] }');
    expect(await g.gateway.reloadKeys()).toBe(false);
    // A second SIGHUP (or the change event) on the same bad file adds no line.
    expect(await g.gateway.reloadKeys()).toBe(false);
    const warned = lines.slice(before).filter((l) => l.level === 40);
    expect(warned).toHaveLength(1);
    expect(warned[0]!.msg).toMatch(/keys file|MARKETGRAPH_API_KEYS_FILE/);
    expect(warned[0]!.msg).toMatch(/keeping the keys loaded before/);
    expect((await post(g, PING, bearer(second.key))).status).toBe(200);

    // A change is picked up without a reload call.
    await keys.write(keysFileText([third]));
    let status = 0;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      status = (await post(g, PING, bearer(third.key))).status;
      if (status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(status).toBe(200);
    expect((await post(g, PING, bearer(first.key))).status).toBe(401);
  });

  it('warns at start when auth is required but nothing could ever be accepted', async () => {
    const lines: Array<{ level: number; msg: string }> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const g = await gatewayWith({ MARKETGRAPH_AUTH: 'required' }, logger);
    expect(lines.filter((l) => l.level === 40).map((l) => l.msg)).toEqual([
      expect.stringMatching(
        /^MARKETGRAPH_AUTH is required but neither .* every request will be refused with 401$/,
      ),
    ]);
    expect((await post(g, PING)).status).toBe(401);
  });

  it('refuses to start on a keys file that is not valid, naming the setting and the problem', async () => {
    const keys = await withKeys(
      '{ "keys": [ { "id": "a", "sha256": "short", "requestsPerMinute": 1, "costPerMinute": 1, "maxSubscriptions": 1 } ] }',
    );
    await expect(
      gatewayWith({ MARKETGRAPH_AUTH: 'required', MARKETGRAPH_API_KEYS_FILE: keys.path }),
    ).rejects.toThrow(/MARKETGRAPH_API_KEYS_FILE .*keys\.0\.sha256/);
  });
});
