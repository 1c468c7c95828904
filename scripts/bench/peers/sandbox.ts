import { startSandbox } from '../../../src/sandbox/server.js';

// The sandbox as a process of its own, for measuring it without the load generator in the same event
// loop (`npm run bench -- sandbox`). Quotas off; prints {"endpoints":{...},"adminUrl":"..."} once it
// listens and closes on SIGTERM/SIGINT.

const sandbox = await startSandbox({ quotas: false });
process.stdout.write(`${JSON.stringify({ endpoints: sandbox.endpoints, adminUrl: sandbox.adminUrl })}\n`);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void sandbox.close().then(() => process.exit(0));
  });
}
