import { afterEach } from 'vitest';
import { takeUncodedErrors } from '../helpers/error-codes.js';

// Fails a test whose gateway answers (read through the test helpers) held a GraphQL error without one
// of README's codes (test/helpers/error-codes.ts).

afterEach(() => {
  const found = takeUncodedErrors();
  if (found.length === 0) return;
  const lines = found
    .slice(0, 5)
    .map(
      (v) =>
        `${v.where}: code ${JSON.stringify(v.code)} at ${JSON.stringify(v.path)}: ${v.message.slice(0, 160)}`,
    );
  throw new Error(
    `${found.length} GraphQL error(s) without a code from README's Errors table:\n${lines.join('\n')}`,
  );
});
