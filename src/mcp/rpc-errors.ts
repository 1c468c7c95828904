import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { MAX_MESSAGE } from '../limits/short-error.js';

// The SDK checks each request's params against its schema before our handler runs and answers a
// mismatch (`tools/call` with `name: 1`) as an internal error (-32603) whose message is the schema
// library's issue list as pretty-printed JSON, ~300 characters per issue. A client's mistake is Invalid
// params (-32602): the issues are told in one line, and no error message the transport sends is longer
// than a GraphQL error's.

/** `transport` with its outgoing JSON-RPC errors put right (the same object, for server.connect). */
export function withClientErrors<T extends Transport>(transport: T): T {
  const send = transport.send.bind(transport);
  transport.send = (message, options) => send(tidied(message), options);
  return transport;
}

function tidied(message: JSONRPCMessage): JSONRPCMessage {
  if (!('error' in message) || typeof message.error?.message !== 'string') return message;
  const { error } = message;
  const issues = error.code === ErrorCode.InternalError ? schemaIssues(error.message) : undefined;
  if (issues)
    return {
      ...message,
      error: { ...error, code: ErrorCode.InvalidParams, message: cut(`Invalid params: ${issues}`) },
    };
  return error.message.length > MAX_MESSAGE
    ? { ...message, error: { ...error, message: cut(error.message) } }
    : message;
}

/** "params.name: expected string, received number; …" when `text` is a schema issue list, else undefined. */
function schemaIssues(text: string): string | undefined {
  if (!text.startsWith('[')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length === 0) return undefined;
  const lines: string[] = [];
  for (const issue of parsed as Array<{ path?: unknown; message?: unknown }>) {
    if (!Array.isArray(issue?.path) || typeof issue.message !== 'string') return undefined;
    lines.push(`${issue.path.join('.')}: ${issue.message.replace(/^Invalid input: /, '')}`);
  }
  return lines.join('; ');
}

function cut(text: string): string {
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text;
}
