import { describe, expect, it } from 'vitest';
import { CALLER_ADDRESS_HEADER, clientAddress, compileProxyTrust } from '../../src/auth/client-address.js';

// The one function every path reads the caller's address with: X-Forwarded-For is read only through
// trusted proxies, and the caller is the first untrusted hop from the right.

const over = (socketAddress: string | undefined, forwardedFor?: string, trust?: string[]) =>
  clientAddress(
    { socketAddress, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } },
    compileProxyTrust(trust ?? []),
  );

describe('clientAddress', () => {
  it('trusting nothing, is the socket peer whatever X-Forwarded-For says', () => {
    expect(compileProxyTrust([])).toBeUndefined();
    expect(over('127.0.0.1', '203.0.113.7')).toBe('127.0.0.1');
    expect(over('198.51.100.2', '203.0.113.7, 10.0.0.1')).toBe('198.51.100.2');
  });

  it('behind a trusted proxy, is the address it forwarded; an untrusted peer is never looked past', () => {
    expect(over('127.0.0.1', '203.0.113.7', ['loopback'])).toBe('203.0.113.7');
    expect(over('::1', '2001:db8::5', ['loopback'])).toBe('2001:db8::5');
    expect(over('::ffff:127.0.0.1', '203.0.113.7', ['loopback'])).toBe('203.0.113.7');
    // The peer is not a trusted proxy: its header is its own claim.
    expect(over('198.51.100.2', '203.0.113.7', ['loopback'])).toBe('198.51.100.2');
    // A trusted proxy that sent no header is the caller itself.
    expect(over('127.0.0.1', undefined, ['loopback'])).toBe('127.0.0.1');
  });

  it('in a chain, takes the first untrusted hop from the right, so entries a client wrote are ignored', () => {
    // client 203.0.113.7 → 10.0.0.2 (an inner proxy) → 127.0.0.1 (the edge, our peer)
    const chain = '203.0.113.7, 10.0.0.2';
    expect(over('127.0.0.1', chain, ['loopback'])).toBe('10.0.0.2');
    expect(over('127.0.0.1', chain, ['loopback', '10.0.0.0/8'])).toBe('203.0.113.7');
    expect(over('127.0.0.1', chain, ['127.0.0.1', '10.0.0.2/255.255.255.255'])).toBe('203.0.113.7');
    // The client sent "X-Forwarded-For: 192.0.2.99" itself; the proxies appended what they saw.
    expect(over('127.0.0.1', '192.0.2.99, 203.0.113.7, 10.0.0.2', ['loopback', 'uniquelocal'])).toBe(
      '203.0.113.7',
    );
    // Every hop trusted: the furthest one is all there is.
    expect(over('127.0.0.1', '10.0.0.9, 10.0.0.2', ['loopback', 'uniquelocal'])).toBe('10.0.0.9');
  });

  it('never keys a caller by text that is not an address', () => {
    expect(over('127.0.0.1', 'unknown', ['loopback'])).toBe('127.0.0.1');
    expect(over('127.0.0.1', 'nonsense, 10.0.0.2', ['loopback', 'uniquelocal'])).toBe('10.0.0.2');
  });

  it('reads the in-process caller header only for a request that came over no socket', () => {
    expect(
      clientAddress({ inProcess: new Headers({ [CALLER_ADDRESS_HEADER]: '203.0.113.7' }) }, undefined),
    ).toBe('203.0.113.7');
    expect(clientAddress({ inProcess: { [CALLER_ADDRESS_HEADER]: 'not an address' } }, undefined)).toBe(
      'local',
    );
    expect(clientAddress({ inProcess: undefined }, undefined)).toBe('local');
    // Over a socket (even one already gone) the header is a client's, and never believed.
    const spoofed = { [CALLER_ADDRESS_HEADER]: '203.0.113.7' };
    expect(
      clientAddress({ socketAddress: '127.0.0.1', headers: spoofed }, compileProxyTrust(['loopback'])),
    ).toBe('127.0.0.1');
    expect(clientAddress({ socketAddress: undefined, headers: spoofed }, undefined)).toBe('local');
  });

  it('refuses an entry that is neither an address, a range nor a known name', () => {
    expect(() => compileProxyTrust(['loopback', 'proxy.internal'])).toThrow(
      /"proxy.internal" is not an address/,
    );
    expect(() => compileProxyTrust(['10.0.0.0/40'])).toThrow(/"10.0.0.0\/40"/);
  });
});
