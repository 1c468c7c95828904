import { describe, expect, it } from 'vitest';
import { subscribeSse, subscribeWs, waitFor, wsClient } from '../helpers/clients.js';
import { startTestGateway, useListeningGateway } from '../helpers/gateway.js';

// A chain no provider serves is NOT_FOUND, naming it and the chains that are known, in the query and
// in the subscription alike (the query answered []). An outage of the chain list is not NOT_FOUND.

type Coded = { message: string; extensions?: { code?: string; chain?: string; knownChains?: string[] } };

describe('on-chain metrics of a chain nobody serves', () => {
  const gateway = useListeningGateway();

  const expectUnknownChain = (error: Coded | undefined) => {
    expect(error?.message).toBe('chain "nochain" was not found');
    expect(error?.extensions?.code).toBe('NOT_FOUND');
    expect(error?.extensions?.chain).toBe('nochain');
    // Ours, and DefiLlama's (canonical slugs), sorted.
    const known = error?.extensions?.knownChains ?? [];
    expect(known).toEqual(expect.arrayContaining(['all', 'bitcoin', 'ethereum', 'solana']));
    expect(known).toEqual([...known].sort());
    expect(known).not.toContain('nochain');
  };

  /** An outage, not NOT_FOUND: at least one error, every one an upstream code. */
  const expectUpstreamCoded = (errors: unknown[] | undefined) => {
    const codes = (errors ?? []).map((e) => (e as Coded).extensions?.code);
    expect(codes.length).toBeGreaterThan(0);
    expect(codes.every((c) => c?.startsWith('UPSTREAM_'))).toBe(true);
  };

  it('Query.onChainMetrics answers NOT_FOUND naming the chain, at one chain-list call', async () => {
    gateway.t.sandbox.resetCounts();
    const res = await gateway.t.query<{ onChainMetrics: unknown }>(
      '{ onChainMetrics(chain: "NoChain") { kind } }',
    );
    expect(res.body.errors).toHaveLength(1);
    expectUnknownChain(res.body.errors![0] as Coded);
    expect((res.body.errors![0] as { path?: unknown }).path).toEqual(['onChainMetrics']);
    expect(gateway.t.sandbox.counts()).toEqual({ defillama: { 'v2/chains': 1 } });
    // A chain DefiLlama lists still answers its TVL.
    const solana = await gateway.t.query<{ onChainMetrics: Array<{ kind: string }> }>(
      '{ onChainMetrics(chain: "solana") { kind } }',
    );
    expect(solana.body.errors).toBeUndefined();
    expect(solana.body.data!.onChainMetrics.map((m) => m.kind)).toEqual(['TVL']);
  });

  it('Subscription.onChainMetricUpdated answers the same NOT_FOUND over graphql-ws and SSE', async () => {
    const query = 'subscription { onChainMetricUpdated(chain: "nochain") { kind value } }';
    const client = wsClient(gateway.url);
    const ws = subscribeWs(client, query);
    const sse = subscribeSse(gateway.url, query);
    await waitFor(() => ws.events.length > 0 || ws.failure() !== undefined, 5_000, 'a graphql-ws answer');
    await sse.done;
    expectUnknownChain(((ws.events[0]?.errors ?? ws.failure()) as Coded[])[0]);
    expect(sse.events).toHaveLength(1);
    expectUnknownChain((sse.events[0]!.errors as Coded[])[0]);
    await client.dispose();
  });

  it('with DefiLlama down the chain is not called unknown: its TVL fails with an upstream code', async () => {
    const fresh = await startTestGateway({ sandboxInstance: gateway.t.sandbox });
    gateway.t.sandbox.faults.set('defillama', '*', { kind: 'server-error', status: 503 });
    try {
      const res = await fresh.query<{ onChainMetrics: unknown[] }>(
        '{ onChainMetrics(chain: "nochain") { kind } }',
      );
      expectUpstreamCoded(res.body.errors);
    } finally {
      gateway.t.sandbox.faults.clear('defillama');
      await fresh.close();
    }
  });

  it("with DefiLlama's chain list down an asset's metrics are a coded error, not an empty list", async () => {
    const fresh = await startTestGateway({ sandboxInstance: gateway.t.sandbox });
    gateway.t.sandbox.faults.set('defillama', 'v2/chains', { kind: 'server-error', status: 503 });
    try {
      const res = await fresh.query<{ asset: { id: string; onChainMetrics: unknown[] | null } | null }>(
        '{ asset(by: { id: "solana" }) { id onChainMetrics { kind value } } }',
      );
      expect(res.body.data?.asset?.id).toBe('solana');
      expectUpstreamCoded(res.body.errors);
    } finally {
      gateway.t.sandbox.faults.clear('defillama');
      await fresh.close();
    }
  });
});
