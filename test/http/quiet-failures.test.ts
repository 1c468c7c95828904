import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { HttpCall } from '../../src/http/client.js';
import { buildConfig, makeHttp, sendJson, startScriptedServer } from './helpers.js';

// A provider failing call after call, outside any request (the registry, the pollers), warns once
// per endpoint and kind of failure, then once on recovery at info; the repeats stay at debug.

const call: HttpCall<unknown> = {
  provider: 'coingecko',
  endpoint: 'coins/markets',
  path: '/coins/markets',
  schema: z.array(z.object({ id: z.string() })),
};

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((thing) => thing.close()));
});

function parsed(lines: string[]) {
  return lines.map((l) => JSON.parse(l) as { level: number; msg: string; [k: string]: unknown });
}

describe('createHttp: failures outside requests', () => {
  it('warns on the first failure, not its repeats, again on a different one, and at info on recovery', async () => {
    let status = 503;
    const server = await startScriptedServer((_req, res) => sendJson(res, status, status === 200 ? [] : {}));
    const config = buildConfig(
      { MARKETGRAPH_UPSTREAM_RETRIES: '0', MARKETGRAPH_BREAKER_THRESHOLD: '1000' },
      { coingecko: server.url },
    );
    const { http, lines } = makeHttp(config, {});
    open.push(server, http);

    for (let i = 0; i < 10; i++) await http.get(call).catch(() => undefined);
    status = 500;
    for (let i = 0; i < 10; i++) await http.get(call).catch(() => undefined);
    const failed = () => parsed(lines).filter((l) => l.msg === 'upstream call failed');
    expect(server.requests).toHaveLength(20);
    expect(
      failed()
        .filter((l) => l.level === 40)
        .map((l) => l.status),
    ).toEqual([503, 500]);
    expect(failed().filter((l) => l.level === 20)).toHaveLength(18);

    status = 200;
    await http.get(call);
    await http.get(call);
    const recovered = parsed(lines).filter((l) => l.msg === 'upstream calls recovered');
    expect(recovered).toEqual([
      expect.objectContaining({ level: 30, provider: 'coingecko', endpoint: 'coins/markets', failures: 20 }),
    ]);
  });
});
