import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SANDBOX_COINCAP_KEY } from '../../src/sandbox/providers/coincap/dialect.js';
import { SANDBOX_ETHERSCAN_KEY } from '../../src/sandbox/providers/etherscan/dialect.js';
import { SANDBOX_TOKENMETRICS_KEY } from '../../src/sandbox/providers/tokenmetrics/dialect.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';
import { T } from '../helpers/clock.js';

// The sandbox's answers are a pure function of (seed, clock): this pins a digest of each dialect's
// first answers (status, headers, bytes) and of a first Binance stream frame at a fixed clock, so a
// refactor of the sandbox that changes a byte of what providers' clients see fails here. After an
// intended change of the sandbox's answers, update the snapshot (`npx vitest run -u` on this file).

const PATHS: Record<string, Array<[string, Record<string, string>?]>> = {
  coingecko: [
    ['/coins/markets?vs_currency=usd&order=market_cap_desc&per_page=5&page=1'],
    ['/simple/price?ids=bitcoin,ethereum&vs_currencies=usd,eur&include_24hr_change=true'],
    ['/coins/bitcoin/market_chart?vs_currency=usd&days=1'],
    ['/coins/ethereum/ohlc?vs_currency=usd&days=1'],
    ['/coins/list'],
    ['/coins/bitcoin'],
    ['/nowhere'],
  ],
  binance: [
    ['/api/v3/ticker/price?symbol=BTCUSDT'],
    ['/api/v3/ticker/24hr?symbol=ETHUSDT'],
    ['/api/v3/klines?symbol=BTCUSDT&interval=1h&limit=3'],
    ['/api/v3/exchangeInfo?symbol=BTCUSDT'],
    ['/api/v3/time'],
    ['/api/v3/klines?symbol=NOPE&interval=1h'],
  ],
  defillama: [
    ['/v2/chains'],
    ['/v2/historicalChainTvl/Ethereum'],
    ['/protocols'],
    ['/prices/current/coingecko:bitcoin,coingecko:ethereum'],
    ['/stablecoins'],
    ['/stablecoincharts/all'],
  ],
  mempool: [
    ['/v1/fees/recommended'],
    ['/v1/mining/hashrate/1m'],
    ['/blocks/tip/height'],
    ['/mempool'],
    ['/v1/difficulty-adjustment'],
    ['/v1/prices'],
  ],
  tokenmetrics: [
    ['/tokens?symbol=BTC,ETH', { api_key: SANDBOX_TOKENMETRICS_KEY }],
    ['/trading-signals?symbol=BTC&limit=3', { api_key: SANDBOX_TOKENMETRICS_KEY }],
    ['/trader-grades?symbol=ETH&limit=3', { api_key: SANDBOX_TOKENMETRICS_KEY }],
    ['/investor-grades?symbol=BTC&limit=3', { api_key: SANDBOX_TOKENMETRICS_KEY }],
    ['/tokens?symbol=BTC'],
  ],
  coincap: [
    ['/assets?limit=3', { authorization: `Bearer ${SANDBOX_COINCAP_KEY}` }],
    ['/assets/bitcoin', { authorization: `Bearer ${SANDBOX_COINCAP_KEY}` }],
    ['/assets/bitcoin/history?interval=h1', { authorization: `Bearer ${SANDBOX_COINCAP_KEY}` }],
    ['/rates', { authorization: `Bearer ${SANDBOX_COINCAP_KEY}` }],
    ['/price/bysymbol/BTC,ETH', { authorization: `Bearer ${SANDBOX_COINCAP_KEY}` }],
    ['/assets'],
  ],
  etherscan: [
    [`?chainid=1&module=gastracker&action=gasoracle&apikey=${SANDBOX_ETHERSCAN_KEY}`],
    ['?chainid=1&module=gastracker&action=gasoracle&apikey=wrong'],
  ],
};

/** Headers that depend on the wall clock or the socket, not on the sandbox. */
const VOLATILE = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

let sandbox: Sandbox;
let limited: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 42, quotas: false, now: () => T });
  limited = await startSandbox({
    seed: 42,
    providers: ['coingecko', 'binance', 'mempool'],
    quotas: {
      coingecko: { limit: 1, windowMs: 60_000 },
      binance: { limit: 1, windowMs: 60_000 },
      mempool: { limit: 1, windowMs: 60_000 },
    },
    now: () => T,
  });
});

afterAll(async () => {
  await sandbox?.close();
  await limited?.close();
});

async function digest(url: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(url, { headers });
  const body = await response.text();
  const kept = [...response.headers].filter(([name]) => !VOLATILE.has(name)).sort();
  return createHash('sha256')
    .update(JSON.stringify([response.status, kept, body]))
    .digest('hex')
    .slice(0, 16);
}

describe('sandbox answers at a fixed clock and seed', () => {
  it.each(Object.keys(PATHS))('%s REST answers are unchanged', async (provider) => {
    const base = sandbox.endpoints[provider as keyof Sandbox['endpoints']]!.url;
    const digests: string[] = [];
    for (const [path, headers] of PATHS[provider]!)
      digests.push(`${path} ${await digest(base + path, headers)}`);
    expect(digests).toMatchSnapshot();
  });

  it('answers over quota the same way (429s, Retry-After, bans)', async () => {
    const digests: string[] = [];
    const calls: Array<[keyof Sandbox['endpoints'], string]> = [
      ['coingecko', '/simple/price?ids=bitcoin&vs_currencies=usd'],
      ['binance', '/api/v3/ticker/price?symbol=BTCUSDT'],
      ['mempool', '/v1/fees/recommended'],
    ];
    for (const [provider, path] of calls) {
      const url = limited.endpoints[provider]!.url + path;
      for (let i = 0; i < 3; i++) digests.push(`${provider} ${i} ${await digest(url)}`);
    }
    expect(digests).toMatchSnapshot();
  });

  it('sends the same first Binance stream frames', async () => {
    const wsUrl = sandbox.endpoints.binance!.wsUrl!;
    const socket = new WebSocket(`${wsUrl}/stream?streams=btcusdt@ticker/ethusdt@kline_1m`);
    const frames: string[] = [];
    await new Promise<void>((resolve, reject) => {
      socket.on('message', (data) => {
        frames.push(String(data));
        if (frames.length === 2) resolve();
      });
      socket.on('error', reject);
    });
    socket.close();
    const hashes = frames
      .sort()
      .map((frame) => createHash('sha256').update(frame).digest('hex').slice(0, 16));
    expect(hashes).toMatchSnapshot();
  });
});
