import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkAssetsBody,
  RACE_QUERY,
  validateAssetsAnswer,
} from '../../scripts/bench/scenarios/race-answer.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

// The race counts an answer as good only if both checks pass it: the full one on each slot's first
// answer and the string scan on every answer under load. Both must accept what the gateway really
// answers, and both must reject each way an answer can be wrong.

let t: TestGateway;
let good: string;

beforeAll(async () => {
  t = await startTestGateway();
  const response = await t.gateway.yoga.fetch('http://gateway.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query: RACE_QUERY }),
  });
  expect(response.status).toBe(200);
  good = await response.text();
});

afterAll(async () => {
  await t?.close();
});

/** The gateway's answer with the first edge changed by `edit` (re-serialized in the same key order). */
interface EdgeNode {
  id: unknown;
  symbol: unknown;
  price: { value: unknown; asOf: unknown } | null;
}

function withFirstEdge(edit: (node: EdgeNode) => void): string {
  const body = JSON.parse(good);
  edit(body.data.assets.edges[0].node);
  return JSON.stringify(body);
}

describe('race answer checks', () => {
  it("accept the gateway's own answer to the race document", () => {
    expect(validateAssetsAnswer(good)).toBeUndefined();
    expect(checkAssetsBody(good)).toBe(true);
  });

  it.each([
    ['an answer with errors', () => JSON.stringify({ ...JSON.parse(good), errors: [{ message: 'boom' }] })],
    [
      '49 edges',
      () => {
        const body = JSON.parse(good);
        body.data.assets.edges.pop();
        return JSON.stringify(body);
      },
    ],
    [
      '51 edges',
      () => {
        const body = JSON.parse(good);
        body.data.assets.edges.push(body.data.assets.edges[0]);
        return JSON.stringify(body);
      },
    ],
    ['a null price', () => withFirstEdge((node) => Object.assign(node, { price: null }))],
    ['a negative price', () => withFirstEdge((node) => Object.assign(node.price!, { value: -1 }))],
    ['a price as a string', () => withFirstEdge((node) => Object.assign(node.price!, { value: '1.5' }))],
    ['an empty id', () => withFirstEdge((node) => Object.assign(node, { id: '' }))],
    ['a missing asOf', () => withFirstEdge((node) => Object.assign(node.price!, { asOf: null }))],
    ['no data', () => JSON.stringify({ data: null, errors: [{ message: 'down' }] })],
    ['a truncated body', () => good.slice(0, good.length / 2)],
  ])('reject %s', (_label, make) => {
    const text = make();
    expect(validateAssetsAnswer(text)).toBeDefined();
    expect(checkAssetsBody(text)).toBe(false);
  });
});
