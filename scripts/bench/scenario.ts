import type { Sandbox } from '../../src/sandbox/server.js';

// What a benchmark scenario is. run.ts gives every scenario a fresh gateway process (configured by
// `gatewayEnv`) over the shared loopback sandbox, calls `prepare` once, runs a short unmeasured
// warm-up, resets the sandbox's request counts, then measures with autocannon cycling `requests`.
// Upstream calls per GraphQL request = sandbox requests during the measurement / responses received.

export interface BenchTarget {
  /** http://127.0.0.1:PORT/graphql of the gateway under test. */
  url: string;
  /** The sandbox the gateway calls (counts, faults, market). */
  sandbox: Sandbox;
  /** POSTs one GraphQL operation and returns the parsed body. */
  query(query: string, variables?: Record<string, unknown>): Promise<{ data?: unknown; errors?: unknown[] }>;
}

export interface BenchRequest {
  /** The GraphQL document; sent as a POST with JSON body. */
  query: string;
  variables?: Record<string, unknown>;
}

export interface Scenario {
  /** Short name used on the command line: `npm run bench -- <name>`. */
  name: string;
  /** One line on what is measured and why it is honest. */
  description: string;
  /** MARKETGRAPH_* settings for this scenario's gateway, on top of the bench defaults. */
  gatewayEnv?: Record<string, string>;
  /** Concurrent connections; the --connections flag overrides it. */
  connections?: number;
  /** Runs once before the warm-up, e.g. to fill the cache. */
  prepare?(target: BenchTarget): Promise<void>;
  /** The requests autocannon cycles through, one after another, on every connection. */
  requests(target: BenchTarget): BenchRequest[];
}

/**
 * A scenario that brings its own processes and load generator (e.g. WebSocket fan-out, which
 * autocannon cannot drive): run.ts only passes the common flags and prints what it returns.
 */
export interface StandaloneScenario {
  kind: 'standalone';
  name: string;
  description: string;
  run(options: StandaloneOptions): Promise<{ text: string; json: unknown }>;
}

/** The command-line flags a standalone scenario may read (each says which it honours). */
export interface StandaloneOptions {
  durationS: number;
  warmupS: number;
  /** --connections, or undefined when not given (the scenario's own default applies). */
  connections: number | undefined;
  rounds: number;
  json: boolean;
}

export type AnyScenario = Scenario | StandaloneScenario;

export function isStandalone(scenario: AnyScenario): scenario is StandaloneScenario {
  return 'kind' in scenario && scenario.kind === 'standalone';
}
