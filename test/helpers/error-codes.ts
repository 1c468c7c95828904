import { readFileSync } from 'node:fs';

// Every GraphQL error a client can get carries one of the codes README's Errors table lists. The test
// helpers that read gateway answers (helpers/gateway.ts, clients.ts, yoga-stream.ts) hand every payload
// to checkCodes; an error without a listed code is recorded, and test/setup/coded-errors.ts fails the
// test it happened in. test/error-codes.test.ts keeps the table and src's ERROR_CODES equal.

interface Violation {
  where: string;
  message: string;
  code: unknown;
  path: unknown;
}

const KEY = Symbol.for('marketgraph.test.uncodedErrors');
const store = globalThis as unknown as { [KEY]?: Violation[] };

let readmeCodes: Set<string> | undefined;

/** The codes in README.md's "## Errors" table (first column; a cell may list several). */
export function readmeErrorCodes(): Set<string> {
  if (readmeCodes) return readmeCodes;
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('\n## Errors\n');
  if (start < 0) throw new Error('README.md has no "## Errors" section');
  const section = readme.slice(start + 1, readme.indexOf('\n## ', start + 1));
  const codes = new Set<string>();
  for (const line of section.split('\n')) {
    const first = /^\|([^|]*)\|/.exec(line)?.[1];
    if (!first) continue;
    for (const match of first.matchAll(/`([A-Z][A-Z_]*)`/g)) codes.add(match[1]!);
  }
  if (codes.size === 0) throw new Error('README.md\'s "## Errors" table lists no codes');
  readmeCodes = codes;
  return codes;
}

/** The errors of a GraphQL payload (a single result, a batch, or an incremental part) without a listed code. */
export function uncodedErrors(payload: unknown): Array<Omit<Violation, 'where'>> {
  const codes = readmeErrorCodes();
  const out: Array<Omit<Violation, 'where'>> = [];
  const visit = (value: unknown) => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (typeof value !== 'object' || value === null) return;
    const { errors, incremental } = value as { errors?: unknown; incremental?: unknown };
    if (Array.isArray(errors)) {
      for (const error of errors) {
        const e = error as { message?: unknown; path?: unknown; extensions?: { code?: unknown } };
        const code = e?.extensions?.code;
        if (typeof code !== 'string' || !codes.has(code)) {
          out.push({ message: String(e?.message), code, path: e?.path });
        }
      }
    }
    if (Array.isArray(incremental)) incremental.forEach(visit);
  };
  visit(payload);
  return out;
}

/** Records every error of `payload` that lacks a README code; the running test fails at its end. */
export function checkCodes(payload: unknown, where: string): void {
  const found = uncodedErrors(payload);
  if (found.length === 0) return;
  store[KEY] ??= [];
  store[KEY].push(...found.map((v) => ({ where, ...v })));
}

/** The violations recorded since the last call, cleared. */
export function takeUncodedErrors(): Violation[] {
  const found = store[KEY] ?? [];
  store[KEY] = [];
  return found;
}

/** A JSON GraphQL answer's body, read from a clone, checked; streamed answers are checked by their readers. */
export async function checkResponseCodes(response: Response, where: string): Promise<void> {
  const type = response.headers.get('content-type') ?? '';
  if (!/application\/(graphql-response\+)?json/.test(type)) return;
  let body: unknown;
  try {
    body = JSON.parse(await response.clone().text());
  } catch {
    return;
  }
  checkCodes(body, where);
}
