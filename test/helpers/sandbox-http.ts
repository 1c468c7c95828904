import type { UpstreamName } from '../../src/config.js';
import { type Sandbox, type SandboxOptions, startSandbox } from '../../src/sandbox/server.js';

// Shared plumbing for tests that talk to the embedded sandbox over loopback HTTP: start it for one
// provider, and GET a path with the answer read whole (status, headers, raw text and parsed JSON).

export interface ProviderSandbox {
  sandbox: Sandbox;
  /** The provider's REST base URL, in the provider's own form (e.g. …/api/v3 for CoinGecko). */
  base: string;
}

/** A response read whole. `body` is the parsed JSON, or undefined when the text is not JSON. */
export interface Reply {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: vendor JSON is probed field by field in the assertions
  body: any;
  text: string;
}

/** startSandbox with only `provider`; the other options pass through unchanged (quotas default on). */
export async function startProviderSandbox(
  provider: UpstreamName,
  options: Omit<SandboxOptions, 'providers'> = {},
): Promise<ProviderSandbox> {
  const sandbox = await startSandbox({ ...options, providers: [provider] });
  const endpoint = sandbox.endpoints[provider];
  if (!endpoint) {
    await sandbox.close();
    throw new Error(`the sandbox started no endpoint for ${provider}`);
  }
  return { sandbox, base: endpoint.url };
}

/** Runs `use` against a throwaway one-provider sandbox and closes it however `use` ends. */
export async function withProviderSandbox<T>(
  provider: UpstreamName,
  options: Omit<SandboxOptions, 'providers'>,
  use: (started: ProviderSandbox) => Promise<T>,
): Promise<T> {
  const started = await startProviderSandbox(provider, options);
  try {
    return await use(started);
  } finally {
    await started.sandbox.close();
  }
}

/** GET `url` and read the whole answer; a body that is not JSON leaves `body` undefined. */
export async function fetchReply(url: string, headers: Record<string, string> = {}): Promise<Reply> {
  const response = await fetch(url, { headers });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, body, text };
}

/** fetchReply for dialects that answer JSON on every path: a body that is not JSON fails the test. */
export async function fetchJson(url: string, headers: Record<string, string> = {}): Promise<Reply> {
  const reply = await fetchReply(url, headers);
  if (reply.body === undefined) {
    throw new Error(
      `GET ${url} answered ${reply.status} with a body that is not JSON: ${reply.text.slice(0, 200)}`,
    );
  }
  return reply;
}

/** GET `url` `times` times in sequence (each answer read whole before the next request). */
export async function fetchReplies(
  url: string,
  times: number,
  headers: Record<string, string> = {},
): Promise<Reply[]> {
  const replies: Reply[] = [];
  for (let n = 0; n < times; n++) replies.push(await fetchReply(url, headers));
  return replies;
}
