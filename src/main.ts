import { type Config, ConfigError, loadConfig, withProviderUrls } from './config.js';
import { installProcessPolicy } from './process-policy.js';
import { sandboxEndpoints } from './sandbox/dialects.js';
import { startSandbox } from './sandbox/server.js';
import { createGateway } from './server.js';

// The process entry: the only module that reads process.env and argv, listens and handles signals.

async function main() {
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
    config = loadConfig({ env: process.env, argv: process.argv.slice(2) });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`marketgraph: invalid configuration: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }

  const started = Date.now();
  const sandbox =
    config.profile === 'sandbox'
      ? await startSandbox({ seed: config.sandbox.seed, tickMs: config.sandbox.tickMs })
      : undefined;
  if (sandbox) {
    const endpoints = sandboxEndpoints(sandbox);
    config = withProviderUrls(config, endpoints, process.env);
  }

  const gateway = createGateway(config, { processMetrics: true });
  closeOnFatal = async () => {
    await gateway.close();
    await sandbox?.close();
  };
  const { url } = await gateway.start();
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
      `  sandbox admin        ${sandbox.adminUrl}  (GET /counts, PUT /faults/:provider/:endpoint, ...)`,
    );
    for (const e of Object.values(sandbox.endpoints)) {
      lines.push(`  sandbox ${e.provider.padEnd(12)} ${e.url}${e.wsUrl ? `  ${e.wsUrl}` : ''}`);
    }
  }
  console.log(lines.join('\n'));

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`marketgraph: ${signal}, shutting down`);
    const timer = setTimeout(() => process.exit(1), 10_000);
    timer.unref();
    await gateway.close();
    await sandbox?.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error) => {
  console.error(`marketgraph: failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
