import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UpstreamError } from '../../src/errors.js';
import { SANDBOX_ETHERSCAN_KEY } from '../../src/sandbox/providers/etherscan/dialect.js';
import type { Sandbox } from '../../src/sandbox/server.js';
import { createEtherscanSource, readEtherscanEnvelopeError } from '../../src/sources/etherscan.js';
import { T } from '../helpers/clock.js';
import { createFetchHttp, createLiteralHttp, providerConfig } from '../helpers/fetch-http.js';
import { startProviderSandbox } from '../helpers/sandbox-http.js';

// The Etherscan gas-oracle source against the sandbox dialect (real loopback HTTP, the free plan's
// 3 calls/s enforced) and against literal bodies, including Etherscan's HTTP-200 errors.

describe('etherscan source over the sandbox dialect', () => {
  let clock = T;
  let sandbox: Sandbox;
  let base: string;

  beforeAll(async () => {
    ({ sandbox, base } = await startProviderSandbox('etherscan', { now: () => clock }));
  });

  beforeEach(() => {
    clock += 10_000; // a fresh 1-second quota window per test
  });

  afterAll(async () => {
    await sandbox?.close();
  });

  function sourceWith(key: string | undefined) {
    const config = providerConfig('etherscan', base, key);
    const http = createFetchHttp(config);
    return { http, source: createEtherscanSource({ http, config, now: () => clock }) };
  }

  it('maps the gas oracle to four gwei metrics on ethereum, the key in the query', async () => {
    const { http, source } = sourceWith(SANDBOX_ETHERSCAN_KEY);
    const metrics = await source.gasOracle();
    expect(http.calls[0]!.query).toMatchObject({
      chainid: 1,
      module: 'gastracker',
      action: 'gasoracle',
      apikey: SANDBOX_ETHERSCAN_KEY,
    });
    expect(metrics.map((m) => m.kind)).toEqual(['GAS_SAFE', 'GAS_PROPOSE', 'GAS_FAST', 'GAS_BASE_FEE']);
    const raw = await (await fetch(http.urls[0]!)).json();
    const byKind = Object.fromEntries(metrics.map((m) => [m.kind, m]));
    expect(byKind.GAS_SAFE!.value).toBe(Number(raw.result.SafeGasPrice));
    expect(byKind.GAS_PROPOSE!.value).toBe(Number(raw.result.ProposeGasPrice));
    expect(byKind.GAS_FAST!.value).toBe(Number(raw.result.FastGasPrice));
    expect(byKind.GAS_BASE_FEE!.value).toBe(Number(raw.result.suggestBaseFee));
    for (const m of metrics) {
      expect(m).toMatchObject({ chain: 'ethereum', unit: 'gwei', source: 'etherscan', history: null });
      expect(m.asOf.getTime()).toBe(clock);
    }
  });

  it('turns the HTTP-200 "Max rate limit reached" into UPSTREAM_RATE_LIMITED', async () => {
    const { source } = sourceWith(SANDBOX_ETHERSCAN_KEY);
    for (let n = 0; n < 3; n++) await source.gasOracle();
    const error = await source.gasOracle().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ code: 'UPSTREAM_RATE_LIMITED', details: { retryAfter: 1 } });
  });

  it('turns a wrong key into UPSTREAM_UNAVAILABLE without repeating the key', async () => {
    const { source } = sourceWith('WRONG-SECRET-KEY');
    const error = (await source.gasOracle().catch((e: unknown) => e)) as UpstreamError;
    expect(error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(error.message).toContain('Invalid API Key');
    expect(error.message).not.toContain('WRONG-SECRET-KEY');
  });

  it('turns an unsupported chain into UPSTREAM_BAD_RESPONSE, and needs a key before calling', async () => {
    const { source } = sourceWith(SANDBOX_ETHERSCAN_KEY);
    await expect(source.gasOracle(999_999)).rejects.toMatchObject({ code: 'UPSTREAM_BAD_RESPONSE' });
    const keyless = sourceWith(undefined);
    await expect(keyless.source.gasOracle()).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect(keyless.http.calls).toHaveLength(0);
    await expect(source.gasOracle(0)).rejects.toThrow(RangeError);
  });
});

describe('etherscan source over literal bodies', () => {
  const config = providerConfig('etherscan', 'http://unused', 'MYKEY123');

  it('maps a documented mainnet body, all strings', async () => {
    const http = createLiteralHttp({
      'gastracker/gasoracle': {
        status: '1',
        message: 'OK',
        result: {
          LastBlock: '21512345',
          SafeGasPrice: '0.502',
          ProposeGasPrice: '0.502',
          FastGasPrice: '0.556',
          suggestBaseFee: '0.501614521',
          gasUsedRatio: '0.4577,0.5123,0.3906,0.9972,0.2217',
        },
      },
    });
    const metrics = await createEtherscanSource({ http, config, now: () => T }).gasOracle();
    expect(metrics.map((m) => [m.kind, m.value])).toEqual([
      ['GAS_SAFE', 0.502],
      ['GAS_PROPOSE', 0.502],
      ['GAS_FAST', 0.556],
      ['GAS_BASE_FEE', 0.501614521],
    ]);
    expect(metrics[0]!.asOf.getTime()).toBe(T);
  });

  it('maps what an L2 reports and names the chain', async () => {
    const http = createLiteralHttp({
      'gastracker/gasoracle': {
        status: '1',
        message: 'OK',
        result: {
          LastBlock: '123',
          SafeGasPrice: '30',
          ProposeGasPrice: '31',
          FastGasPrice: '35',
          UsdPrice: '1.02',
        },
      },
    });
    const metrics = await createEtherscanSource({ http, config }).gasOracle(137);
    expect(metrics.map((m) => m.kind)).toEqual(['GAS_SAFE', 'GAS_PROPOSE', 'GAS_FAST']);
    expect(metrics[0]!.chain).toBe('polygon-pos');
    expect(http.calls[0]!.query).toMatchObject({ chainid: 137 });
  });

  it('classifies status "0" bodies and never echoes the key', () => {
    const notOk = (result: unknown) => ({ status: '0', message: 'NOTOK', result });
    expect(readEtherscanEnvelopeError(notOk('Max rate limit reached'))).toMatchObject({
      code: 'UPSTREAM_RATE_LIMITED',
      retryAfter: 1,
    });
    expect(readEtherscanEnvelopeError(notOk('Max calls per sec rate limit reached (3/sec)'))).toMatchObject({
      code: 'UPSTREAM_RATE_LIMITED',
    });
    expect(
      readEtherscanEnvelopeError(notOk('Max rate limit reached, please use API Key for higher rate limit')),
    ).toMatchObject({
      code: 'UPSTREAM_RATE_LIMITED',
    });
    expect(readEtherscanEnvelopeError(notOk('Invalid API Key'))).toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
    });
    expect(readEtherscanEnvelopeError(notOk('Missing/Invalid API Key'))).toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
    });
    const echoed = readEtherscanEnvelopeError(notOk('Invalid API Key MYKEY123'), 'MYKEY123');
    expect(echoed!.message).not.toContain('MYKEY123');
    expect(readEtherscanEnvelopeError(notOk('Error! Missing Or invalid Module name'))).toMatchObject({
      code: 'UPSTREAM_BAD_RESPONSE',
    });
    expect(readEtherscanEnvelopeError({ status: '0', message: 'NOTOK', result: null })).toMatchObject({
      code: 'UPSTREAM_BAD_RESPONSE',
    });
    expect(readEtherscanEnvelopeError({ status: '1', message: 'OK', result: {} })).toBeUndefined();
  });

  it('rejects a success body whose prices are not decimal strings', async () => {
    const http = createLiteralHttp({
      'gastracker/gasoracle': { status: '1', message: 'OK', result: { SafeGasPrice: 'fast' } },
    });
    await expect(createEtherscanSource({ http, config }).gasOracle()).rejects.toThrow();
  });
});
