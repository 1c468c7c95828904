import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

// Yoga's GET (and form-encoded POST) parser JSON.parses `variables` and `extensions` unguarded, so a
// malformed one escapes as a bare SyntaxError and is answered 500. Its parsers report everything else
// as coded GraphQLErrors; a SyntaxError can only be that JSON, and becomes the 400 it should be.

export function useRequestParams(): Plugin {
  return {
    onRequestParse({ requestParser, setRequestParser }) {
      if (!requestParser) return;
      const parse = requestParser;
      setRequestParser(async (request) => {
        try {
          return await parse(request);
        } catch (error) {
          if (error instanceof SyntaxError) {
            throw new GraphQLError('the variables or extensions parameter is not valid JSON', {
              extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
            });
          }
          throw error;
        }
      });
    },
  };
}
