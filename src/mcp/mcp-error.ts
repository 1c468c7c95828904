import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { type AgentError, agentError, describeAgentError } from './errors.js';
import type { GraphqlError } from './execute.js';

/**
 * An McpError whose message is ours alone. McpError's constructor prefixes `MCP error <code>: `, the
 * SDK's server sends that message as is, and its client prefixes it again, so agents read the prefix
 * twice. The SDK server sends `message`, `code` and `data` of whatever a handler throws
 * (test/mcp/mcp-http.test.ts pins the message an agent reads).
 */
export class GatewayMcpError extends McpError {
  constructor(code: number, message: string, data?: unknown) {
    super(code, message, data);
    this.message = message;
  }
}

/** An agent error as a JSON-RPC error whose message is the code, message and hint, and data the rest. */
export function mcpErrorOf<T extends AgentError>(agent: T): McpError {
  const code =
    agent.code === 'NOT_FOUND' || agent.code === 'BAD_USER_INPUT'
      ? ErrorCode.InvalidParams
      : ErrorCode.InternalError;
  return new GatewayMcpError(code, describeAgentError(agent), agent);
}

/** A gateway error as an MCP error (mcpErrorOf), with the Retry-After the answer carried. */
export function asMcpError(error: GraphqlError, retryAfter?: number): McpError {
  return mcpErrorOf(agentError(error, { retryAfter, status: 200 }));
}
