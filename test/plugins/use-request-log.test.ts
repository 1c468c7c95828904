import { createSchema, createYoga } from 'graphql-yoga';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics.js';
import { createRequestLog } from '../../src/plugins/use-request-log.js';

// The request log's optional fields, on a tiny schema: upstream calls read from the per-request budget
// (`context.upstream.calls()`) and the client from `context.client`, when a context carries them.

function yogaWith(context: Record<string, unknown>) {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (text: string) => void lines.push(JSON.parse(text)) });
  let clock = 0;
  const log = createRequestLog({
    logger,
    metrics: createMetrics(),
    now: () => (clock += 5),
    createId: () => 'id-1',
  });
  const yoga = createYoga({
    schema: createSchema({
      typeDefs: 'type Query { ping: String }',
      resolvers: { Query: { ping: () => 'pong' } },
    }),
    context: () => context,
    logging: false,
    plugins: [log.plugin],
  });
  const query = async () => {
    const response = await yoga.fetch('http://test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query Ping { ping }' }),
    });
    await response.text();
    return response;
  };
  return { lines, query };
}

describe('the request log line', () => {
  it('carries upstream calls per provider and the client when the context has them', async () => {
    const { lines, query } = yogaWith({
      upstream: { calls: () => ({ coingecko: 2, binance: 0, coincap: 1 }) },
      client: { id: 'client-7' },
    });
    const response = await query();
    expect(response.headers.get('x-request-id')).toBe('id-1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      requestId: 'id-1',
      operation: 'Ping',
      type: 'query',
      status: 'ok',
      httpStatus: 200,
      upstreamCalls: { coingecko: 2, coincap: 1 },
      client: 'client-7',
    });
    expect(lines[0]!.durationMs).toBeGreaterThan(0);
  });

  it('takes a client given as a string, and leaves both fields out when the context has neither', async () => {
    const withString = yogaWith({ client: 'svc-a' });
    await withString.query();
    expect(withString.lines[0]!.client).toBe('svc-a');

    const bare = yogaWith({});
    await bare.query();
    expect(bare.lines[0]).not.toHaveProperty('client');
    expect(bare.lines[0]).not.toHaveProperty('upstreamCalls');
  });
});
