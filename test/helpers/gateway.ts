import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import pino, { type Logger } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import type { GraphQLResponse } from '../../scripts/lib/gateway-process.js';
import { type Config, loadConfig, UPSTREAMS, type UpstreamName } from '../../src/config.js';
import { sandboxEndpoints } from '../../src/sandbox/dialects.js';
import { type Sandbox, type SandboxOptions, startSandbox } from '../../src/sandbox/server.js';
import { createGateway, type Gateway } from '../../src/server.js';
import type { Tracing } from '../../src/telemetry/tracing.js';
import { checkCodes, checkResponseCodes } from './error-codes.js';

// Starts the sandbox and a gateway over it in-process, the way `npm start` does, with knobs for tests.
// Every answer read through it (query(), and gateway.yoga.fetch for JSON answers) has its GraphQL
// errors checked for a code README lists (helpers/error-codes.ts).

export interface TestGateway {
  sandbox: Sandbox;
  gateway: Gateway;
  config: Config;
  /** POST a GraphQL operation through yoga.fetch (no socket); typed when given a codegen document. */
  query<T = Record<string, unknown>, V = Record<string, unknown>>(
    query: string | TypedDocumentNode<T, V>,
    variables?: V,
  ): Promise<GraphQLResponse<T>>;
  close(): Promise<void>;
}

export type TestGatewayOptions = NonNullable<Parameters<typeof startTestGateway>[0]>;

export async function startTestGateway(
  options: {
    env?: Record<string, string>;
    sandbox?: SandboxOptions;
    sandboxInstance?: Sandbox;
    /** Silent by default; tests that read log lines pass their own. */
    logger?: Logger;
    /** The gateway's clock (caches, breakers, quotas' views); tests jump it (helpers/manual-clock.ts). */
    now?: () => number;
    /** OpenTelemetry as main.ts would load it (src/telemetry/tracing.ts loadTracing). */
    tracing?: Tracing;
  } = {},
): Promise<TestGateway> {
  const sandbox = options.sandboxInstance ?? (await startSandbox({ quotas: false, ...options.sandbox }));
  const env = { MARKETGRAPH_PORT: '0', MARKETGRAPH_LOG_LEVEL: 'silent', ...options.env };
  const endpoints = sandboxEndpoints(sandbox);
  const config = loadConfig({ env, endpoints });
  const created = createGateway(config, {
    logger: options.logger ?? pino({ level: 'silent' }),
    now: options.now,
    tracing: options.tracing,
  });
  const gateway = withCheckedFetch(created);
  return {
    sandbox,
    gateway,
    config,
    async query(query, variables) {
      const response = await created.yoga.fetch('http://gateway.test/graphql', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
        },
        body: JSON.stringify({ query: typeof query === 'string' ? query : print(query), variables }),
      });
      const body = await response.json();
      checkCodes(body, 'query()');
      return { status: response.status, body };
    },
    async close() {
      await gateway.close();
      if (!options.sandboxInstance) await sandbox.close();
    },
  };
}

/**
 * A gateway listening on a loopback port for the enclosing describe block (started before its tests,
 * closed after them): `listening.t` and `listening.url` once they run.
 */
export function useListeningGateway(options: TestGatewayOptions = {}): { t: TestGateway; url: string } {
  const listening = {} as { t: TestGateway; url: string };
  beforeAll(async () => {
    listening.t = await startTestGateway(options);
    ({ url: listening.url } = await listening.t.gateway.start());
  });
  afterAll(async () => {
    await listening.t?.close();
  });
  return listening;
}

/** Env that turns off every upstream except the ones named (tests that count one provider's calls). */
export function onlyUpstreams(...keep: UpstreamName[]): Record<string, string> {
  return Object.fromEntries(
    UPSTREAMS.filter((name) => !keep.includes(name)).map((name) => [
      `MARKETGRAPH_${name.toUpperCase()}_ENABLED`,
      'false',
    ]),
  );
}

/** The gateway, its yoga.fetch checking each JSON answer's error codes (Yoga's adapter cannot be patched). */
function withCheckedFetch(gateway: Gateway): Gateway {
  const { yoga } = gateway;
  const fetch = async (...args: Parameters<typeof yoga.fetch>) => {
    const response = await yoga.fetch(...args);
    await checkResponseCodes(response, 'yoga.fetch');
    return response;
  };
  const checked = new Proxy(yoga, {
    get: (target, prop) => (prop === 'fetch' ? fetch : Reflect.get(target, prop)),
  });
  return { ...gateway, yoga: checked };
}
