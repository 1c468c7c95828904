import { STATUS_CODES } from 'node:http';
import type { DialectFactory, SandboxRequest, SandboxResponse } from '../../dialect.js';
import type { Market } from '../../market/market.js';
import { linearNoise, noiseKnot } from '../../market/noise.js';

// Etherscan API V2, gas oracle only (shared/reference/upstream-apis.md §6). Everything is
// GET /v2/api?chainid=&module=&action=&apikey=, every value is a string, and every error — a bad key,
// a missing chainid, the rate limit — is HTTP 200 {"status":"0","message":"NOTOK","result":"<reason>"},
// so a client must read `status`, not the HTTP code. Checks run in this order: chainid, apikey, module,
// action. Sandbox choices ([unverified] where marked):
// - Only chainid 1 (Ethereum) is served; any other chainid gets the missing/unsupported message.
// - A missing apikey answers "Missing/Invalid API Key", a wrong one "Invalid API Key".
// - A module other than gastracker answers "Error! Missing Or invalid Module name"; module gastracker
//   with another action answers "Error! Missing Or invalid Action name" (Etherscan's wording).
// - The quota answer is HTTP 200 with result "Max rate limit reached" and no Retry-After.
// - Unknown paths and 5xx are HTML pages (Cloudflare fronts the API) [unverified].
// Numbers: blocks every 12 s from block 19,000,000 at 2024-01-12T17:58:59Z; the base fee follows ETH's
// simulated price (busier when it rallies) with a slow per-block wobble; gasUsedRatio lists the last 5
// blocks oldest first; suggestBaseFee is the EIP-1559 next-block base fee from the last block's ratio.

/** The one key the sandbox accepts, in `apikey`. */
export const SANDBOX_ETHERSCAN_KEY = 'sandbox-etherscan-key';

const CHAINID_MESSAGE =
  'Missing or unsupported chainid parameter (required for v2 api), please see https://api.etherscan.io/v2/chainlist for the list of supported chainids';
const BLOCK_MS = 12_000;
const REFERENCE_BLOCK = 19_000_000;
const REFERENCE_TIME = Date.UTC(2024, 0, 12, 17, 58, 59);
const REFERENCE_BASE_FEE_GWEI = 8;

export const createEtherscanDialect: DialectFactory = ({ market }) => {
  function api(request: SandboxRequest): SandboxResponse {
    const query = request.url.searchParams;
    if (query.get('chainid') !== '1') return notOk(CHAINID_MESSAGE);
    const key = query.get('apikey');
    if (!key) return notOk('Missing/Invalid API Key');
    if (key !== SANDBOX_ETHERSCAN_KEY) return notOk('Invalid API Key');
    if (query.get('module') !== 'gastracker') return notOk('Error! Missing Or invalid Module name');
    if (query.get('action') !== 'gasoracle') return notOk('Error! Missing Or invalid Action name');
    return { json: { status: '1', message: 'OK', result: gasOracle(market, market.now()) } };
  }

  return {
    provider: 'etherscan',
    basePath: '/v2/api',
    routes: [{ endpoint: 'gastracker/gasoracle', path: '/v2/api', handle: api }],
    notFound: () => htmlPage(404),
    rateLimited: () => notOk('Max rate limit reached'),
    serverError: (status) => htmlPage(status),
    // Free plan: 3 calls per second.
    quota: { limit: 3, windowMs: 1000 },
  };
};

function gasOracle(market: Market, now: number) {
  const lastBlock = REFERENCE_BLOCK + Math.floor((now - REFERENCE_TIME) / BLOCK_MS);
  const blockTime = (block: number) => REFERENCE_TIME + (block - REFERENCE_BLOCK) * BLOCK_MS;
  const ethereum = market.byId('ethereum');
  const demand = (t: number) => (ethereum ? (market.priceUsd('ethereum', t) / ethereum.priceUsd) ** 4 : 1);
  const baseFee = (block: number) =>
    REFERENCE_BASE_FEE_GWEI * demand(blockTime(block)) * Math.exp(0.3 * linearNoise(0x6a5, block / 25));
  const usedRatio = (block: number) => 0.5 + 0.45 * noiseKnot(0x3c1, block);

  const ratios = [4, 3, 2, 1, 0].map((back) => usedRatio(lastBlock - back));
  const lastRatio = ratios[4]!;
  const suggest = baseFee(lastBlock) * (1 + (lastRatio - 0.5) / 4);
  const busy = 1 + ratios.reduce((sum, r) => sum + r, 0) / ratios.length;
  return {
    LastBlock: String(lastBlock),
    SafeGasPrice: gwei(suggest + 0.02, 3),
    ProposeGasPrice: gwei(suggest + 0.15 * busy, 3),
    FastGasPrice: gwei(suggest + 0.6 * busy, 3),
    suggestBaseFee: gwei(suggest, 9),
    gasUsedRatio: ratios.map(String).join(','),
  };
}

function notOk(result: string): SandboxResponse {
  return { json: { status: '0', message: 'NOTOK', result } };
}

function htmlPage(status: number): SandboxResponse {
  const title = `${status} ${STATUS_CODES[status] ?? 'Error'}`;
  return {
    status,
    contentType: 'text/html',
    text: `<!DOCTYPE html><html><head><title>${title}</title></head><body><h1>${title}</h1><p>cloudflare</p></body></html>\n`,
  };
}

function gwei(value: number, digits: number): string {
  return value.toFixed(digits);
}
