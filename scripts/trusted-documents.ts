import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type DefinitionNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  Kind,
  type OperationDefinitionNode,
  parse,
  print,
  type SelectionSetNode,
  validate,
} from 'graphql';
import { buildSchema } from '../src/schema/index.js';
import { documentKey } from '../src/trust/manifest.js';

// `npm run trusted-documents -- <folder> [--out manifest.json]`
//
// The trusted-documents manifest (MARKETGRAPH_TRUSTED_DOCUMENTS) from every .graphql file under
// <folder>: one entry per operation, its document being the operation and the fragments it uses,
// printed (graphql-js `print`), keyed `sha256:<hex of that text>` — the persisted-documents format of
// graphql-codegen's client preset. Every document is validated against the gateway's schema first;
// an invalid one stops the script. Prints the manifest, or writes it to --out.

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { out: { type: 'string' } },
});
const folder = positionals[0];
if (!folder) {
  console.error('usage: npm run trusted-documents -- <folder of .graphql operations> [--out manifest.json]');
  process.exit(2);
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return files(path);
    return entry.name.endsWith('.graphql') || entry.name.endsWith('.gql') ? [path] : [];
  });
}

const definitions: DefinitionNode[] = [];
for (const file of files(folder).sort()) {
  try {
    definitions.push(...parse(readFileSync(file, 'utf8')).definitions);
  } catch (error) {
    console.error(`${relative(process.cwd(), file)}: ${(error as Error).message}`);
    process.exit(1);
  }
}
const fragments = new Map<string, FragmentDefinitionNode>();
for (const d of definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);

function usedFragments(set: SelectionSetNode, into: Set<string>): Set<string> {
  for (const selection of set.selections) {
    if (selection.kind === Kind.FRAGMENT_SPREAD) {
      const name = selection.name.value;
      if (into.has(name)) continue;
      into.add(name);
      const fragment = fragments.get(name);
      if (fragment) usedFragments(fragment.selectionSet, into);
    } else if (selection.selectionSet) usedFragments(selection.selectionSet, into);
  }
  return into;
}

const schema = buildSchema();
const manifest: Record<string, string> = {};
const operations = definitions.filter(
  (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
);
for (const operation of operations) {
  const name = operation.name?.value ?? '(anonymous)';
  const uses = [...usedFragments(operation.selectionSet, new Set())].sort();
  const document: DocumentNode = {
    kind: Kind.DOCUMENT,
    definitions: [operation, ...uses.flatMap((n) => (fragments.has(n) ? [fragments.get(n)!] : []))],
  };
  const errors = validate(schema, document);
  if (errors.length > 0) {
    console.error(`${name}: ${errors.map((e) => e.message).join('; ')}`);
    process.exit(1);
  }
  const text = print(document);
  manifest[documentKey(text)] = text;
}
const json = `${JSON.stringify(manifest, null, 2)}\n`;
if (values.out) {
  writeFileSync(values.out, json);
  console.error(`${Object.keys(manifest).length} trusted documents written to ${values.out}`);
} else process.stdout.write(json);
