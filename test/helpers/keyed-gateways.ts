import pino from 'pino';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { loadConfig, type UpstreamName } from '../../src/config.js';
import { sandboxEndpoints } from '../../src/sandbox/dialects.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';
import { createGateway, type GatewayDeps } from '../../src/server.js';
import { onlyUpstreams } from './gateway.js';
import { keysDir, keysFileText, type TestKey } from './keys.js';

// Real gateways over real sockets, each with a keys file of its own, over one sandbox per test file
// (quotas off): the set-up the client-identity tests share. Registers the file's hooks: the sandbox
// starts before the first test and stops after the last; everything a test started (gateways, keys
// files, whatever it adds to `cleanups`) is undone after it, last first.

export interface KeyedGatewayOptions {
  keys?: TestKey[];
  /** The anonymous plan of the keys file. */
  anonymous?: Parameters<typeof keysFileText>[1];
  env?: Record<string, string>;
  /** Providers left on (the others are turned off); coingecko and binance by default. */
  upstreams?: UpstreamName[];
  /** Silent logging unless `deps.logger` is given. */
  deps?: GatewayDeps;
}

export function useKeyedGateways() {
  let sandbox: Sandbox | undefined;
  const cleanups: Array<() => Promise<unknown>> = [];
  beforeAll(async () => {
    sandbox = await startSandbox({ quotas: false });
  });
  afterAll(async () => {
    await sandbox?.close();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start(options: KeyedGatewayOptions = {}) {
    const dir = await keysDir(keysFileText(options.keys ?? [], options.anonymous));
    cleanups.push(() => dir.remove());
    const config = loadConfig({
      env: {
        MARKETGRAPH_PORT: '0',
        MARKETGRAPH_LOG_LEVEL: 'silent',
        MARKETGRAPH_API_KEYS_FILE: dir.path,
        ...onlyUpstreams(...(options.upstreams ?? ['coingecko', 'binance'])),
        ...options.env,
      },
      endpoints: sandboxEndpoints(sandbox!),
    });
    const gateway = createGateway(config, { logger: pino({ level: 'silent' }), ...options.deps });
    const { url } = await gateway.start();
    cleanups.push(() => gateway.close());
    return { gateway, url };
  }

  /**
   * POSTs a subscription over SSE and reads its first event (or the refusal); the stream stays open
   * until `close()` or the end of the test.
   */
  async function firstSseEvent(url: string, query: string, headers: Record<string, string> = {}) {
    const controller = new AbortController();
    cleanups.push(async () => controller.abort());
    const close = () => controller.abort();
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
      body: JSON.stringify({ query }),
      signal: controller.signal,
    });
    if (response.status !== 200 || !response.body)
      return { status: response.status, body: (await response.json()) as SseBody, close };
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!/data: .*\n\n/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const line = text.split('\n').find((l) => l.startsWith('data: '))!;
    return { status: response.status, body: JSON.parse(line.slice(6)) as SseBody, close };
  }

  return { sandbox: () => sandbox!, cleanups, start, firstSseEvent };
}

// biome-ignore lint/suspicious/noExplicitAny: GraphQL answers are probed field by field
type SseBody = any;
