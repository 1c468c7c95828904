import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type GraphQLSchema, Kind, type OperationDefinitionNode, parse, validate } from 'graphql';

// The trusted-documents manifest format (graphql-codegen's client preset emits it): a JSON object
// mapping `sha256:<hex of the document text>` to the document. The MCP tools come from it, so a tool
// is exactly an operation the gateway trusts; the same file can be the gateway's own manifest.

export type Manifest = Record<string, string>;

/** Marks an operation for agents: `# @mcp <what the tool does>` (continued on the comment lines below). */
const MARKER = /^#\s*@mcp\b\s?(.*)$/;

export function documentId(text: string): string {
  return `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`;
}

/** Builds the manifest from a folder of `.graphql` files, one operation each, refusing any that do not validate. */
export function buildManifest(folder: string, schema: GraphQLSchema): Manifest {
  const manifest: Manifest = {};
  for (const file of readdirSync(folder)
    .filter((f) => f.endsWith('.graphql'))
    .sort()) {
    const text = readFileSync(join(folder, file), 'utf8');
    const errors = validate(schema, parse(text));
    if (errors.length) throw new Error(`${file}: ${errors.map((e) => e.message).join('; ')}`);
    manifest[documentId(text)] = text;
  }
  return manifest;
}

export function readManifest(path: string): Manifest {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new Error(`${path}: a trusted-documents manifest is a JSON object of "sha256:<hash>": document`);
  for (const [id, text] of Object.entries(parsed)) {
    if (typeof text !== 'string') throw new Error(`${path}: ${id} is not a document string`);
  }
  return parsed as Manifest;
}

export interface AgentOperation {
  /** The manifest key, sent as `documentId` or the persisted-query hash. */
  id: string;
  text: string;
  operation: OperationDefinitionNode;
  /** The marker comment, lines joined. */
  description: string;
}

/** The manifest's named operations marked for agents. */
export function agentOperations(manifest: Manifest): AgentOperation[] {
  const found: AgentOperation[] = [];
  for (const [id, text] of Object.entries(manifest)) {
    const description = markerComment(text);
    if (description === undefined) continue;
    const operations = parse(text).definitions.filter(
      (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
    );
    const operation = operations[0];
    if (operations.length !== 1 || !operation?.name)
      throw new Error(`${id}: an @mcp document holds exactly one named operation`);
    if (operation.operation !== 'query')
      throw new Error(`${operation.name.value}: @mcp tools are queries (live data is a resource)`);
    found.push({ id, text, operation, description });
  }
  return found;
}

/** The text after `# @mcp` and the comment lines that follow it, or undefined when unmarked. */
function markerComment(text: string): string | undefined {
  const lines = text.split('\n').map((l) => l.trim());
  const start = lines.findIndex((l) => MARKER.test(l));
  if (start < 0) return undefined;
  const parts = [MARKER.exec(lines[start]!)![1]!];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith('#')) break;
    parts.push(line.replace(/^#\s?/, ''));
  }
  return parts.join(' ').replace(/\s+/g, ' ').trim();
}
