// Generated hostile requests for the gateway, and the judgement of its answers. Shared by the bounded
// fuzz test (test/gateway/fuzz.test.ts, in-process) and the long run (scripts/fuzz.ts, over a socket).
// Deterministic per seed, so a failure can be replayed: its case number and seed say which request.

export interface FuzzRequest {
  /** Which generator made it, for the failure report. */
  kind: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  /** Where it goes: the GraphQL endpoint (default) or MCP's. */
  path?: '/graphql' | '/mcp';
  /** Query string including the leading `?`. */
  search?: string;
  body?: string;
  contentType?: string;
  accept?: string;
  /** More headers (credentials, stream tokens, forwarding), as sent. */
  headers?: Record<string, string>;
  /**
   * graphql-sse single-connection mode: a stream is reserved first (PUT) and `{token}` in the search,
   * headers and body stands for its token; the reservation is given up afterwards.
   */
  reserve?: boolean;
  /** /mcp inside the run's MCP session (initialized once, its id sent as mcp-session-id). */
  mcpSession?: boolean;
}

export interface FuzzAnswer {
  status: number;
  contentType: string;
  text: string;
}

/** The kind of graphql-sse single-connection requests, which may open an event stream. */
const SSE_SINGLE = 'sse single';

/** What an answer to a client's mistake must look like; undefined when it does. */
export function judge(answer: FuzzAnswer, maxMessage: number, request?: FuzzRequest): string | undefined {
  if (request?.path === '/mcp') return judgeMcp(answer, maxMessage);
  if (answer.status >= 500) return `HTTP ${answer.status}`;
  // Only GET opens a graphql-sse stream: any other method that got one past the gateway's count.
  if (
    request?.kind === SSE_SINGLE &&
    request.method !== 'GET' &&
    answer.contentType.startsWith('text/event-stream')
  )
    return `a ${request.method} opened the reserved stream`;
  if (answer.text === '') {
    // Yoga's HTTP-level refusals (wrong method, media type, accept) carry no body; so do graphql-sse's
    // accepted operation (202) and stop (200).
    // Node itself answers headers over its 16 KB limit with an empty 431.
    return [200, 202, 404, 405, 406, 415, 431].includes(answer.status)
      ? undefined
      : `empty body with HTTP ${answer.status}`;
  }
  // A graphql-sse reservation answers its token as text (at most 128 characters).
  if (answer.status === 201 && answer.contentType.startsWith('text/plain'))
    return answer.text.length <= 128 ? undefined : `a ${answer.text.length}-character stream token`;
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

/**
 * An answer from /mcp: never a 5xx; each JSON-RPC message an error with a numeric code and a bounded
 * message, or a result; a tool error carries coded errors with bounded messages.
 */
function judgeMcp(answer: FuzzAnswer, maxMessage: number): string | undefined {
  if (answer.status >= 500) return `MCP HTTP ${answer.status}`;
  if (answer.text.length > MAX_MCP_ANSWER) return `MCP answer of ${answer.text.length} characters`;
  if (answer.text === '')
    return [202, 405, 406].includes(answer.status) ? undefined : `empty MCP ${answer.status}`;
  for (const payload of payloadsOf(answer)) {
    let messages: unknown;
    try {
      messages = JSON.parse(payload);
    } catch {
      return `MCP HTTP ${answer.status} payload is not JSON: ${payload.slice(0, 80)}`;
    }
    for (const message of (Array.isArray(messages) ? messages : [messages]) as McpMessage[]) {
      if (message?.error) {
        if (typeof message.error.code !== 'number') return 'JSON-RPC error without a numeric code';
        if (typeof message.error.message !== 'string' || message.error.message.length > maxMessage)
          return `JSON-RPC error message of ${String(message.error.message).length} characters`;
        // A client's mistake is not the server's internal error; the gateway's own failures (a
        // provider's, a budget's) carry their code in `data`.
        if (message.error.code === -32603 && typeof message.error.data?.code !== 'string')
          return `JSON-RPC internal error: ${message.error.message.slice(0, 120)}`;
        continue;
      }
      if (message?.result === undefined)
        return `MCP message with neither result nor error: ${payload.slice(0, 80)}`;
      if (message.result.isError) {
        for (const error of message.result.structuredContent?.errors ?? [{}]) {
          if (typeof error.code !== 'string') return 'tool error without a code';
          if (typeof error.message !== 'string' || error.message.length > maxMessage)
            return `tool error ${error.code} message of ${String(error.message).length} characters`;
        }
      }
    }
  }
  return undefined;
}

/** Longest /mcp answer: tools/list is ~11 KB; anything near the body limit is an echo. */
const MAX_MCP_ANSWER = 64 * 1024;

interface McpMessage {
  error?: { code?: unknown; message?: unknown; data?: { code?: unknown } };
  result?: {
    isError?: boolean;
    structuredContent?: { errors?: Array<{ code?: unknown; message?: unknown }> };
  };
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

  /** Printable ASCII, as a header value may carry. */
  const headerJunk = () =>
    String.fromCharCode(...Array.from({ length: 1 + size(300) }, () => 0x20 + int(0x5f))).trim() || 'x';
  const jwtShaped = () => {
    const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    return pick([
      `${part({ alg: 'none' })}.${part({ scope: 'query:any', exp: 9e15 })}.`,
      `${part({ alg: 'HS256', kid: junkString().slice(0, 200) })}.${part(junkString().slice(0, 200))}.${headerJunk().replace(/[^A-Za-z0-9]/g, '')}`,
      `${headerJunk()}.${headerJunk()}.${headerJunk()}`,
      'a.b.c',
    ]);
  };

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
    [
      4,
      (): FuzzRequest => {
        // graphql-sse single-connection mode: tokens that name no stream, a reserved one, garbage.
        const method = pick(['PUT', 'DELETE', 'POST', 'GET', 'PATCH'] as const);
        const reserve = random() < 0.5;
        const token = reserve
          ? '{token}'
          : pick(['', 'x', '../../', '%00', headerJunk(), 'k'.repeat(size(8_000))]);
        const inQuery = random() < 0.3;
        const accept = pick(['text/event-stream', 'application/json', '*/*', 'text/plain', undefined]);
        const body =
          method === 'GET'
            ? undefined
            : pick<() => string>([
                () =>
                  JSON.stringify({ query: mutate(pick(VALID)), extensions: { operationId: junkString() } }),
                () => JSON.stringify({ query: pick(VALID), extensions: { operationId: 'op' } }),
                () => JSON.stringify({ query: pick(VALID) }),
                () =>
                  JSON.stringify({
                    query: '{ __typename }',
                    variables: junkValue(),
                    extensions: junkValue(),
                  }),
                () => pick(['', '{', 'null', '[]', '{"query":1}']),
                () => `{"query":"{ __typename }","variables":{"v":${'['.repeat(size(50_000))}`,
              ])();
        const params = [
          ...(inQuery ? [`token=${encode(token)}`] : []),
          ...(method === 'DELETE' && random() < 0.7 ? [`operationId=${encode(junkString())}`] : []),
        ];
        return {
          kind: SSE_SINGLE,
          method,
          reserve,
          search: params.length ? `?${params.join('&')}` : undefined,
          body,
          accept,
          contentType: pick(['application/json', 'text/plain', undefined]),
          headers: inQuery ? {} : { 'x-graphql-event-stream-token': token },
        };
      },
    ],
    [
      4,
      () => {
        // Persisted operations and trusted documents: garbage hashes, ids and versions.
        const hash = pick<() => unknown>([
          () => 'zz',
          () => '0'.repeat(64),
          () => 'a'.repeat(size(100_000)),
          () => junkValue(),
          () => `sha256:${'f'.repeat(64)}`,
        ])();
        const extensions = pick<() => unknown>([
          () => ({ persistedQuery: { version: 1, sha256Hash: hash } }),
          () => ({ persistedQuery: { version: junkValue(), sha256Hash: hash } }),
          () => ({ persistedQuery: junkValue() }),
          () => junkValue(),
        ])();
        const documentId = pick<() => unknown>([
          () => undefined,
          () => hash,
          () => `sha256:${junkString()}`,
        ])();
        const withQuery = random() < 0.5;
        const payload = {
          ...(withQuery ? { query: pick(VALID.filter((q) => !q.startsWith('subscription'))) } : {}),
          extensions,
          ...(documentId === undefined ? {} : { documentId }),
        };
        if (random() < 0.3) {
          const parts = Object.entries(payload).map(
            ([k, v]) => `${k}=${encode(typeof v === 'string' ? v : (JSON.stringify(v) ?? 'null'))}`,
          );
          return { kind: 'persisted', method: 'GET', search: `?${parts.join('&').slice(0, 12_000)}` };
        }
        return post('persisted', payload);
      },
    ],
    [
      4,
      () => {
        // Credentials and forwarding headers, garbage or oversized, on an ordinary query.
        const name = pick([
          'x-api-key',
          'authorization',
          'x-forwarded-for',
          'x-request-id',
          'traceparent',
          'origin',
        ]);
        const value = pick<() => string>([
          () => headerJunk(),
          () => 'k'.repeat(size(10_000)),
          () => `Bearer ${headerJunk()}`,
          () => `Bearer ${'t'.repeat(size(10_000))}`,
          () => 'Bearer',
          () => `Bearer ${jwtShaped()}`,
          () => `Basic ${Buffer.from(headerJunk()).toString('base64')}`,
          () => `mg_${headerJunk()}`,
          () => '1.2.3.4, garbage, ::ffff:1, 999.1.1.1',
        ])();
        const query = pick(VALID.filter((q) => !q.startsWith('subscription')));
        return random() < 0.5
          ? post('auth headers', { query }, { headers: { [name]: value } })
          : {
              kind: 'auth headers',
              method: 'GET',
              search: `?query=${encode(query)}`,
              headers: { [name]: value },
            };
      },
    ],
    [
      6,
      (): FuzzRequest => {
        // MCP over HTTP: garbage outside a session, hostile calls inside one.
        const rpc = (method: unknown, params: unknown, id: unknown = 1 + int(1_000)) =>
          JSON.stringify({ jsonrpc: '2.0', id, method, params });
        if (random() < 0.35) {
          const body = pick<() => string>([
            () =>
              pick(['', '{', 'null', '[]', '1', '"x"', '{"jsonrpc":"2.0"}', '[{"jsonrpc":"2.0","id":1}]']),
            () => rpc('initialize', junkValue()),
            () => rpc(junkString(), junkValue(), junkValue()),
            () => `{"jsonrpc":"2.0","id":1,"method":"initialize","params":${'['.repeat(size(50_000))}`,
          ])();
          return {
            kind: 'mcp',
            method: pick(['POST', 'POST', 'GET', 'DELETE', 'PUT'] as const),
            path: '/mcp',
            body,
            accept: pick(['application/json, text/event-stream', 'application/json', '*/*']),
            headers: random() < 0.3 ? { 'mcp-session-id': headerJunk() } : {},
          };
        }
        const tool = pick([
          'asset_prices',
          'asset_candles',
          'asset_signals',
          'on_chain_metrics',
          'price_history',
          'search_assets',
          'describe_type',
          'run_graphql',
          'provider_status',
          junkString(),
          'x'.repeat(size(200_000)),
        ]);
        const args = pick<() => unknown>([
          () => ({
            ids: junkValue(),
            assetIds: junkValue(),
            id: junkValue(),
            chain: junkValue(),
            kinds: junkValue(),
          }),
          () => ({ query: mutate(pick(VALID)), variables: junkValue(), operationName: junkValue() }),
          () => ({
            name: junkString(),
            query: junkString(),
            filter: junkValue(),
            from: junkValue(),
            interval: junkValue(),
          }),
          () => junkValue(),
        ])();
        const body = pick<() => string>([
          () => rpc('tools/call', { name: tool, arguments: args }),
          () => rpc('tools/call', junkValue()),
          () =>
            rpc(pick(['resources/read', 'resources/subscribe', 'resources/unsubscribe']), {
              uri: pick([`price://${junkString()}/usd`, `price://bitcoin/${junkString()}`, junkString()]),
            }),
          () =>
            rpc(
              pick(['tools/list', 'resources/list', 'resources/templates/list', 'ping', junkString()]),
              junkValue(),
            ),
          () => {
            const depth = size(100_000);
            return `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"run_graphql","arguments":{"query":"{ __typename }","variables":{"v":${'['.repeat(depth)}"x"${']'.repeat(depth)}}}}}`;
          },
          () => pick(['', '{', '[]', 'null', '[1,2]']),
        ])();
        return {
          kind: 'mcp session',
          method: 'POST',
          path: '/mcp',
          mcpSession: true,
          body,
          accept: 'application/json, text/event-stream',
        };
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

/** What one run's requests share: its MCP session, opened by the first request that needs one. */
export interface FuzzState {
  mcpSession?: Promise<string>;
}

export function createFuzzState(): FuzzState {
  return {};
}

const MCP_ACCEPT = 'application/json, text/event-stream';
const STREAM_TOKEN = 'x-graphql-event-stream-token';

/**
 * Sends one request; a request still unanswered after `timeoutMs` is reported as a hang. `url` is the
 * GraphQL endpoint; /mcp is beside it.
 */
export async function sendFuzz(
  fetchFn: FetchLike,
  url: string,
  request: FuzzRequest,
  timeoutMs: number,
  state: FuzzState = createFuzzState(),
): Promise<FuzzAnswer> {
  const target = request.path === '/mcp' ? url.replace(/\/graphql$/, '/mcp') : url;
  const token = request.reserve ? await reserveStream(fetchFn, url) : undefined;
  const fill = (text: string) =>
    token === undefined
      ? text
      : text.replaceAll('{token}', token).replaceAll('%7Btoken%7D', encodeURIComponent(token));
  const headers: Record<string, string> = {
    accept: request.accept ?? 'application/graphql-response+json, application/json',
  };
  for (const [name, value] of Object.entries(request.headers ?? {})) headers[name] = fill(value);
  if (request.mcpSession) {
    state.mcpSession ??= openMcpSession(fetchFn, target);
    headers['mcp-session-id'] = await state.mcpSession;
    headers['mcp-protocol-version'] = MCP_VERSION;
  }
  const hasBody = request.method !== 'GET' && request.body !== undefined;
  if (hasBody || request.method === 'POST')
    headers['content-type'] = request.contentType ?? 'application/json';
  const signal = AbortSignal.timeout(timeoutMs);
  const response = await fetchFn(`${target}${fill(request.search ?? '')}`, {
    method: request.method,
    headers,
    signal,
    ...(hasBody || request.method === 'POST' ? { body: fill(request.body ?? '') } : {}),
  });
  const contentType = response.headers.get('content-type') ?? '';
  let text: string;
  if (request.kind === SSE_SINGLE && contentType.startsWith('text/event-stream')) {
    // A stream was opened (the reserved one, or one an earlier request reserved under a token it
    // chose): it stays open until its client leaves.
    await response.body?.cancel();
    text = '';
  } else text = await response.text();
  if (token !== undefined) await giveUpStream(fetchFn, url, token);
  // A reservation this request made (under a token of its own) is given up too, so that the run never
  // holds the most a client may.
  if (request.method === 'PUT' && response.status === 201 && contentType.startsWith('text/plain'))
    await giveUpStream(fetchFn, url, text);
  return { status: response.status, contentType, text };
}

async function reserveStream(fetchFn: FetchLike, url: string): Promise<string> {
  const response = await fetchFn(url, { method: 'PUT', headers: { accept: '*/*' } });
  const text = await response.text();
  if (response.status !== 201)
    throw new Error(`reserving a graphql-sse stream: HTTP ${response.status} ${text.slice(0, 80)}`);
  return text;
}

/** Opens the stream and leaves at once, which is how a reservation is given up before it expires. */
async function giveUpStream(fetchFn: FetchLike, url: string, token: string) {
  const leave = new AbortController();
  try {
    const response = await fetchFn(url, {
      headers: { accept: 'text/event-stream', [STREAM_TOKEN]: token },
      signal: leave.signal,
    });
    leave.abort();
    await response.body?.cancel().catch(() => undefined);
  } catch {
    // aborted: the stream is gone either way
  }
}

const MCP_VERSION = '2025-06-18';

async function openMcpSession(fetchFn: FetchLike, mcpUrl: string): Promise<string> {
  const headers = { 'content-type': 'application/json', accept: MCP_ACCEPT };
  const response = await fetchFn(mcpUrl, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: MCP_VERSION, capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } },
    }),
  });
  await response.text();
  const id = response.headers.get('mcp-session-id');
  if (!id) throw new Error(`initializing an MCP session: HTTP ${response.status}`);
  const initialized = await fetchFn(mcpUrl, {
    method: 'POST',
    headers: { ...headers, 'mcp-session-id': id, 'mcp-protocol-version': MCP_VERSION },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  await initialized.text();
  return id;
}
