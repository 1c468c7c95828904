import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type GatewayProcess, sandboxProviderEnv, spawnGateway } from '../scripts/lib/gateway-process.js';
import { type Sandbox, startSandbox } from '../src/sandbox/server.js';

// The production path (#13 part 5, #9 part 7): `npm run build` compiles src/ to a dist/ that plain
// node runs (`npm run start:prod`), and what the live profile loads at start does not include the
// sandbox or the Redis client, nor the MCP SDK or jose until they are needed. Builds once (tsc, about 10 s on this machine) for the whole file.

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIST = join(ROOT, 'dist');
const PRICE = '{ asset(id: "bitcoin") { symbol price { value source } } }';

let sandbox: Sandbox;
const running: GatewayProcess[] = [];

beforeAll(async () => {
  await npmBuild();
  sandbox = await startSandbox({ quotas: false, providers: ['coingecko'] });
}, 180_000);

afterAll(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
  await sandbox?.close();
});

function npmBuild(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`npm run build exited ${code}:\n${output}`)),
    );
  });
}

/**
 * Every module dist/main.js loads before it runs: its static imports, followed through dist/ (what
 * tsc keeps: type-only imports are gone). Relative modules as paths under dist/, packages by name.
 */
function staticImportGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const pending = [entry];
  const specifiers = /^\s*(?:import|export)\s(?:[^'";]*?\sfrom\s)?\s*['"]([^'"]+)['"]/gm;
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(specifiers)) {
      if (spec!.startsWith('.')) pending.push(join(dirname(file), spec!));
      else if (!spec!.startsWith('node:'))
        packages.add(
          spec!
            .split('/')
            .slice(0, spec!.startsWith('@') ? 2 : 1)
            .join('/'),
        );
    }
  }
  return { files: new Set([...files].map((f) => relative(DIST, f))), packages };
}

describe('npm run build', () => {
  it('writes a dist/main.js whose start loads neither the sandbox, ioredis, the MCP SDK nor jose', () => {
    expect(existsSync(join(DIST, 'main.js'))).toBe(true);
    const { files, packages } = staticImportGraph(join(DIST, 'main.js'));
    // The walk reaches the gateway itself (a walk that found nothing would pass the checks below).
    expect(files).toContain('server.js');
    expect(packages).toContain('graphql-yoga');
    expect([...files].filter((f) => f.startsWith('sandbox/'))).toEqual([]);
    expect(packages).not.toContain('ioredis');
    expect(packages).not.toContain('@modelcontextprotocol/sdk');
    expect(packages).not.toContain('jose');
    // ...while the sandbox profile still finds it, loaded on demand.
    expect(readFileSync(join(DIST, 'main.js'), 'utf8')).toMatch(/import\(['"]\.\/sandbox\/server\.js['"]\)/);
  });

  it('runs with plain node in the live profile and answers a query from its providers', async () => {
    const gateway = await spawnGateway({
      entry: 'build',
      env: sandboxProviderEnv(sandbox),
      readyTimeoutMs: 30_000,
    });
    running.push(gateway);
    const { status, body } = await gateway.query<{ asset: { symbol: string; price: { source: string } } }>(
      PRICE,
    );
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data?.asset.symbol).toBe('BTC');
    expect(body.data?.asset.price.source).toBe('COINGECKO');
  }, 60_000);

  it('runs the sandbox profile, which imports the sandbox when it starts it', async () => {
    const gateway = await spawnGateway({
      entry: 'build',
      args: ['--profile', 'sandbox', '--port', '0'],
      readyTimeoutMs: 30_000,
    });
    running.push(gateway);
    expect(gateway.output()).toMatch(/sandbox admin\s+http:\/\/127\.0\.0\.1:\d+/);
    const { status, body } = await gateway.query<{ asset: { symbol: string } }>(PRICE);
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data?.asset.symbol).toBe('BTC');
    await gateway.stop();
    expect((await gateway.exited).code).toBe(0);
  }, 60_000);
});

// What a running process has loaded, as the module loader saw it: fixtures/report-imports.mjs writes
// `loaded <package>` the first time one of REPORT_IMPORTS is imported (graphql-yoga is listed so a
// hook that reported nothing would fail here).
describe('the idle production process (dist/main.js, live profile)', () => {
  const REPORT = ['--import', './test/fixtures/report-imports.mjs'];
  const WATCHED = 'graphql-yoga,@modelcontextprotocol/sdk,jose';
  const INITIALIZE = {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'test', version: '1' } },
  };

  it('serves GraphQL without the MCP SDK or jose, and loads the SDK on the first /mcp request', async () => {
    const gateway = await spawnGateway({
      entry: 'build',
      env: { ...sandboxProviderEnv(sandbox), REPORT_IMPORTS: WATCHED },
      nodeFlags: REPORT,
      readyTimeoutMs: 30_000,
    });
    running.push(gateway);
    const { body } = await gateway.query<{ asset: { symbol: string } }>(PRICE);
    expect(body.data?.asset.symbol).toBe('BTC');
    expect(gateway.output()).toContain('loaded graphql-yoga');
    expect(gateway.output()).not.toContain('loaded @modelcontextprotocol/sdk');
    expect(gateway.output()).not.toContain('loaded jose');

    const res = await fetch(`${gateway.origin}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(INITIALIZE),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('"serverInfo":{"name":"marketgraph"');
    await vi.waitFor(() => expect(gateway.output()).toContain('loaded @modelcontextprotocol/sdk'));
    expect(gateway.output()).not.toContain('loaded jose');
  }, 60_000);

  it('loads jose at start when a JWKS is configured', async () => {
    const gateway = await spawnGateway({
      entry: 'build',
      // Nothing listens there: no token is verified, the verifier only has to exist.
      env: {
        ...sandboxProviderEnv(sandbox),
        REPORT_IMPORTS: WATCHED,
        MARKETGRAPH_JWT_JWKS_URL: 'http://127.0.0.1:9/jwks.json',
      },
      nodeFlags: REPORT,
      readyTimeoutMs: 30_000,
    });
    running.push(gateway);
    await vi.waitFor(() => expect(gateway.output()).toContain('loaded jose'));
    expect(gateway.output()).not.toContain('loaded @modelcontextprotocol/sdk');
  }, 60_000);
});
