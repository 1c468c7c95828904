import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildManifest } from '../src/mcp/manifest.js';
import { buildSchema } from '../src/schema/index.js';

// npm run mcp:manifest: mcp/operations/*.graphql → mcp/operations.json, a trusted-documents manifest
// ("sha256:<hash>": document). Each document is validated against the schema first.

const folder = fileURLToPath(new URL('../mcp/operations/', import.meta.url));
const out = fileURLToPath(new URL('../mcp/operations.json', import.meta.url));
const manifest = buildManifest(folder, buildSchema());
writeFileSync(out, `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`${Object.keys(manifest).length} operations → ${out}`);
