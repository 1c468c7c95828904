import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { STREAM_TOKEN_HEADER } from '../../src/transport/use-graphql-sse.js';
import { documentKey } from '../../src/trust/manifest.js';
import { waitFor } from '../helpers/clients.js';
import { useKeyedGateways } from '../helpers/keyed-gateways.js';
import { newKey } from '../helpers/keys.js';

// Trusted documents in enforce mode, on every transport and in every auth mode: a caller without scope
// query:any who sends a document outside the manifest gets TRUSTED_DOCUMENT_REQUIRED and nothing else.
// Before the refusal came ahead of validation, such a document was parsed and validated first, and its
// errors ("Cannot query field "idd" ... Did you mean "id"?") told the caller the schema's field names
// even with introspection off.

const { cleanups, start } = useKeyedGateways();

const NAMES = 'query Names { assets(first: 2) { edges { node { id symbol } } } }';
const PRICES = 'subscription Prices { priceUpdated(assetIds: ["bitcoin"]) { assetId value } }';
/** Outside the manifest: a syntax error, an unknown field (validation would name the right one), a valid one. */
const UNTRUSTED = {
  syntax: '{ assets(first: 2) { edges { node { id }',
  unknownField: '{ assets(first: 2) { edges { node { idd } } } }',
  valid: '{ assets(first: 1) { edges { node { id } } } }',
};

const reader = newKey('reader', { scopes: ['subscribe'] });
const anyDocument = newKey('any', { scopes: ['subscribe', 'query:any'] });
const bearer = (key: { key: string }) => ({ authorization: `Bearer ${key.key}` });

interface Answer {
  status?: number;
  errors: Array<{ message: string; extensions?: { code?: string } }>;
  data?: unknown;
}

async function gateway(auth: 'off' | 'optional' | 'required') {
  const dir = mkdtempSync(join(tmpdir(), 'marketgraph-trusted-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const manifest = join(dir, 'manifest.json');
  writeFileSync(manifest, JSON.stringify({ [documentKey(NAMES)]: NAMES, [documentKey(PRICES)]: PRICES }));
  return start({
    keys: [reader, anyDocument],
    anonymous: { scopes: ['subscribe'] },
    env: {
      MARKETGRAPH_AUTH: auth,
      MARKETGRAPH_TRUSTED_DOCUMENTS: manifest,
      MARKETGRAPH_TRUSTED_DOCUMENTS_MODE: 'enforce',
      // The live profile's switch: the refusal must not leak what introspection hides.
      MARKETGRAPH_INTROSPECTION: 'false',
    },
  });
}

type Transport = (url: string, query: string, headers: Record<string, string>) => Promise<Answer>;

const post: Transport = async (url, query, headers) => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, errors: [], ...((await response.json()) as Partial<Answer>) };
};

const get: Transport = async (url, query, headers) => {
  const response = await fetch(`${url}?query=${encodeURIComponent(query)}`, {
    headers: { accept: 'application/graphql-response+json', ...headers },
  });
  return { status: response.status, errors: [], ...((await response.json()) as Partial<Answer>) };
};

/** Yoga's SSE (distinct connections): the first event of the stream, which then ends or is closed. */
const sse: Transport = async (url, query, headers) => {
  const controller = new AbortController();
  cleanups.push(async () => controller.abort());
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify({ query }),
    signal: controller.signal,
  });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let event = /^data: (.*)$/m.exec(text);
  while (!event) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    event = /^data: (.*)$/m.exec(text);
  }
  controller.abort();
  if (!event) throw new Error(`no SSE event (status ${response.status}): ${text}`);
  return { errors: [], ...(JSON.parse(event[1]!) as Partial<Answer>) };
};

/** graphql-sse single-connection mode: reserve a stream, open it, post the operation to it. */
const sseSingle: Transport = async (url, query, headers) => {
  const reserved = await fetch(url, { method: 'PUT', headers });
  expect(reserved.status).toBe(201);
  const token = await reserved.text();
  const controller = new AbortController();
  cleanups.push(async () => controller.abort());
  const stream = await fetch(url, {
    headers: { accept: 'text/event-stream', [STREAM_TOKEN_HEADER]: token, ...headers },
    signal: controller.signal,
  });
  expect(stream.status).toBe(200);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [STREAM_TOKEN_HEADER]: token, ...headers },
    body: JSON.stringify({ query, extensions: { operationId: 'op' } }),
  });
  const text = await response.text();
  controller.abort();
  // Accepted: the results go to the stream.
  if (response.status === 202) return { status: 202, errors: [] };
  return { status: response.status, errors: [], ...(JSON.parse(text) as Partial<Answer>) };
};

/** graphql-ws, the credential in connection_init: the operation's first result or its `error` message. */
const ws: Transport = async (url, query, headers) => {
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams: headers,
  });
  cleanups.push(() => client.dispose() as Promise<void>);
  let answer: Answer | undefined;
  const stop = client.subscribe(
    { query },
    {
      next: (value) => {
        answer ??= { errors: [], ...(value as Omit<Answer, 'errors'>) };
      },
      error: (error) => {
        answer ??= Array.isArray(error) ? { errors: error } : { errors: [{ message: String(error) }] };
      },
      complete: () => undefined,
    },
  );
  await waitFor(() => answer !== undefined, 10_000, 'the graphql-ws answer');
  stop();
  return answer!;
};

const transports = { post, get, sse, sseSingle, ws } satisfies Record<string, Transport>;

/** Callers without query:any in each auth mode (off: there is no caller at all). */
const withoutScope = {
  off: { nobody: {} },
  optional: { anonymous: {}, reader: bearer(reader) },
  required: { reader: bearer(reader) },
} as const;

describe.each(['off', 'optional', 'required'] as const)('trusted documents enforced, auth %s', (auth) => {
  it('refuses a document outside the manifest on every transport with only TRUSTED_DOCUMENT_REQUIRED', async () => {
    const { url } = await gateway(auth);
    for (const [caller, headers] of Object.entries(withoutScope[auth])) {
      for (const [name, send] of Object.entries(transports)) {
        for (const [kind, query] of Object.entries(UNTRUSTED)) {
          const what = `${caller} over ${name}, ${kind}`;
          const answer = await send(url, query, headers);
          expect(
            answer.errors.map((e) => e.extensions?.code),
            `${what}: ${JSON.stringify(answer.errors)}`,
          ).toEqual(['TRUSTED_DOCUMENT_REQUIRED']);
          expect(answer.errors[0]!.message, what).toMatch(/trusted documents/);
          expect(answer.data ?? null, what).toBeNull();
          if (answer.status !== undefined && name !== 'sse') expect(answer.status, what).toBe(403);
        }
      }
    }
  });

  it('runs manifest documents sent as text on every transport, and by documentId', async () => {
    const { url } = await gateway(auth);
    for (const [caller, headers] of Object.entries(withoutScope[auth])) {
      for (const [name, send] of Object.entries(transports)) {
        const what = `${caller} over ${name}`;
        const answer = await send(url, name === 'ws' || name === 'sse' ? PRICES : NAMES, headers);
        expect(answer.errors, `${what}: ${JSON.stringify(answer.errors)}`).toEqual([]);
        if (name !== 'sseSingle') expect(answer.data, what).toBeTruthy();
      }
      const byId = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ documentId: documentKey(NAMES) }),
      });
      expect(((await byId.json()) as { data?: unknown }).data, `${caller} by documentId`).toBeTruthy();
    }
  });
});

// With auth off there is no caller, so nobody can hold query:any: the case is for the other modes.
describe.each(['optional', 'required'] as const)(
  'trusted documents enforced, auth %s, scope query:any',
  (auth) => {
    it('lets the caller send any document (and see its validation errors)', async () => {
      const { url } = await gateway(auth);
      const headers = bearer(anyDocument);
      for (const [name, send] of Object.entries(transports)) {
        const valid = await send(url, UNTRUSTED.valid, headers);
        expect(valid.errors, name).toEqual([]);
        const invalid = await send(url, UNTRUSTED.unknownField, headers);
        expect(
          invalid.errors.map((e) => e.extensions?.code),
          name,
        ).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      }
    });
  },
);
