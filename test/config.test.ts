import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('defaults to the sandbox profile on 127.0.0.1:4000 with keyed providers off', () => {
    const config = loadConfig({ env: {} });
    expect(config.profile).toBe('sandbox');
    expect(config.port).toBe(4000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.providers.coingecko.enabled).toBe(true);
    expect(config.providers.tokenmetrics.enabled).toBe(false);
    expect(config.providers.coingecko.url).toBe('');
    expect(Object.isFrozen(config.providers.coingecko)).toBe(true);
  });

  it('points the live profile at the real providers and lets every URL and key be overridden', () => {
    const config = loadConfig({
      env: { MARKETGRAPH_COINGECKO_URL: 'http://127.0.0.1:9/api/v3/', MARKETGRAPH_COINCAP_KEY: 'k' },
      argv: ['--profile', 'live', '--port', '0'],
    });
    expect(config.providers.binance.url).toBe('https://api.binance.com');
    expect(config.providers.coingecko.url).toBe('http://127.0.0.1:9/api/v3');
    expect(config.providers.coincap.enabled).toBe(true);
    expect(config.port).toBe(0);
  });

  it.each([
    [{ MARKETGRAPH_PORT: 'abc' }, /^MARKETGRAPH_PORT: must be a whole number from 0 to 65535, got "abc"$/],
    [
      { MARKETGRAPH_PORT: '70000' },
      /^MARKETGRAPH_PORT: must be a whole number from 0 to 65535, got "70000"$/,
    ],
    [{ MARKETGRAPH_PROFILE: 'prod' }, /^MARKETGRAPH_PROFILE: .*"sandbox".*"live".*got "prod"$/],
    [
      { MARKETGRAPH_COINGECKO_URL: 'ftp://x' },
      /^MARKETGRAPH_COINGECKO_URL: must be an http\(s\) URL, got "ftp:\/\/x"$/,
    ],
    [{ REDIS_URL: 'localhost:6379' }, /^REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/],
    [{ MARKETGRAPH_COINGECKO_RPM: '0' }, /^MARKETGRAPH_COINGECKO_RPM: must be a whole number from 1/],
    [{ MARKETGRAPH_REDIS_PREFIX: 'my app' }, /^MARKETGRAPH_REDIS_PREFIX: must be 1 to 100 characters from /],
    [
      { MARKETGRAPH_REDIS_TIMEOUT_MS: '0' },
      /^MARKETGRAPH_REDIS_TIMEOUT_MS: must be a whole number from 1 to 10000/,
    ],
    [
      { MARKETGRAPH_CACHE_MAX_BYTES: '1000' },
      /^MARKETGRAPH_CACHE_MAX_BYTES: must be a whole number from 1048576/,
    ],
    [
      { MARKETGRAPH_TRUST_PROXY: 'loopback, nginx' },
      /^MARKETGRAPH_TRUST_PROXY: must be a comma-separated list of addresses, CIDR ranges or loopback, linklocal, uniquelocal: "nginx" is not .*, got "loopback, nginx"$/,
    ],
    [{ MARKETGRAPH_TRUST_PROXY: '10.0.0.0/33' }, /^MARKETGRAPH_TRUST_PROXY: .*"10\.0\.0\.0\/33" is not /],
    [{ MARKETGRAPH_TRUST_PROXY: 'true' }, /^MARKETGRAPH_TRUST_PROXY: .*"true" is not /],
  ])('rejects %o with one line naming the setting', (env, message) => {
    expect(() => loadConfig({ env })).toThrow(ConfigError);
    expect(() => loadConfig({ env })).toThrow(message);
  });

  it('trusts no proxy by default and reads MARKETGRAPH_TRUST_PROXY as a list', () => {
    expect(loadConfig({ env: {} }).auth.trustProxy).toEqual([]);
    expect(
      loadConfig({
        env: { MARKETGRAPH_TRUST_PROXY: ' loopback,10.0.0.0/8 ,, fc00::/7,192.168.1.1/255.255.255.0' },
      }).auth.trustProxy,
    ).toEqual(['loopback', '10.0.0.0/8', 'fc00::/7', '192.168.1.1/255.255.255.0']);
  });

  it('ends the Redis prefix with one separator and defaults the cache to 32 MiB', () => {
    expect(loadConfig({ env: {} }).redis).toEqual({
      prefix: 'marketgraph:',
      timeoutMs: 500,
      connectTimeoutMs: 2_000,
    });
    expect(loadConfig({ env: { MARKETGRAPH_REDIS_PREFIX: 'team-a:mg' } }).redis.prefix).toBe('team-a:mg:');
    expect(loadConfig({ env: { MARKETGRAPH_REDIS_PREFIX: 'team-a:' } }).redis.prefix).toBe('team-a:');
    expect(loadConfig({ env: {} }).cache.maxBytes).toBe(32 * 1024 * 1024);
  });

  it('rejects unknown flags', () => {
    expect(() => loadConfig({ argv: ['--prot', '1'] })).toThrow(/command line: .*--port N/);
  });

  it('fills sandbox URLs and demo keys without overriding what was configured', () => {
    const endpoints = {
      binance: { url: 'http://127.0.0.1:2', wsUrl: 'ws://127.0.0.1:2' },
      coincap: { url: 'http://127.0.0.1:3/v3', key: 'demo' },
    };
    const filled = loadConfig({ env: { MARKETGRAPH_BINANCE_URL: 'http://127.0.0.1:1' }, endpoints });
    expect(filled.providers.binance.url).toBe('http://127.0.0.1:1');
    expect(filled.providers.binance.wsUrl).toBe('ws://127.0.0.1:2');
    expect(filled.providers.coincap.url).toBe('http://127.0.0.1:3/v3');
    expect(filled.providers.coincap.key).toBe('demo');
    expect(filled.providers.coincap.enabled).toBe(true);
    expect(filled.providers.etherscan).toMatchObject({ url: '', key: undefined, enabled: false });
  });

  it('keeps a configured key and an explicit MARKETGRAPH_<P>_ENABLED over the endpoint and its demo key', () => {
    const endpoints = { coincap: { url: 'http://127.0.0.1:3/v3', key: 'demo' } };
    const own = loadConfig({ env: { MARKETGRAPH_COINCAP_KEY: 'mine' }, endpoints });
    expect(own.providers.coincap).toMatchObject({ key: 'mine', enabled: true });
    const off = loadConfig({ env: { MARKETGRAPH_COINCAP_ENABLED: 'false' }, endpoints });
    expect(off.providers.coincap).toMatchObject({ key: 'demo', enabled: false });
    const live = loadConfig({ env: { MARKETGRAPH_PROFILE: 'live' }, endpoints });
    expect(live.providers.coincap.url).toBe('https://rest.coincap.io/v3');
  });
});

describe('main', () => {
  it('exits with code 2 and one readable line on an invalid setting', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', '--port', 'nope'], {
      encoding: 'utf8',
      env: { ...process.env, MARKETGRAPH_LOG_LEVEL: 'silent' },
      timeout: 20_000,
    });
    expect(result.status).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(
      'marketgraph: invalid configuration: --port: must be a whole number from 0 to 65535, got "nope"',
    );
    expect(result.stdout).toBe('');
  });
});
