import { describe, expect, it } from 'vitest';
import { createClientBudgets } from '../../src/auth/budgets.js';
import type { Client } from '../../src/auth/client.js';

// Requests are leased from a client's bucket a hundredth of its plan at a time (src/auth/budgets.ts):
// most charges are answered synchronously, the plan is never exceeded, the last requests of a window
// are charged one by one, and the budget reported counts what is left of the lease as the client's.

const client = (requestsPerMinute: number): Client => ({
  id: `lease-${requestsPerMinute}`,
  kind: 'key',
  scopes: new Set(),
  plan: { requestsPerMinute, costPerMinute: 1_000_000, maxSubscriptions: 1 },
});

describe('request leases', () => {
  it('grants exactly the plan, mostly without waiting, then refuses with a retry time', async () => {
    const budgets = createClientBudgets({ now: () => 1_750_000_000_000 });
    const c = client(1_000);
    let synchronous = 0;
    let granted = 0;
    for (let i = 0; i < 1_000; i++) {
      const pending = budgets.chargeRequest(c);
      if (!(pending instanceof Promise)) synchronous++;
      const outcome = await pending;
      if (outcome.ok) granted++;
    }
    expect(granted).toBe(1_000);
    // One lease of 10 per 10 requests: 9 of every 10 answered from the lease.
    expect(synchronous).toBe(900);
    const over = await budgets.chargeRequest(c);
    expect(over).toMatchObject({ ok: false, limit: 'requests' });
    expect(over.ok === false && over.limit === 'requests' && over.retryAfterMs).toBeGreaterThan(0);
  });

  it('charges the end of a budget one by one, and reports what is left including the lease', async () => {
    const budgets = createClientBudgets();
    const c = client(250); // leases of 2
    const first = await budgets.chargeRequest(c);
    expect(first).toMatchObject({ ok: true, snapshot: { requests: 249 } });
    const second = await budgets.chargeRequest(c);
    expect(second).toMatchObject({ ok: true, snapshot: { requests: 248 } });
    // A cost charge in between does not disturb the request count.
    expect(await budgets.charge(c, { requests: 0, cost: 5 })).toMatchObject({ snapshot: { requests: 248 } });
    let granted = 2;
    while ((await budgets.chargeRequest(c)).ok) granted++;
    expect(granted).toBe(250);
  });

  it('lets concurrent requests wait for one lease rather than each taking one', async () => {
    const budgets = createClientBudgets();
    const c = client(6_000); // leases of 60: 200 leases at once would be twice the plan
    const outcomes = await Promise.all(Array.from({ length: 200 }, () => budgets.chargeRequest(c)));
    expect(outcomes.filter((o) => o.ok)).toHaveLength(200);
    const after = await budgets.chargeRequest(c);
    expect(after).toMatchObject({ ok: true, snapshot: { requests: 5_799 } });
  });
});
