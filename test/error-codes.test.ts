import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/errors.js';
import { readmeErrorCodes, uncodedErrors } from './helpers/error-codes.js';

// The code list cannot drift: README's Errors table lists exactly src's ERROR_CODES; every code a
// source file of ours hands a client is in it; what no file of ours produces is one Yoga does. The
// suite-wide check that every answer's errors carry one of these is test/setup/coded-errors.ts.

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && ext.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}

const root = new URL('..', import.meta.url).pathname;

/** Codes our source gives clients: `code: 'X'` (and `'X' | 'Y'` unions), code constants, limit codes. */
function codesInSource(): Map<string, string> {
  const found = new Map<string, string>();
  const CODE_FIELD = /\bcode\??:\s*((?:'[A-Z][A-Z_]+'\s*\|?\s*)+)/g;
  const CONSTANT = /export const ([A-Z][A-Z_]+) = '\1'/g;
  // Codes passed as an argument to the functions that build coded errors.
  const ARGUMENT =
    /(?:armored|limitExceeded|requestError|UpstreamError|failure|fail)\([^;]*?'([A-Z]+(?:_[A-Z]+)+)'/gs;
  const LIMIT_CALL = /^\s*'([A-Z]+_(?:LIMIT_EXCEEDED|TOO_LARGE))',?$/gm;
  for (const file of files(join(root, 'src'), /\.ts$/)) {
    if (file.includes('/sandbox/')) continue; // the sandbox speaks the providers' dialects, not ours
    const text = readFileSync(file, 'utf8');
    const rel = file.slice(root.length);
    for (const m of text.matchAll(CODE_FIELD)) {
      for (const c of m[1]!.matchAll(/'([A-Z][A-Z_]+)'/g)) found.set(c[1]!, rel);
    }
    for (const re of [CONSTANT, ARGUMENT, LIMIT_CALL])
      for (const m of text.matchAll(re)) found.set(m[1]!, rel);
  }
  return found;
}

describe('error codes', () => {
  it("README's Errors table lists exactly src's ERROR_CODES", () => {
    const readme = [...readmeErrorCodes()].sort();
    expect(readme).toEqual([...ERROR_CODES].sort());
  });

  it('every code our source hands a client is in ERROR_CODES', () => {
    const declared = new Set<string>(ERROR_CODES);
    const unknown = [...codesInSource()].filter(([code]) => !declared.has(code));
    expect(unknown).toEqual([]);
  });

  it('every code in ERROR_CODES is produced: by our source, or by Yoga', () => {
    const ours = codesInSource();
    const yoga = files(join(root, 'node_modules/graphql-yoga/esm'), /\.js$/)
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    const unproduced = ERROR_CODES.filter((code) => !ours.has(code) && !yoga.includes(`'${code}'`));
    expect(unproduced).toEqual([]);
  });

  it('the suite check flags an error without a code, or with one README does not list', () => {
    expect(
      uncodedErrors({ data: null, errors: [{ message: 'x', extensions: { code: 'NOT_FOUND' } }] }),
    ).toEqual([]);
    expect(uncodedErrors({ errors: [{ message: 'no code' }] })).toHaveLength(1);
    expect(
      uncodedErrors([{ errors: [{ message: 'made up', extensions: { code: 'MADE_UP' } }] }]),
    ).toHaveLength(1);
    expect(
      uncodedErrors({ incremental: [{ errors: [{ message: 'deferred', path: ['a'] }], path: ['a'] }] }),
    ).toHaveLength(1);
  });
});
