import { GraphQLError } from 'graphql';

// The last guard against echoing a client's input back at length: graphql-js and Yoga quote values in
// their messages ("Unknown field ...", V8's "Unexpected token ... in JSON"), so any error leaving the
// gateway is cut to a bounded message. Our own messages stay far below the bound.

export const MAX_MESSAGE = 300;

export function shortenError(error: GraphQLError): GraphQLError {
  const original = error.extensions?.originalError as { message?: unknown } | undefined;
  const longOriginal = typeof original?.message === 'string' && original.message.length > MAX_MESSAGE;
  if (error.message.length <= MAX_MESSAGE && !longOriginal) return error;
  const extensions = longOriginal
    ? { ...error.extensions, originalError: { ...original, message: cut(original.message as string) } }
    : error.extensions;
  return new GraphQLError(cut(error.message), {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions,
  });
}

function cut(message: string): string {
  return message.length <= MAX_MESSAGE ? message : `${message.slice(0, MAX_MESSAGE - 1)}…`;
}
