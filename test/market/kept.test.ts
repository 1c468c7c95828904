import { afterEach, describe, expect, it } from 'vitest';
import { type Cache, createCache } from '../../src/cache.js';
import { loadConfig } from '../../src/config.js';
import { keptCatalogue } from '../../src/market/identity/kept.js';
import { manualClock } from '../helpers/manual-clock.js';

const opened: Cache[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});

function setup(fetch: () => Promise<string[]>) {
  const clock = manualClock();
  const cache = createCache({ config: loadConfig({ env: {} }), now: clock.now });
  opened.push(cache);
  const kept = keptCatalogue({
    cache,
    namespace: 'catalogue-coincap',
    freshMs: 1_000,
    keepMs: 100_000,
    retryMs: 50,
    fetch,
    now: clock.now,
  });
  return { kept, clock };
}

describe('a kept catalogue', () => {
  it('asks again after the back-off when the fetch threw before returning a promise', async () => {
    let calls = 0;
    const { kept, clock } = setup(() => {
      calls += 1;
      if (calls === 1) throw new Error('thrown synchronously');
      return Promise.resolve(['bitcoin']);
    });
    expect((await kept.read()).ok).toBe(false);
    clock.advance(51);
    const second = await kept.read();
    expect(second).toMatchObject({ ok: true, value: ['bitcoin'], stale: false });
    expect(calls).toBe(2);
  });

  it('shares one fetch between concurrent readers and serves the copy for its freshness', async () => {
    let calls = 0;
    const { kept, clock } = setup(async () => {
      calls += 1;
      return ['bitcoin', 'ethereum'];
    });
    const [a, b] = await Promise.all([kept.read(), kept.read()]);
    expect(a).toMatchObject({ ok: true, stale: false });
    expect(b).toMatchObject({ ok: true, stale: false });
    clock.advance(999);
    expect(await kept.read()).toMatchObject({ ok: true, stale: false });
    expect(calls).toBe(1);
  });
});
