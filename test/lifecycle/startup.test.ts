import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { checkRedisHost, describeStartupError } from '../../src/lifecycle/startup.js';

// Startup failures as the one line main prints: from real listen errors, and Redis host names.

function listenError(port: number, host: string): Promise<Error> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', resolve);
    server.listen(port, host, () => server.close(() => resolve(new Error('listened'))));
  });
}

describe('describeStartupError', () => {
  it('names the address and the reason of a failed listen, on one line', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as { port: number };
    try {
      expect(describeStartupError(await listenError(port, '127.0.0.1'))).toBe(
        `cannot listen on 127.0.0.1:${port}: the port is in use (another process listens on it) (EADDRINUSE)`,
      );
    } finally {
      holder.close();
    }
    // TEST-NET-3: never an address of this machine.
    expect(describeStartupError(await listenError(0, '203.0.113.7'))).toBe(
      'cannot listen on 203.0.113.7: this machine has no interface with that address (EADDRNOTAVAIL)',
    );
  });

  it('keeps the first line of anything else, without a stack', () => {
    const error = new Error('sandbox: no free port\n    at somewhere (file.ts:1:1)');
    expect(describeStartupError(error)).toBe('sandbox: no free port');
    expect(describeStartupError('plain')).toBe('plain');
  });
});

describe('checkRedisHost', () => {
  const failing = (code: string) => () => Promise.reject(Object.assign(new Error(code), { code }));

  it('fails on a host name that does not exist', async () => {
    await expect(checkRedisHost('redis://cache.invalid:6379/0', failing('ENOTFOUND'))).rejects.toThrow(
      /^REDIS_URL: the host "cache.invalid" does not resolve \(ENOTFOUND\)$/,
    );
  });

  it('lets a DNS that did not answer, addresses and localhost through', async () => {
    await expect(checkRedisHost('redis://cache.example:6379', failing('EAI_AGAIN'))).resolves.toBeUndefined();
    const never = () => Promise.reject(new Error('not looked up'));
    for (const url of ['redis://127.0.0.1:6379', 'redis://[::1]:6379', 'redis://localhost:6379']) {
      await expect(checkRedisHost(url, never)).resolves.toBeUndefined();
    }
  });
});
