import type { Config } from '../config.js';
import type { Http } from '../http/client.js';
import { createBinanceSource } from './binance.js';
import { createCoinCapSource } from './coincap.js';
import { createCoinGeckoSource } from './coingecko.js';
import { createDefiLlamaSource } from './defillama.js';
import { createEtherscanSource } from './etherscan.js';
import { createMempoolSource } from './mempool.js';
import { shareIdentical } from './share-identical.js';
import { createTokenMetricsSource } from './tokenmetrics.js';

// Every provider source over one Http: the process's, or a request's view of it (http.forRequest), so
// a set is built per request that calls providers. Building one makes no call; each source is built on
// first use, since a request usually reaches one or two providers. Whether a provider is used is
// decided by config.providers[name].enabled at the call sites.

export function createSources(deps: { http: Http; config: Config }) {
  return new SourceSet(deps.http, deps.config.providers);
}

export type Sources = ReturnType<typeof createSources>;

/** A class, so that the set built per request is a few fields; its getters live on the prototype. */
class SourceSet {
  private cg: ReturnType<typeof createCoinGeckoSource> | undefined;
  private bn: ReturnType<typeof createBinanceSource> | undefined;
  private llama: ReturnType<typeof createDefiLlamaSource> | undefined;
  private mp: ReturnType<typeof createMempoolSource> | undefined;
  private tm: ReturnType<typeof createTokenMetricsSource> | undefined;
  private cc: ReturnType<typeof createCoinCapSource> | undefined;
  private es: ReturnType<typeof createEtherscanSource> | undefined;

  private shared: Http | undefined;

  constructor(
    private readonly plain: Http,
    private readonly providers: Config['providers'],
  ) {}

  /** The set's Http: identical calls in flight at once are sent once (share-identical.ts). */
  private get http(): Http {
    this.shared ??= shareIdentical(this.plain);
    return this.shared;
  }

  get coingecko() {
    this.cg ??= createCoinGeckoSource({ http: this.http, config: this.providers.coingecko });
    return this.cg;
  }
  get binance() {
    this.bn ??= createBinanceSource({ http: this.http, config: this.providers.binance });
    return this.bn;
  }
  get defillama() {
    this.llama ??= createDefiLlamaSource({ http: this.http, config: this.providers.defillama });
    return this.llama;
  }
  get mempool() {
    this.mp ??= createMempoolSource({ http: this.http, config: this.providers.mempool });
    return this.mp;
  }
  get tokenmetrics() {
    this.tm ??= createTokenMetricsSource({ http: this.http, config: this.providers.tokenmetrics });
    return this.tm;
  }
  get coincap() {
    this.cc ??= createCoinCapSource({ http: this.http, config: this.providers.coincap });
    return this.cc;
  }
  get etherscan() {
    this.es ??= createEtherscanSource({ http: this.http, config: this.providers.etherscan });
    return this.es;
  }
}
