import type { ProviderConfig } from '../config.js';
import { UpstreamError } from '../errors.js';
import type { EnvelopeError, Http } from '../http/client.js';
import type { OnChainMetric } from '../market/model.js';
import { gasOracleBody, notOkBody } from './etherscan-schemas.js';

// Etherscan API V2 gas oracle: GET <base>?chainid=&module=gastracker&action=gasoracle&apikey=KEY. The
// key travels in the query (Etherscan has no header form); http.ts redacts `apikey` from messages and
// logs, and the envelope messages built here never contain it. Etherscan answers errors with HTTP 200
// and status "0", so readEtherscanEnvelopeError is what turns them into failures:
// - "Max rate limit reached…" / "Max calls per sec rate limit reached…" → UPSTREAM_RATE_LIMITED
//   (retry after 1 s: the free plan's window is one second);
// - "Invalid API Key" / "Missing/Invalid API Key" → UPSTREAM_UNAVAILABLE (no call can succeed until
//   the key is fixed);
// - anything else (unsupported chainid, module, action) → UPSTREAM_BAD_RESPONSE.
// The oracle's result carries no timestamp, so asOf is when the answer arrived.

export interface EtherscanDeps {
  http: Http;
  config: ProviderConfig;
  now?: () => number;
}

export interface EtherscanSource {
  /** GAS_SAFE, GAS_PROPOSE, GAS_FAST, GAS_BASE_FEE in gwei, for the fields the chain reports. */
  gasOracle(chainId?: number): Promise<OnChainMetric[]>;
}

/** Etherscan chain ids → our chain slugs (CoinGecko platform ids). */
const CHAINS: Record<number, string> = {
  1: 'ethereum',
  10: 'optimistic-ethereum',
  56: 'binance-smart-chain',
  137: 'polygon-pos',
  8453: 'base',
  42161: 'arbitrum-one',
  43114: 'avalanche',
};

const FIELDS = [
  ['SafeGasPrice', 'GAS_SAFE'],
  ['ProposeGasPrice', 'GAS_PROPOSE'],
  ['FastGasPrice', 'GAS_FAST'],
  ['suggestBaseFee', 'GAS_BASE_FEE'],
] as const;

export function createEtherscanSource(deps: EtherscanDeps): EtherscanSource {
  const { http, config } = deps;
  const now = deps.now ?? Date.now;

  async function gasOracle(chainId = 1): Promise<OnChainMetric[]> {
    if (!Number.isInteger(chainId) || chainId < 1) {
      throw new RangeError(`etherscan gasOracle: chainId must be a positive integer, got ${chainId}`);
    }
    if (!config.enabled || !config.key) {
      throw new UpstreamError(
        'UPSTREAM_UNAVAILABLE',
        'etherscan',
        'etherscan needs an API key (set MARKETGRAPH_ETHERSCAN_KEY) and is disabled without one',
      );
    }
    const key = config.key;
    const body = await http.get({
      provider: 'etherscan',
      endpoint: 'gastracker/gasoracle',
      path: '',
      query: { chainid: chainId, module: 'gastracker', action: 'gasoracle', apikey: key },
      schema: gasOracleBody,
      envelopeError: (raw) => readEtherscanEnvelopeError(raw, key),
    });
    const asOf = new Date(now());
    const chain = CHAINS[chainId] ?? `chain-${chainId}`;
    const metrics: OnChainMetric[] = [];
    for (const [field, kind] of FIELDS) {
      const value = body.result[field];
      if (value !== undefined)
        metrics.push({
          chain,
          kind,
          value,
          unit: 'gwei',
          asOf,
          source: 'etherscan',
          stale: false,
          history: null,
        });
    }
    return metrics;
  }

  return { gasOracle };
}

/** Classifies a status "0" body; undefined for anything else. `key` is scrubbed from the message. */
export function readEtherscanEnvelopeError(body: unknown, key?: string): EnvelopeError | undefined {
  const parsed = notOkBody.safeParse(body);
  if (!parsed.success) return undefined;
  const raw = typeof parsed.data.result === 'string' ? parsed.data.result : parsed.data.message;
  const reason = key ? raw.split(key).join('[redacted]') : raw;
  if (/rate limit reached/i.test(reason)) {
    return { code: 'UPSTREAM_RATE_LIMITED', message: `status 0: ${reason}`, retryAfter: 1 };
  }
  if (/invalid api key/i.test(reason)) {
    return {
      code: 'UPSTREAM_UNAVAILABLE',
      message: `status 0: ${reason} (check MARKETGRAPH_ETHERSCAN_KEY)`,
      retryable: false,
    };
  }
  return { code: 'UPSTREAM_BAD_RESPONSE', message: `status 0: ${reason}` };
}
