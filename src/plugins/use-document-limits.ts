import { MaxTokensParserWLexer } from '@escape.tech/graphql-armor-max-tokens';
import { GraphQLError, type ParseOptions, type Source } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { limitExceeded } from '../errors.js';
import { MAX_NESTING, nestingDepth } from '../limits/nesting.js';

// What a document may cost to parse, checked before and while parsing: its size in bytes, its bracket
// nesting (before the recursive parser runs) and its token count (GraphQL Armor's parser stops at the
// limit). A parsed document's memory is bounded by its tokens, so nothing above these limits is ever
// built. Syntax errors get GRAPHQL_PARSE_FAILED on every transport (Yoga adds it over HTTP only).

export interface DocumentLimitOptions {
  maxDocumentBytes: number;
  maxTokens: number;
}

export function useDocumentLimits({ maxDocumentBytes, maxTokens }: DocumentLimitOptions): Plugin {
  const refuseTokens = () => {
    throw limitExceeded(
      'TOKEN_LIMIT_EXCEEDED',
      `the document has more than ${maxTokens} tokens, the limit`,
      maxTokens,
    );
  };

  const parse = (source: string | Source, options?: ParseOptions) => {
    const text = typeof source === 'string' ? source : source.body;
    // Characters never outnumber UTF-8 bytes, so only a text that might be over is measured.
    const bytes = text.length * 3 > maxDocumentBytes ? Buffer.byteLength(text) : text.length;
    if (bytes > maxDocumentBytes) {
      throw limitExceeded(
        'DOCUMENT_TOO_LARGE',
        `the document is ${bytes} bytes, more than the limit of ${maxDocumentBytes}`,
        maxDocumentBytes,
      );
    }
    if (nestingDepth(text, maxTokens) > MAX_NESTING) {
      throw limitExceeded(
        'DEPTH_LIMIT_EXCEEDED',
        `the document nests brackets more than ${MAX_NESTING} deep`,
        MAX_NESTING,
      );
    }
    try {
      return new MaxTokensParserWLexer(source, {
        ...options,
        n: maxTokens,
        onReject: [refuseTokens],
      }).parseDocument();
    } catch (error) {
      throw withParseCode(error);
    }
  };

  return {
    onParse({ setParseFn }) {
      setParseFn(parse);
    },
  };
}

function withParseCode(error: unknown): unknown {
  if (!(error instanceof GraphQLError) || error.extensions.code) return error;
  return new GraphQLError(error.message, {
    source: error.source,
    positions: error.positions,
    extensions: { ...error.extensions, code: 'GRAPHQL_PARSE_FAILED', http: { status: 400 } },
  });
}
