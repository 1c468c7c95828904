import { createHash, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { SCOPES } from '../src/auth/client.js';

// npm run mint-key -- --id <id> [--scopes a,b] [--rpm N] [--cost N] [--subscriptions N]
// Prints a new random API key (once: only its SHA-256 is kept) and the entry to add to the keys file
// (MARKETGRAPH_API_KEYS_FILE). The gateway picks the edited file up by itself, or on SIGHUP.

const { values } = parseArgs({
  options: {
    id: { type: 'string' },
    scopes: { type: 'string', default: '' },
    rpm: { type: 'string', default: '600' },
    cost: { type: 'string', default: '100000' },
    subscriptions: { type: 'string', default: '20' },
  },
});

function fail(message: string): never {
  console.error(`mint-key: ${message}`);
  process.exit(2);
}

if (!values.id || !/^[A-Za-z0-9_.@-]{1,64}$/.test(values.id))
  fail('--id is required: 1 to 64 characters from A-Z a-z 0-9 _ . @ -');
const scopes = values.scopes.split(',').filter((s) => s !== '');
for (const scope of scopes) {
  if (!(SCOPES as readonly string[]).includes(scope))
    fail(`unknown scope ${JSON.stringify(scope)} (known: ${SCOPES.join(', ')})`);
}
const count = (name: string, text: string, min: number) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) fail(`--${name} must be a whole number of at least ${min}`);
  return n;
};
const key = `mg_${randomBytes(32).toString('base64url')}`;
const entry = {
  id: values.id,
  sha256: createHash('sha256').update(key).digest('hex'),
  scopes,
  requestsPerMinute: count('rpm', values.rpm, 1),
  costPerMinute: count('cost', values.cost, 1),
  maxSubscriptions: count('subscriptions', values.subscriptions, 0),
};
console.log(`key (shown once; send it as "Authorization: Bearer <key>" or "x-api-key: <key>"):\n${key}\n`);
console.log(`entry for "keys" in the keys file:\n${JSON.stringify(entry, null, 2)}`);
