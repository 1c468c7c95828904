// Generated hostile requests for the gateway, and the judgement of its answers. Shared by the bounded
// fuzz test (test/gateway/fuzz.test.ts, in-process) and the long run (scripts/fuzz.ts, over a socket).
// Deterministic per seed, so a failure can be replayed: its case number and seed say which request.

export interface FuzzRequest {
  /** Which generator made it, for the failure report. */
  kind: string;
  method: 'GET' | 'POST';
  /** Query string including the leading `?`. */
  search?: string;
  body?: string;
  contentType?: string;
  accept?: string;
}

export interface FuzzAnswer {
  status: number;
  contentType: string;
  text: string;
}

/** What an answer to a client's mistake must look like; undefined when it does. */
export function judge(answer: FuzzAnswer, maxMessage: number): string | undefined {
  if (answer.status >= 500) return `HTTP ${answer.status}`;
  if (answer.text === '') {
    // Yoga's HTTP-level refusals (wrong method, media type, accept) carry no body.
    return [404, 405, 406, 415].includes(answer.status) ? undefined : `empty body with HTTP ${answer.status}`;
  }
  for (const payload of payloadsOf(answer)) {
    let body: { errors?: unknown };
    try {
      body = JSON.parse(payload);
    } catch {
      return `HTTP ${answer.status} payload is not JSON: ${payload.slice(0, 80)}`;
    }
    if (body.errors === undefined) {
      if (answer.status !== 200) return `HTTP ${answer.status} without errors`;
      continue;
    }
    if (!Array.isArray(body.errors) || body.errors.length === 0) return 'errors is not a non-empty list';
    for (const error of body.errors as Array<{ message?: unknown; extensions?: { code?: unknown } }>) {
      if (typeof error.extensions?.code !== 'string')
        return `uncoded error: ${String(error.message).slice(0, 120)}`;
      if (typeof error.message !== 'string' || error.message.length > maxMessage) {
        return `${error.extensions.code} message of ${String(error.message).length} characters`;
      }
    }
  }
  return undefined;
}

/** The JSON payloads of an answer: the body, each SSE `data:` line, or each multipart part. */
function payloadsOf(answer: FuzzAnswer): string[] {
  if (answer.contentType.startsWith('text/event-stream')) {
    return answer.text
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).trim())
      .filter((data) => data !== '' && data !== '{}');
  }
  if (answer.contentType.startsWith('multipart/mixed')) {
    return answer.text.split('\r\n').filter((line) => line.startsWith('{'));
  }
  return [answer.text];
}

/** A few valid operations (README examples) that the mutations start from. */
const VALID = [
  '{ assets(first: 5) { edges { node { id symbol name rank price(currency: USD) { value change24h asOf source stale } } } pageInfo { endCursor hasNextPage } } }',
  '{ eth: asset(symbol: "ETH") { id sameSymbol { id } } usdt: asset(contract: { chain: "ethereum", address: "0xdac17f958d2ee523a2206206994597c13d831ec7" }) { id name } }',
  '{ btc: asset(id: "bitcoin") { market(currency: EUR) { price marketCap volume24h } quotes(currency: USD) { value source } consensus: price(aggregate: MEDIAN) { value spread sources } } }',
  '{ asset(id: "bitcoin") { candles(interval: H1, first: 5) { edges { node { openTime open close } } gaps { from to } pageInfo { endCursor hasNextPage } } } }',
  '{ signals(assetIds: ["bitcoin", "solana"], interval: D1) { assetId kind direction strength } }',
  '{ bitcoin: onChainMetrics(chain: "bitcoin") { kind value unit } lido: protocolTvl(slug: "lido") { value unit } }',
  '{ sources { name enabled healthy breaker quotaLeft requestsPerMinute lastLatencyMs lastError } }',
  'query Q($ids: [ID!]!, $n: Int) { nodes(ids: $ids) { id ... on Asset { symbol } } assets(first: $n) { edges { cursor } } }',
  '{ node(id: "bitcoin") { id ... on Asset { name price { value } } } }',
  'query { __schema { queryType { name } types { name kind fields { name args { name type { name kind ofType { name } } } } } } }',
  'subscription { priceUpdated(assetIds: ["bitcoin"]) { value } }',
  'fragment A on Asset { id symbol } query { asset(id: "ethereum") { ...A sameSymbol { ...A } } }',
];

const VOCABULARY = [
  '{',
  '}',
  '(',
  ')',
  '[',
  ']',
  ':',
  '!',
  '$',
  '@',
  '...',
  '=',
  '|',
  '&',
  ',',
  'query',
  'mutation',
  'subscription',
  'fragment',
  'on',
  'true',
  'false',
  'null',
  'asset',
  'assets',
  'id',
  'first',
  'ids',
  'node',
  'nodes',
  'edges',
  'price',
  'candles',
  'signals',
  '__typename',
  '__schema',
  'sources',
  'Int',
  'ID',
  'String',
  '"bitcoin"',
  '"x"',
  '""',
  '"""block"""',
  '0',
  '-1',
  '2147483648',
  '1e999',
  '3.14',
  '#c\n',
  '@include(if: true)',
  '@skip(if: $v)',
  '@deprecated',
  'A',
  'Asset',
  '$v',
  'Query',
];

const JUNK_STRINGS = [
  '',
  ' ',
  '../../etc/passwd',
  'bitcoin?x=1&key=',
  '%00%2F',
  '\u0000\u0001\u001f',
  '\ud800',
  '😀'.repeat(50),
  '<script>alert(1)</script>',
  'a'.repeat(257),
  'Foo:bar',
  ':::',
  'Asset:bitcoin',
  'T'.repeat(5_000),
];

export interface Fuzzer {
  next(): FuzzRequest;
}

export function createFuzzer(seed: number): Fuzzer {
  const random = mulberry32(seed);
  const int = (max: number) => Math.floor(random() * max);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  /** Sizes spread over orders of magnitude: mostly small, sometimes huge. */
  const size = (max: number) => Math.floor(Math.exp(random() * Math.log(max)));

  const junkString = () =>
    random() < 0.8
      ? pick(JUNK_STRINGS)
      : String.fromCharCode(...Array.from({ length: size(200) }, () => int(0x3000)));
  const junkValue = (): unknown =>
    pick<() => unknown>([
      () => junkString(),
      () => pick([0, -1, 2 ** 31, -(2 ** 53), 1e308, 0.5, Number.MAX_SAFE_INTEGER]),
      () => pick([true, false, null]),
      () => Array.from({ length: size(5_000) }, () => pick(['bitcoin', 1, null, 'x'.repeat(300)])),
      () => ({ [junkString()]: junkString(), chain: junkString(), address: 1 }),
      () => [[['nested']]],
    ])();

  const post = (kind: string, payload: unknown, extra: Partial<FuzzRequest> = {}): FuzzRequest => ({
    kind,
    method: 'POST',
    body: JSON.stringify(payload),
    ...extra,
  });

  const mutate = (text: string): string => {
    let out = text;
    for (let n = 1 + int(4); n > 0; n--) {
      const at = int(out.length + 1);
      const span = 1 + int(12);
      out = pick<() => string>([
        () => out.slice(0, at) + out.slice(at + span),
        () => out.slice(0, at) + out.slice(at, at + span).repeat(1 + size(400)) + out.slice(at),
        () => `${out.slice(0, at)} ${pick(VOCABULARY)} ${out.slice(at)}`,
        () => out.replace(/"[^"]*"/, JSON.stringify(junkString())),
        () => out.replace(/\b\d+\b/, pick(['2147483648', '-99999999999', '1'.repeat(40), '0', '-1', '1e3'])),
        () =>
          out.replace(
            /\{/,
            `{ ${Array.from({ length: size(60) }, (_, i) => `a${i}: __typename`).join(' ')} `,
          ),
        () => out.replace(/\}/, ` ${'@include(if: true) '.repeat(size(80))}}`),
        () => out.replace(/\{ /, `{ ${'...on Query { '.repeat(size(40))}__typename ${'} '.repeat(size(40))}`),
      ])();
    }
    return out;
  };

  const nested = () => {
    const depth = size(6_000);
    return pick<() => string>([
      () => `{${'a{'.repeat(depth)}b${'}'.repeat(depth + 1)}`,
      () => `{ nodes(ids: ${'['.repeat(depth)}"x"${']'.repeat(depth)}) { id } }`,
      () => `{ asset(contract: ${'{chain:'.repeat(depth)}"x"${'}'.repeat(depth)}) { id } }`,
      () =>
        `{ asset(id: "bitcoin") { ${'price { asset { '.repeat(depth % 40)}id${' } }'.repeat(depth % 40)} } }`,
      () => {
        let fragments = 'fragment F0 on Query { __typename }';
        const width = 2 + int(40);
        const levels = 1 + int(6);
        for (let i = 1; i <= levels; i++)
          fragments += ` fragment F${i} on Query { ${`...F${i - 1} `.repeat(width)}}`;
        return `{ ...F${levels} } ${fragments}`;
      },
    ])();
  };

  const generators: Array<[number, () => FuzzRequest]> = [
    [30, () => post('mutated', { query: mutate(pick(VALID)) })],
    [
      10,
      () => post('tokens', { query: Array.from({ length: size(4_000) }, () => pick(VOCABULARY)).join(' ') }),
    ],
    [10, () => post('nested', { query: nested() })],
    [
      10,
      () => {
        const count = random() < 0.01 ? 1_000_000 : size(20_000);
        const ids = Array.from({ length: count }, (_, i) => `coin-${i}`);
        return pick<() => FuzzRequest>([
          () =>
            post('list variable', {
              query: 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }',
              variables: { ids },
            }),
          () =>
            post('list variable', {
              query: 'query($v: [ID!]!) { signals(assetIds: $v) { kind } }',
              variables: { v: ids.slice(0, size(2_000)) },
            }),
          () =>
            post('list literal', {
              query: `{ assets(ids: [${ids
                .slice(0, size(5_000))
                .map((id) => `"${id}"`)
                .join(',')}]) { edges { node { id } } } }`,
            }),
        ])();
      },
    ],
    [
      15,
      () =>
        post('variables', {
          query: pick([
            'query($id: ID) { asset(id: $id) { id } }',
            'query($s: String) { asset(symbol: $s) { id } }',
            'query($c: ContractInput) { asset(contract: $c) { id } }',
            'query($n: Int!) { assets(first: $n) { edges { node { id } } } }',
            'query($k: [SignalKind!]) { signals(assetIds: ["bitcoin"], kinds: $k) { kind } }',
            'query($from: DateTime) { asset(id: "bitcoin") { candles(from: $from) { gaps { from } } } }',
            'query($ids: [ID!]!) { nodes(ids: $ids) { id } }',
            'query($slug: String!) { protocolTvl(slug: $slug) { value } }',
          ]),
          variables: pick<() => unknown>([
            () => ({ id: junkValue(), s: junkValue(), c: junkValue(), n: junkValue() }),
            () => ({ k: junkValue(), from: junkValue(), ids: junkValue(), slug: junkValue() }),
            () => junkValue(),
            () => ({}),
          ])(),
        }),
    ],
    [
      10,
      () => {
        const parts = pick<() => string[]>([
          () => [`query=${encode(mutate(pick(VALID)))}`],
          () => [
            'query=%7B__typename%7D',
            `variables=${encode(pick(['{bad', '[1]', '"x"', '{"a":', 'null', '1e999']))}`,
          ],
          () => [
            'query=%7B__typename%7D',
            `extensions=${encode(pick(['{bad', '[]', '{"persistedQuery":1}', '{']))}`,
          ],
          () => [`operationName=${encode(junkString())}`, 'query=query%20A%7B__typename%7D'],
          () => ['query=', 'query=%7Ba%7D'],
          () => [`query=${'%7B'.repeat(size(3_000))}`],
          () => ['variables=%7B%7D'],
          () => [`query=${encode('mutation { x }')}`],
          () => [`${encode(junkString())}=${encode(junkString())}`],
        ])();
        return { kind: 'GET', method: 'GET', search: `?${parts.join('&')}` };
      },
    ],
    [
      15,
      () => {
        const body = pick<() => string>([
          () => `{"query": "${'x'.repeat(size(2_000_000))}`,
          () => JSON.stringify({ query: mutate(pick(VALID)) }).slice(0, -1 - int(20)),
          () => pick(['', 'null', '1', '"x"', '[]', '[{"query":"{__typename}"}]', 'true', '{}', '\ufeff{}']),
          () => `{"query": "{ __typename }", "variables": ${'['.repeat(size(100_000))}`,
          () => `{"query": 1, "variables": "x", "extensions": []}`,
          () => JSON.stringify({ query: '{ __typename }', [junkString()]: 1 }),
          () => JSON.stringify({ query: '{ __typename }', operationName: junkString() }),
          () => `{"query": "{ __typename }", "query": "{ sources { name } }"}`,
        ])();
        return pick<() => FuzzRequest>([
          () => ({ kind: 'JSON body', method: 'POST', body }),
          () => ({
            kind: 'media type',
            method: 'POST',
            body,
            contentType: pick([
              'text/plain',
              'application/graphql',
              'application/x-www-form-urlencoded',
              'multipart/form-data; boundary=x',
              '',
            ]),
          }),
          () => ({
            kind: 'accept',
            method: 'POST',
            // Queries only: a subscription over SSE streams until the client leaves.
            body: JSON.stringify({ query: pick(VALID.filter((q) => !q.startsWith('subscription'))) }),
            accept: pick(['text/event-stream', 'multipart/mixed', 'text/html', 'image/png', '*/*']),
          }),
        ])();
      },
    ],
  ];
  const total = generators.reduce((sum, [weight]) => sum + weight, 0);

  return {
    next() {
      let roll = random() * total;
      for (const [weight, generate] of generators) {
        roll -= weight;
        if (roll < 0) return generate();
      }
      return generators[0]![1]();
    },
  };
}

const LONE_SURROGATE = /([\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff])/;

/** encodeURIComponent, except that a lone surrogate goes out as the invalid UTF-8 it would be. */
function encode(text: string): string {
  return text
    .split(LONE_SURROGATE)
    .map((part, i) => (i % 2 === 1 ? '%ED%A0%80' : encodeURIComponent(part)))
    .join('');
}

/** A small seeded PRNG: the same seed gives the same requests. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** Sends one request; a request still unanswered after `timeoutMs` is reported as a hang. */
export async function sendFuzz(
  fetchFn: FetchLike,
  url: string,
  request: FuzzRequest,
  timeoutMs: number,
): Promise<FuzzAnswer> {
  const headers: Record<string, string> = {
    accept: request.accept ?? 'application/graphql-response+json, application/json',
  };
  if (request.method === 'POST') headers['content-type'] = request.contentType ?? 'application/json';
  const signal = AbortSignal.timeout(timeoutMs);
  const response = await fetchFn(`${url}${request.search ?? ''}`, {
    method: request.method,
    headers,
    signal,
    ...(request.method === 'POST' ? { body: request.body ?? '' } : {}),
  });
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    text: await response.text(),
  };
}
