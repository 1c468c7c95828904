import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SANDBOX_ETHERSCAN_KEY } from '../../src/sandbox/providers/etherscan/dialect.js';
import type { Sandbox } from '../../src/sandbox/server.js';
import { T } from '../helpers/clock.js';
import { fetchReply, startProviderSandbox } from '../helpers/sandbox-http.js';

// The Etherscan V2 gas oracle over real loopback HTTP. The clock is a variable so the 3 calls/s quota
// and block progression can be stepped without sleeping.

const GAS_QUERY = `chainid=1&module=gastracker&action=gasoracle&apikey=${SANDBOX_ETHERSCAN_KEY}`;
const CHAINID_MESSAGE =
  'Missing or unsupported chainid parameter (required for v2 api), please see https://api.etherscan.io/v2/chainlist for the list of supported chainids';

let clock = T;
let sandbox: Sandbox;
let base: string;

const get = (query: string) => fetchReply(`${base}?${query}`);

beforeAll(async () => {
  ({ sandbox, base } = await startProviderSandbox('etherscan', { now: () => clock }));
});

beforeEach(() => {
  // Each test starts in a fresh quota window.
  clock += 10_000;
});

afterAll(async () => {
  await sandbox?.close();
});

describe('etherscan dialect: gas oracle', () => {
  it('serves /v2/api with every value a string in gwei', async () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v2\/api$/);
    const { status, body } = await get(GAS_QUERY);
    expect(status).toBe(200);
    expect(body.status).toBe('1');
    expect(body.message).toBe('OK');
    const r = body.result;
    expect(Object.keys(r)).toEqual([
      'LastBlock',
      'SafeGasPrice',
      'ProposeGasPrice',
      'FastGasPrice',
      'suggestBaseFee',
      'gasUsedRatio',
    ]);
    for (const value of Object.values(r)) expect(typeof value).toBe('string');
    expect(r.LastBlock).toMatch(/^\d+$/);
    expect(r.suggestBaseFee).toMatch(/^\d+\.\d{9}$/);
    const [safe, propose, fast, baseFee] = [
      r.SafeGasPrice,
      r.ProposeGasPrice,
      r.FastGasPrice,
      r.suggestBaseFee,
    ].map(Number);
    expect(baseFee!).toBeGreaterThan(0);
    expect(safe!).toBeGreaterThanOrEqual(baseFee!);
    expect(propose!).toBeGreaterThanOrEqual(safe!);
    expect(fast!).toBeGreaterThanOrEqual(propose!);
    const ratios = (r.gasUsedRatio as string).split(',').map(Number);
    expect(ratios).toHaveLength(5);
    for (const ratio of ratios) {
      expect(ratio).toBeGreaterThan(0);
      expect(ratio).toBeLessThan(1);
    }
    expect(sandbox.count('etherscan', 'gastracker/gasoracle')).toBeGreaterThan(0);
  });

  it('is a function of time: the same instant repeats, 12 s later is the next block', async () => {
    const a = await get(GAS_QUERY);
    const b = await get(GAS_QUERY);
    expect(b.body).toEqual(a.body);
    clock += 12_000;
    const c = await get(GAS_QUERY);
    expect(Number(c.body.result.LastBlock)).toBe(Number(a.body.result.LastBlock) + 1);
    // The block that was last is now second to last in the ratio list.
    expect(c.body.result.gasUsedRatio.split(',')[3]).toBe(a.body.result.gasUsedRatio.split(',')[4]);
  });
});

describe('etherscan dialect: errors are HTTP 200 with status "0"', () => {
  it('requires chainid first', async () => {
    for (const query of [
      'module=gastracker&action=gasoracle',
      'chainid=999999&module=gastracker&action=gasoracle',
    ]) {
      const { status, body } = await get(`${query}&apikey=${SANDBOX_ETHERSCAN_KEY}`);
      expect(status).toBe(200);
      expect(body).toEqual({ status: '0', message: 'NOTOK', result: CHAINID_MESSAGE });
    }
  });

  it('refuses a missing or wrong key', async () => {
    const missing = await get('chainid=1&module=gastracker&action=gasoracle');
    expect(missing.status).toBe(200);
    expect(missing.body).toEqual({ status: '0', message: 'NOTOK', result: 'Missing/Invalid API Key' });
    const wrong = await get('chainid=1&module=gastracker&action=gasoracle&apikey=WRONGKEY');
    expect(wrong.status).toBe(200);
    expect(wrong.body).toEqual({ status: '0', message: 'NOTOK', result: 'Invalid API Key' });
  });

  it('names an unsupported module or action', async () => {
    const module = await get(`chainid=1&module=account&action=balance&apikey=${SANDBOX_ETHERSCAN_KEY}`);
    expect(module.status).toBe(200);
    expect(module.body).toEqual({
      status: '0',
      message: 'NOTOK',
      result: 'Error! Missing Or invalid Module name',
    });
    const action = await get(
      `chainid=1&module=gastracker&action=gasestimate&apikey=${SANDBOX_ETHERSCAN_KEY}`,
    );
    expect(action.body).toEqual({
      status: '0',
      message: 'NOTOK',
      result: 'Error! Missing Or invalid Action name',
    });
  });

  it('answers the 4th call within a second with HTTP 200 "Max rate limit reached", then recovers', async () => {
    const answers = [];
    for (let n = 0; n < 4; n++) answers.push(await get(GAS_QUERY));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(answers.slice(0, 3).every((a) => a.body.status === '1')).toBe(true);
    expect(answers[3]!.body).toEqual({ status: '0', message: 'NOTOK', result: 'Max rate limit reached' });
    clock += 1000;
    expect((await get(GAS_QUERY)).body.status).toBe('1');
  });

  it('serves HTML for unknown paths and server errors', async () => {
    const response = await fetch(`${base.replace(/\/v2\/api$/, '')}/api/nothing`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toContain('text/html');
    sandbox.faults.set('etherscan', 'gastracker/gasoracle', { kind: 'server-error', status: 502, times: 1 });
    const failed = await get(GAS_QUERY);
    expect(failed.status).toBe(502);
    expect(failed.headers.get('content-type')).toContain('text/html');
  });
});
