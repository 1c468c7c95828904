import { Lexer, Source, TokenKind } from 'graphql';

// graphql-js parses, and most validation rules walk, recursively: ~3,000 nested brackets exhaust the
// stack and surface as an HTTP 500. One pass of the public Lexer finds the deepest nesting of
// { ( [ before the parser starts. It reads at most `maxTokens` tokens: the parser refuses longer
// documents itself, and a lexical error is left for the parser to report with its location.

/** Deeper than any document the depth limit (at most 50) admits, and far below the stack's reach. */
export const MAX_NESTING = 128;

const OPEN = new Set<TokenKind>([TokenKind.BRACE_L, TokenKind.PAREN_L, TokenKind.BRACKET_L]);
const CLOSE = new Set<TokenKind>([TokenKind.BRACE_R, TokenKind.PAREN_R, TokenKind.BRACKET_R]);

/** The deepest bracket nesting among the first `maxTokens` tokens, or MAX_NESTING + 1 once exceeded. */
export function nestingDepth(source: string, maxTokens: number): number {
  const lexer = new Lexer(new Source(source));
  let depth = 0;
  let deepest = 0;
  try {
    for (let n = 0; n < maxTokens; n++) {
      const kind = lexer.advance().kind;
      if (kind === TokenKind.EOF) break;
      if (OPEN.has(kind)) {
        depth += 1;
        if (depth > deepest) deepest = depth;
        if (deepest > MAX_NESTING) break;
      } else if (CLOSE.has(kind)) depth -= 1;
    }
  } catch {
    // A lexical error: the parser reports it.
  }
  return deepest;
}

/**
 * Whether a parsed JSON value (variables, tool arguments) nests arrays and objects more than `max`
 * deep. Iterative: the values it is for were parsed iteratively (JSON.parse) at any depth, while
 * JSON.stringify and recursive walkers overflow the stack on them.
 */
export function jsonNestsDeeper(value: unknown, max: number): boolean {
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(item) ? item : Object.values(item)) pending.push([child, depth + 1]);
  }
  return false;
}
