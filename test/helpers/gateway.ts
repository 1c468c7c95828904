import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import pino, { type Logger } from 'pino';
import type { GraphQLResponse } from '../../scripts/lib/gateway-process.js';
import { type Config, loadConfig, UPSTREAMS, type UpstreamName, withProviderUrls } from '../../src/config.js';
import { sandboxEndpoints } from '../../src/sandbox/dialects.js';
import { type Sandbox, type SandboxOptions, startSandbox } from '../../src/sandbox/server.js';
import { createGateway, type Gateway } from '../../src/server.js';

// Starts the sandbox and a gateway over it in-process, the way `npm start` does, with knobs for tests.

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

export async function startTestGateway(
  options: {
    env?: Record<string, string>;
    sandbox?: SandboxOptions;
    sandboxInstance?: Sandbox;
    /** Silent by default; tests that read log lines pass their own. */
    logger?: Logger;
  } = {},
): Promise<TestGateway> {
  const sandbox = options.sandboxInstance ?? (await startSandbox({ quotas: false, ...options.sandbox }));
  const env = { MARKETGRAPH_PORT: '0', MARKETGRAPH_LOG_LEVEL: 'silent', ...options.env };
  const endpoints = sandboxEndpoints(sandbox);
  const config = withProviderUrls(loadConfig({ env }), endpoints, env);
  const gateway = createGateway(config, { logger: options.logger ?? pino({ level: 'silent' }) });
  return {
    sandbox,
    gateway,
    config,
    async query(query, variables) {
      const response = await gateway.yoga.fetch('http://gateway.test/graphql', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
        },
        body: JSON.stringify({ query: typeof query === 'string' ? query : print(query), variables }),
      });
      return { status: response.status, body: await response.json() };
    },
    async close() {
      await gateway.close();
      if (!options.sandboxInstance) await sandbox.close();
    },
  };
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
