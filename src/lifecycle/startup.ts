import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

// Startup failures an operator can fix, said in one line: the listen address (busy port, an address
// this machine does not have, a privileged port, a host name that does not resolve) and a Redis host
// that does not resolve. A Redis that resolves but does not answer yet is not one: the gateway starts
// and reports it (its cache and quotas work without it until it is back).

const LISTEN_REASONS: Record<string, string> = {
  EADDRINUSE: 'the port is in use (another process listens on it)',
  EADDRNOTAVAIL: 'this machine has no interface with that address',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved (DNS did not answer)',
};

interface SystemError extends Error {
  code?: string;
  syscall?: string;
  address?: string;
  hostname?: string;
  port?: number;
}

/** One line for a startup failure, without a stack trace. */
export function describeStartupError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const e = error as SystemError;
  const reason = e.code ? LISTEN_REASONS[e.code] : undefined;
  if (reason && (e.syscall === 'listen' || e.syscall === 'bind' || e.syscall === 'getaddrinfo')) {
    const host = e.address ?? e.hostname;
    const known = host !== undefined && host !== 'null';
    const where = known ? (e.port !== undefined ? `${host}:${e.port}` : host) : 'the configured address';
    return `cannot listen on ${where}: ${reason} (${e.code})`;
  }
  return (e.message.split('\n')[0] ?? '').trim() || e.name;
}

/** Throws a one-line error when REDIS_URL's host name does not resolve at all. */
export async function checkRedisHost(
  redisUrl: string,
  resolve: (host: string) => Promise<unknown> = lookup,
): Promise<void> {
  const host = new URL(redisUrl).hostname.replace(/^\[|\]$/g, '');
  if (host === '' || host === 'localhost' || isIP(host) !== 0) return;
  try {
    await resolve(host);
  } catch (error) {
    const code = (error as SystemError).code;
    // A DNS server that did not answer may answer later; a name that does not exist will not.
    if (code === 'ENOTFOUND') throw new Error(`REDIS_URL: the host "${host}" does not resolve (ENOTFOUND)`);
  }
}
