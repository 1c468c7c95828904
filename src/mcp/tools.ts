import type { CallToolResult, IsomorphicHeaders, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { GraphQLSchema } from 'graphql';
import { quote } from '../errors.js';
import { jsonNestsDeeper, MAX_NESTING } from '../limits/nesting.js';
import { type AgentError, agentError, describeAgentError } from './errors.js';
import type { GraphqlAnswer, GraphqlExecutor } from './execute.js';
import { inputSchema, type JsonSchema } from './input-schema.js';
import { type AgentOperation, agentOperations, type Manifest } from './manifest.js';

// The tools an agent sees: one per operation of the manifest marked `# @mcp`, named after the
// operation (AssetPrices → asset_prices), plus optionally the schema tools. Every call is a GraphQL
// request through the executor; its result is the operation's data with the gateway's
// `extensions.cost` and `extensions.freshness` when it reports them, and coded errors with a hint.

export interface ToolSet {
  list(): Tool[];
  call(
    name: string,
    args: Record<string, unknown> | undefined,
    headers: IsomorphicHeaders | undefined,
  ): Promise<CallToolResult>;
}

const DESCRIBE_TYPE = `query DescribeType($name: String!) {
  __type(name: $name) {
    name kind description
    fields { name description args { name description defaultValue type { ...T } } type { ...T } }
    inputFields { name description defaultValue type { ...T } }
    enumValues { name description }
  }
}
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }`;

export function toolName(operationName: string): string {
  return operationName.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

export function createToolSet(deps: {
  schema: GraphQLSchema;
  manifest: Manifest;
  execute: GraphqlExecutor;
  /** describe_type and run_graphql: arbitrary documents, which the gateway's trusted-document rules still govern. */
  schemaTools: boolean;
}): ToolSet {
  const operations = new Map<string, AgentOperation>();
  const tools: Tool[] = [];
  for (const op of agentOperations(deps.manifest)) {
    const name = toolName(op.operation.name!.value);
    if (operations.has(name)) throw new Error(`two @mcp operations make the tool ${name}`);
    operations.set(name, op);
    tools.push({
      name,
      title: op.operation.name!.value,
      description: op.description,
      inputSchema: inputSchema(deps.schema, op.operation) as Tool['inputSchema'],
      annotations: { readOnlyHint: true, openWorldHint: true },
    });
  }
  if (deps.schemaTools) {
    tools.push(
      {
        name: 'describe_type',
        description:
          'The schema of one GraphQL type of this API (fields, their arguments and descriptions, enum values), e.g. "Asset", "Price", "Query". For writing run_graphql documents.',
        inputSchema: {
          type: 'object',
          properties: { name: { type: 'string', description: 'Type name, e.g. "Query" or "Asset".' } },
          required: ['name'],
          additionalProperties: false,
        },
        annotations: { readOnlyHint: true },
      },
      {
        name: 'run_graphql',
        description:
          'Runs any GraphQL query document against this API. Keys without the query:any scope may be limited to the trusted operations (the other tools) by the gateway.',
        inputSchema: {
          type: 'object',
          properties: {
            query: { type: 'string', description: 'The GraphQL document.' },
            variables: { type: 'object', description: 'Its variables.' },
            operationName: {
              type: 'string',
              description: 'Which operation to run, when the document holds several.',
            },
          } satisfies Record<string, JsonSchema>,
          required: ['query'],
          additionalProperties: false,
        },
        annotations: { readOnlyHint: true, openWorldHint: true },
      },
    );
  }

  return {
    list: () => tools,
    async call(name, args, headers) {
      // Sent on as JSON to /graphql: JSON.stringify would overflow the stack on a deeper value.
      if (jsonNestsDeeper(args, MAX_NESTING))
        return refusal({
          code: 'BAD_USER_INPUT',
          message: `the arguments nest more than ${MAX_NESTING} levels deep`,
          hint: 'fix the argument the message names and call again',
        });
      const op = operations.get(name);
      if (op) {
        return toolResult(
          await deps.execute({
            documentId: op.id,
            text: op.text,
            operationName: op.operation.name!.value,
            variables: args ?? {},
            headers,
          }),
        );
      }
      if (deps.schemaTools && name === 'describe_type') {
        return toolResult(
          await deps.execute({ text: DESCRIBE_TYPE, variables: { name: args?.name }, headers }),
        );
      }
      if (deps.schemaTools && name === 'run_graphql') {
        if (typeof args?.query !== 'string')
          return refusal({
            code: 'BAD_USER_INPUT',
            message: 'query must be a string',
            hint: 'pass the GraphQL document as query',
          });
        return toolResult(
          await deps.execute({
            text: args.query,
            variables: (args.variables as Record<string, unknown> | undefined) ?? {},
            operationName: typeof args.operationName === 'string' ? args.operationName : undefined,
            headers,
          }),
        );
      }
      return refusal({
        code: 'NOT_FOUND',
        message: `no tool named ${quote(name)}`,
        hint: 'call tools/list for the tools there are',
      });
    },
  };
}

/**
 * Data with partial errors is a result (the agent gets what there is, each error with its path and
 * hint); no data at all is a tool error.
 */
function toolResult(answer: GraphqlAnswer): CallToolResult {
  const errors = (answer.errors ?? []).map((e) => agentError(e, answer));
  const content: Record<string, unknown> = {};
  if (answer.data) content.data = answer.data;
  if (errors.length) content.errors = errors;
  if (answer.extensions?.cost !== undefined) content.cost = answer.extensions.cost;
  if (answer.extensions?.freshness !== undefined) content.freshness = answer.extensions.freshness;
  if (!answer.data) {
    if (!errors.length)
      errors.push(agentError({ message: `the gateway answered ${answer.status} with no data` }, answer));
    return {
      isError: true,
      structuredContent: { ...content, errors },
      content: [{ type: 'text', text: errors.map(describeAgentError).join('\n') }],
    };
  }
  return { structuredContent: content, content: [{ type: 'text', text: JSON.stringify(content) }] };
}

function refusal(error: AgentError): CallToolResult {
  return {
    isError: true,
    structuredContent: { errors: [error] },
    content: [{ type: 'text', text: describeAgentError(error) }],
  };
}
