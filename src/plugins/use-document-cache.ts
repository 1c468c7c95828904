import type { DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';

// Replaces Yoga's parser and validation cache, which keeps every parsed document (failures included)
// by entry count: distinct large invalid documents filled the heap. This one keeps only documents that
// parsed and validated, bounded by an estimate of the heap they hold, so repeating a good query skips
// parse and validation while a stream of distinct bad ones leaves nothing behind.

export interface DocumentCacheOptions {
  /** Estimated heap the cache may hold, bytes; 0 turns it off. */
  maxBytes: number;
}

/**
 * Heap a parsed document holds per character of its text: the AST keeps every token for locations
 * (measured in docs/architecture.md, "The parse/validation cache").
 */
export const BYTES_PER_CHARACTER = 100;

export function useDocumentCache({ maxBytes }: DocumentCacheOptions): Plugin {
  if (maxBytes <= 0) return {};
  const cache = new LRUCache<string, DocumentNode>({
    maxSize: maxBytes,
    maxEntrySize: Math.max(1, Math.floor(maxBytes / 4)),
    sizeCalculation: (_document, text) => Math.max(1, text.length * BYTES_PER_CHARACTER),
  });
  /** Documents parsed here that may be cached once they validate. */
  const texts = new WeakMap<DocumentNode, string>();
  const validated = new WeakSet<DocumentNode>();

  return {
    onParse({ params, setParsedDocument }) {
      const text = params.source.toString();
      const cached = cache.get(text);
      if (cached) {
        setParsedDocument(cached);
        return;
      }
      return ({ result }) => {
        if (result && !(result instanceof Error)) texts.set(result, text);
      };
    },
    onValidate({ params, setResult }) {
      const document = params.documentAST;
      if (validated.has(document)) {
        setResult([]);
        return;
      }
      return ({ valid }) => {
        const text = texts.get(document);
        if (!valid || text === undefined) return;
        validated.add(document);
        cache.set(text, document);
      };
    },
  };
}
