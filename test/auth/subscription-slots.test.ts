import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '../../src/auth/client.js';
import { createSubscriptionSlots, type SlotStore } from '../../src/auth/subscription-slots.js';
import { loadConfig } from '../../src/config.js';
import { createRedisConnection, type RedisConnection, UNAVAILABLE } from '../../src/redis.js';
import { waitFor } from '../helpers/clients.js';
import { manualClock } from '../helpers/manual-clock.js';
import { manualTimers } from '../helpers/manual-timers.js';
import { deleteKeys, redisTestUrl, testPrefix } from '../helpers/redis.js';

// Subscription slots shared through the real Redis (src/auth/subscription-slots.ts), each test under a
// prefix of its own: two "processes" (slot sets with their own ids) over one prefix enforce one cap per
// client, a holder that stops renewing loses its slots after the lease, one that renews keeps them,
// and while Redis cannot answer the local count decides.

const LEASE_MS = 30_000;

const client = (maxSubscriptions: number, id = 'k'): Client => ({
  id,
  kind: 'key',
  scopes: new Set(),
  plan: { requestsPerMinute: 1_000, costPerMinute: 1_000_000, maxSubscriptions },
});

let connection: RedisConnection;
const prefixes: string[] = [];

beforeAll(async () => {
  connection = createRedisConnection({ config: loadConfig({ env: { REDIS_URL: redisTestUrl() } }) });
  await waitFor(() => connection.up(), 10_000, 'redis up');
});
afterEach(async () => {
  for (const prefix of prefixes.splice(0)) await deleteKeys(connection.commands, prefix);
});
afterAll(async () => {
  await connection.close();
});

/** A store over the shared Redis that counts finished calls and can play "Redis is down". */
function store() {
  const keyPrefix = testPrefix('subscription-slots');
  prefixes.push(keyPrefix);
  const state = { down: false, finished: 0 };
  const s: SlotStore & { state: typeof state } = {
    keyPrefix,
    state,
    async run(command) {
      const answer = state.down ? UNAVAILABLE : await connection.run(command);
      state.finished += 1;
      return answer;
    },
  };
  return s;
}

function holder(shared: SlotStore, id: string, clock = manualClock(1_750_000_000_000)) {
  const timers = manualTimers();
  const slots = createSubscriptionSlots({
    store: shared,
    now: clock.now,
    timers,
    leaseMs: LEASE_MS,
    processId: id,
  });
  return { slots, timers, clock };
}

describe('subscription slots across processes', () => {
  it('two processes enforce one cap per client; a release on one lets the other in', async () => {
    const shared = store();
    const a = holder(shared, 'a');
    const b = holder(shared, 'b', a.clock);
    const c = client(2);
    const first = await a.slots.open(c);
    const second = await a.slots.open(c);
    expect(first).toBeTypeOf('function');
    expect(second).toBeTypeOf('function');
    expect(await b.slots.open(c)).toBeUndefined();
    // Another client has its own slots.
    expect(await b.slots.open(client(2, 'other'))).toBeTypeOf('function');

    const before = shared.state.finished;
    first!();
    await waitFor(() => shared.state.finished > before, 5_000, 'the release to reach Redis');
    const third = await b.slots.open(c);
    expect(third).toBeTypeOf('function');
    expect(await a.slots.open(c)).toBeUndefined();
    expect(await connection.commands.zcard(`${shared.keyPrefix}subs:k`)).toBe(2);
    expect(a.slots.held(c)).toBe(1);
    expect(b.slots.held(c)).toBe(1);
  });

  it('a holder that stops renewing loses its slots once their lease is over; one that renews keeps them', async () => {
    const shared = store();
    const crashed = holder(shared, 'crashed');
    const living = holder(shared, 'living', crashed.clock);
    const b = holder(shared, 'b', crashed.clock);
    const c = client(2);
    const gone = client(1, 'gone');
    expect(await crashed.slots.open(gone)).toBeTypeOf('function');
    expect(await living.slots.open(c)).toBeTypeOf('function');
    expect(await living.slots.open(c)).toBeTypeOf('function');
    // The crash: no renewal runs again and nothing is released.
    crashed.slots.close();
    expect(crashed.timers.pending()).toEqual([]);
    expect(living.timers.pending()).toEqual([LEASE_MS / 3]);

    for (let i = 0; i < 4; i++) {
      crashed.clock.advance(LEASE_MS / 3);
      const before = shared.state.finished;
      expect(living.timers.fire()).toBe(1);
      await waitFor(() => shared.state.finished > before, 5_000, 'a renewal');
      expect(living.timers.pending()).toEqual([LEASE_MS / 3]);
    }
    // Four thirds of a lease later: the renewed slots still count, the crashed holder's do not.
    expect(await b.slots.open(c)).toBeUndefined();
    expect(await b.slots.open(gone)).toBeTypeOf('function');
  });

  it('an unrenewed slot counts until its lease is over, not a moment less', async () => {
    const shared = store();
    const a = holder(shared, 'a');
    const b = holder(shared, 'b', a.clock);
    const c = client(1);
    expect(await a.slots.open(c)).toBeTypeOf('function');
    a.slots.close();
    a.clock.advance(LEASE_MS - 1);
    expect(await b.slots.open(c)).toBeUndefined();
    a.clock.advance(1);
    expect(await b.slots.open(c)).toBeTypeOf('function');
  });

  it('while Redis cannot answer the local count decides; those slots join the shared set at the next renewal', async () => {
    const shared = store();
    const a = holder(shared, 'a');
    const b = holder(shared, 'b', a.clock);
    const c = client(2);
    shared.state.down = true;
    expect(await a.slots.open(c)).toBeTypeOf('function');
    expect(await a.slots.open(c)).toBeTypeOf('function');
    expect(await a.slots.open(c)).toBeUndefined();
    shared.state.down = false;
    // Redis never saw A's two: B is let in (the cap is briefly exceeded across processes).
    expect(await b.slots.open(c)).toBeTypeOf('function');
    const before = shared.state.finished;
    a.timers.fire();
    await waitFor(() => shared.state.finished > before, 5_000, 'a renewal');
    expect(await connection.commands.zcard(`${shared.keyPrefix}subs:k`)).toBe(3);
    expect(await b.slots.open(c)).toBeUndefined();
  });

  it('the last release stops the renewal timer, and close() stops it too', async () => {
    const shared = store();
    const a = holder(shared, 'a');
    const c = client(2);
    const one = await a.slots.open(c);
    const two = await a.slots.open(c);
    expect(a.timers.pending()).toHaveLength(1);
    one!();
    expect(a.timers.pending()).toHaveLength(1);
    two!();
    expect(a.timers.pending()).toEqual([]);
    await a.slots.open(c);
    expect(a.timers.pending()).toHaveLength(1);
    a.slots.close();
    expect(a.timers.pending()).toEqual([]);
  });

  it('without a store, slots are counted in this process only and no timer runs', async () => {
    const timers = manualTimers();
    const slots = createSubscriptionSlots({ timers });
    const c = client(1);
    const release = await slots.open(c);
    expect(await slots.open(c)).toBeUndefined();
    expect(timers.pending()).toEqual([]);
    release!();
    release!();
    expect(slots.held(c)).toBe(0);
    expect(await slots.open(c)).toBeTypeOf('function');
  });
});
