import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { type AgentError, agentError, describeAgentError } from './errors.js';
import type { GraphqlError } from './execute.js';

/** An agent error as a JSON-RPC error whose message is the code, message and hint, and data the rest. */
export function mcpErrorOf<T extends AgentError>(agent: T): McpError {
  const code =
    agent.code === 'NOT_FOUND' || agent.code === 'BAD_USER_INPUT'
      ? ErrorCode.InvalidParams
      : ErrorCode.InternalError;
  return new McpError(code, describeAgentError(agent), agent);
}

/** A gateway error as an MCP error (mcpErrorOf), with the Retry-After the answer carried. */
export function asMcpError(error: GraphqlError, retryAfter?: number): McpError {
  return mcpErrorOf(agentError(error, { retryAfter, status: 200 }));
}
