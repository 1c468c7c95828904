// The README's examples, one operation each. GraphiQL opens with one tab per example, and
// test/examples.test.ts runs every one against the sandbox and checks that README.md shows exactly
// these documents, in this order, so the three cannot drift apart.

export interface Example {
  /** What the example shows; the first line of its GraphiQL tab. */
  title: string;
  /** One named operation, exactly as README.md shows it. */
  document: string;
}

export const EXAMPLES: readonly Example[] = [
  {
    title: 'Asset and Price: the top assets with prices, one upstream call per provider per batch',
    document: `query TopAssets {
  assets(first: 50) {
    edges { node { id symbol name rank price(currency: USD) { value change24h asOf source stale } } }
    pageInfo { endCursor hasNextPage }
  }
}`,
  },
  {
    title:
      "One asset by id, symbol or contract; market data in any currency; each provider's quote and the consensus",
    document: `query AssetLookup {
  eth: asset(by: { symbol: "ETH" }) { id sameSymbol { id } }
  usdt: asset(by: { contract: { chain: "ethereum", address: "0xdac17f958d2ee523a2206206994597c13d831ec7" } }) { id name }
  btc: asset(by: { id: "bitcoin" }) {
    market(currency: EUR) { price marketCap volume24h high24h low24h circulatingSupply asOf source }
    quotes(currency: USD) { value source asOf }
    consensus: price(aggregate: MEDIAN) { value spread sources }
    binance: price(source: BINANCE, currency: BTC) { value }
  }
}`,
  },
  {
    title: 'Candles: paged by cursor, split across provider calls, gaps reported rather than invented',
    document: `query Candles {
  asset(by: { id: "bitcoin" }) {
    candles(interval: D1, from: "2026-01-01T00:00:00Z", first: 100) {
      edges { node { openTime open high low close volume source } }
      gaps { from to }
      pageInfo { endCursor hasNextPage }
    }
  }
}`,
  },
  {
    title: 'Deferred: the price at once, the slow candles and signals when they are ready',
    document: `query AssetPage {
  asset(by: { id: "bitcoin" }) {
    name
    price { value asOf }
    ... @defer(label: "history") {
      candles(interval: H1, first: 24) { edges { node { openTime close } } }
      signals { kind direction strength }
    }
  }
}`,
  },
  {
    title: 'Signal: computed from candles for every asset, plus Token Metrics when its key is set',
    document: `query Signals {
  signals(assetIds: ["bitcoin", "solana"], interval: D1) { id assetId kind direction strength generatedAt source rationale }
}`,
  },
  {
    title: 'OnChainMetric: Bitcoin fees and hashrate, Ethereum gas, TVL and stablecoin supply',
    document: `query OnChainMetrics {
  bitcoin: onChainMetrics(chain: "bitcoin") { kind value unit asOf source }
  ethereum: onChainMetrics(chain: "ethereum", kinds: [GAS_PROPOSE, TVL]) { kind value unit history { at value } }
  defi: onChainMetrics(chain: "all") { kind value unit }
  solana: asset(by: { id: "solana" }) { onChainMetrics { kind value unit } }
  lido: protocolTvl(slug: "lido") { value unit asOf history { at value } }
}`,
  },
  {
    title: 'Node: refetch anything with an id',
    document: `query Refetch {
  nodes(ids: ["bitcoin", "Signal:bitcoin:RSI:1d", "OnChainMetric:FEE_FASTEST:bitcoin"]) {
    id
    ... on Asset { name }
    ... on Signal { direction strength }
    ... on OnChainMetric { value unit }
  }
}`,
  },
  {
    title: 'Sources: how the gateway sees each provider right now',
    document: `query Sources { sources { name enabled healthy breaker quotaLeft requestsPerMinute lastLatencyMs lastFailure { code message endpoint status at } } }`,
  },
  {
    title:
      'Search and screen: by name or ticker prefix; by market cap, volume and 24 h change ranges, ordered by change; by category',
    document: `query Search {
  bit: searchAssets(query: "bit", first: 5) { id symbol name rank }
  risers: searchAssets(filter: { minMarketCap: 1e9, minChange24h: 2 }, orderBy: CHANGE_24H_DESC, first: 10) {
    id symbol market { change24h marketCap volume24h asOf source }
  }
  defi: searchAssets(filter: { category: "decentralized-finance-defi", minVolume24h: 1e7 }, first: 5) { id symbol }
  categories: assetCategories { id name }
}`,
  },
  {
    title: 'Live prices: the current price first, then every change; throttleMs spaces events',
    document: `subscription LivePrices { priceUpdated(assetIds: ["bitcoin", "ethereum"], currency: USD, throttleMs: 1000) { assetId value asOf source } }`,
  },
  {
    title: 'Live on-chain metrics: current values first, then changes only',
    document: `subscription LiveFees { onChainMetricUpdated(chain: "bitcoin", kinds: [FEE_FASTEST, BLOCK_HEIGHT]) { id kind value unit asOf } }`,
  },
  {
    title: "Live signals: every signal first, then each change of a signal's direction or strength",
    document: `subscription LiveSignals { signalChanged(assetIds: ["bitcoin"], interval: D1) { id kind direction strength generatedAt } }`,
  },
];

const HINT =
  '# Press ▶ (Ctrl+Enter) to run. Each tab is a README example; the Docs panel has the whole schema.';

/** GraphiQL's defaultTabs: one per example, its title as a comment above the document. */
export function graphiqlTabs(examples: readonly Example[] = EXAMPLES): Array<{ query: string }> {
  return examples.map((example, i) => ({
    query: `${i === 0 ? `${HINT}\n` : ''}# ${example.title}\n${example.document}\n`,
  }));
}
