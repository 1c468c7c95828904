import cluster from 'node:cluster';
import pino from 'pino';
import { cliAction, helpText, version } from './cli.js';
import { type Config, ConfigError, loadConfig, type ProviderEndpoints } from './config.js';
import { stopOnSignals } from './lifecycle/signals.js';
import { checkRedisHost, describeStartupError } from './lifecycle/startup.js';
import { installProcessPolicy } from './process-policy.js';
import type { Sandbox } from './sandbox/server.js';
import { createGateway } from './server.js';
import { loadTracing } from './telemetry/tracing.js';
import { SANDBOX_ENDPOINTS_ENV, startPrimary, type WorkerMessage } from './workers.js';

// The process entry: the only module that reads process.env and argv, listens and handles signals.
// One process serves (the default), or with --workers N it is a cluster primary whose N workers run
// this same module (src/workers.ts).
// The sandbox (its catalogue, market and dialects) is imported only when the sandbox profile starts
// it, so a live-profile process never loads it (docs/benchmarks.md, "Start lighter").

async function main() {
  const args = process.argv.slice(2);
  // --mcp: serve MCP over stdin/stdout for a desktop host instead of listening (npm run mcp).
  const stdio = args.includes('--mcp');
  const argv = args.filter((a) => a !== '--mcp');
  const action = cliAction(argv);
  if (action === 'help') {
    console.log(helpText());
    return;
  }
  if (action === 'version') {
    console.log(version());
    return;
  }
  /** Closed on an uncaught exception before the process exits (see process-policy.ts). */
  let closeOnFatal: (() => Promise<void>) | undefined;
  installProcessPolicy({
    process,
    log: (line) => console.error(line),
    shutdown: () => closeOnFatal?.() ?? Promise.resolve(),
    exit: (code) => process.exit(code),
  });
  let config: Config;
  try {
    config = loadConfig({ env: process.env, argv });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`marketgraph: invalid configuration: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  if (config.redisUrl) await checkRedisHost(config.redisUrl);

  const started = Date.now();
  if (stdio) {
    closeOnFatal = await runMcpStdio(config, started, argv);
    return;
  }
  if (cluster.isPrimary && config.workers > 1) {
    await runPrimary(config, started);
    return;
  }
  // A worker's sandbox runs in its primary, which passes the addresses down.
  const inherited = cluster.isWorker ? process.env[SANDBOX_ENDPOINTS_ENV] : undefined;
  const sandbox = config.profile === 'sandbox' && !inherited ? await startSandbox(config) : undefined;
  if (sandbox) {
    config = loadConfig({ env: process.env, argv, endpoints: sandbox.endpoints });
  } else if (inherited) {
    const endpoints = JSON.parse(inherited) as ProviderEndpoints;
    config = loadConfig({ env: process.env, argv, endpoints });
  }

  // The OpenTelemetry SDK is imported only when config.tracing (the OTEL_* variables) names an endpoint.
  const tracing = await loadTracing(config.tracing);
  const gateway = createGateway(config, { processMetrics: true, tracing });
  closeOnFatal = async () => {
    await gateway.close();
    await sandbox?.close();
  };
  const { url } = await gateway.start();
  // A worker is quiet: its primary says when the cluster is ready.
  if (!cluster.isWorker) console.log(readyBanner(config, started, url, sandbox));

  const control = stopOnSignals({
    async stop(signal) {
      if (!cluster.isWorker) {
        console.log(
          `marketgraph: ${signal}, shutting down (in-flight requests get ${config.shutdownGraceMs} ms; a second signal exits at once)`,
        );
      }
      const drained = await gateway.drain(config.shutdownGraceMs);
      if (!drained) console.error('marketgraph: grace period over, cut the connections still open');
      await gateway.close();
      await sandbox?.close();
      return drained;
    },
    log: (line) => console.error(line),
    exit: (code) => process.exit(code),
    on: (signal, listener) => process.on(signal, listener),
  });
  // SIGHUP re-reads the keys file (it is also re-read when it changes); a bad file keeps the old keys.
  process.on('SIGHUP', () => void gateway.reloadKeys());
  if (cluster.isWorker) {
    process.on('message', (message: WorkerMessage) => {
      if (message?.type === 'shutdown') control.stop('shutdown');
    });
  }
}

/**
 * The gateway without a socket, its MCP server on stdin/stdout. stdout is the protocol's, so logs and
 * the banner go to stderr. It stops when the host closes stdin, or on a signal.
 */
async function runMcpStdio(
  config: Config,
  started: number,
  argv: readonly string[],
): Promise<() => Promise<void>> {
  const sandbox = config.profile === 'sandbox' ? await startSandbox(config) : undefined;
  if (sandbox) config = loadConfig({ env: process.env, argv, endpoints: sandbox.endpoints });
  const logger = pino({ level: config.logLevel }, pino.destination(2));
  const gateway = createGateway({ ...config, mcp: { ...config.mcp, enabled: true } }, { logger });
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await gateway.close();
      await sandbox?.close();
    })());
  const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js');
  await gateway.mcp!.connect(new StdioServerTransport());
  console.error(`marketgraph ${config.profile} profile: MCP on stdio, ready in ${Date.now() - started} ms`);
  process.stdin.on('end', () => void stop().then(() => process.exit(0)));
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.on(signal, () => void stop().then(() => process.exit(0)));
  return stop;
}

async function runPrimary(config: Config, started: number) {
  if (!config.redisUrl) {
    console.error(
      `marketgraph: ${config.workers} workers without REDIS_URL: each has its own cache and live streams, and each provider's request budget is split between them`,
    );
  }
  const sandbox = config.profile === 'sandbox' ? await startSandbox(config) : undefined;
  const primary = startPrimary({
    config,
    cluster,
    workerEnv: sandbox ? { [SANDBOX_ENDPOINTS_ENV]: JSON.stringify(sandbox.endpoints) } : {},
    ready(port, pids) {
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      const banner = readyBanner(config, started, `http://${host}:${port}/graphql`, sandbox);
      console.log(`${banner}\n  workers              ${pids.length} (pids ${pids.join(', ')})`);
    },
    log: (line) => console.error(line),
  });
  stopOnSignals({
    async stop(signal) {
      console.log(
        `marketgraph: ${signal}, stopping ${config.workers} workers (a second signal exits at once)`,
      );
      const clean = await primary.stop();
      await sandbox?.close();
      return clean;
    },
    log: (line) => console.error(line),
    exit: (code) => process.exit(code),
    on: (signal, listener) => process.on(signal, listener),
  });
  // Each worker re-reads its keys file; the primary only passes the signal on (and must not die of it).
  process.on('SIGHUP', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGHUP');
  });
  try {
    await primary.started;
  } catch (error) {
    await sandbox?.close();
    throw error;
  }
}

interface StartedSandbox {
  server: Sandbox;
  /** Each provider's sandbox URL, WebSocket URL and demo key, as provider overrides. */
  endpoints: ProviderEndpoints;
  close(): Promise<void>;
}

async function startSandbox(config: Config): Promise<StartedSandbox> {
  const [{ startSandbox: start }, { sandboxEndpoints }] = await Promise.all([
    import('./sandbox/server.js'),
    import('./sandbox/dialects.js'),
  ]);
  const server = await start({ seed: config.sandbox.seed, tickMs: config.sandbox.tickMs });
  return { server, endpoints: sandboxEndpoints(server), close: () => server.close() };
}

function readyBanner(
  config: Config,
  started: number,
  url: string,
  sandbox: StartedSandbox | undefined,
): string {
  const lines = [
    `marketgraph ${config.profile} profile ready in ${Date.now() - started} ms`,
    `  GraphiQL, HTTP, SSE  ${url}`,
  ];
  lines.push(`  graphql-ws           ${url.replace(/^http/, 'ws')}`);
  lines.push(
    `  health, metrics      ${url.replace(/\/graphql$/, '/health')}  ${url.replace(/\/graphql$/, '/metrics')}`,
  );
  if (sandbox) {
    lines.push(
      `  sandbox admin        ${sandbox.server.adminUrl}  (GET /counts, PUT /faults/:provider/:endpoint, ...)`,
    );
    for (const e of Object.values(sandbox.server.endpoints)) {
      lines.push(`  sandbox ${e.provider.padEnd(12)} ${e.url}${e.wsUrl ? `  ${e.wsUrl}` : ''}`);
    }
  }
  return lines.join('\n');
}

main().catch((error) => {
  const reason = describeStartupError(error);
  // A worker's primary prints the reason once, for the whole cluster.
  if (cluster.isWorker && process.send) {
    process.send({ type: 'startup-failed', reason } satisfies WorkerMessage, () => process.exit(1));
    return;
  }
  console.error(`marketgraph: failed to start: ${reason}`);
  process.exit(1);
});
