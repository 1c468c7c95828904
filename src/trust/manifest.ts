import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config.js';

// The trusted-documents manifest: a JSON object mapping `sha256:<hex>` to a document, the format
// graphql-codegen's client preset writes as persisted-documents.json (and `npm run trusted-documents`
// builds). Read once at start; a key whose hash is not its document's is refused, so an edited
// document cannot keep an old id.

export type TrustedDocuments = ReadonlyMap<string, string>;

const KEY = /^sha256:[0-9a-f]{64}$/;

export function documentKey(document: string): string {
  return `sha256:${createHash('sha256').update(document).digest('hex')}`;
}

export function parseManifest(text: string, source: string): TrustedDocuments {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError(`MARKETGRAPH_TRUSTED_DOCUMENTS: ${source} is not JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(
      `MARKETGRAPH_TRUSTED_DOCUMENTS: ${source} must be an object of "sha256:<hex>": document`,
    );
  }
  const documents = new Map<string, string>();
  for (const [key, document] of Object.entries(parsed)) {
    if (!KEY.test(key) || typeof document !== 'string') {
      throw new ConfigError(
        `MARKETGRAPH_TRUSTED_DOCUMENTS: ${source}: ${JSON.stringify(key.slice(0, 80))} is not "sha256:<64 hex digits>" with a document`,
      );
    }
    if (documentKey(document) !== key) {
      throw new ConfigError(
        `MARKETGRAPH_TRUSTED_DOCUMENTS: ${source}: ${key} is not the SHA-256 of its document`,
      );
    }
    documents.set(key, document);
  }
  return documents;
}

export function loadManifest(file: string): TrustedDocuments {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `MARKETGRAPH_TRUSTED_DOCUMENTS: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return parseManifest(text, file);
}
