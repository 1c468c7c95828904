import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CONNECTION_LIMIT_EXCEEDED,
  type ConnectionCapOptions,
  capConnections,
  countedAddress,
  refusalMargin,
} from '../src/connection-cap.js';
import { waitFor } from './helpers/clients.js';
import { openRaw, type Raw } from './helpers/raw-socket.js';

// The cap on a plain node:http server: admitted connections are served, the next ones are answered
// 503 with a code, and once the refused fill their margin Node drops new connections unanswered.

/** Waits until the server itself counts `n` connections (it sees a close after the client does). */
async function untilConnections(server: Server, n: number): Promise<void> {
  const count = () => new Promise<number>((resolve) => server.getConnections((_error, c) => resolve(c)));
  for (const deadline = Date.now() + 3_000; (await count()) !== n; ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} connections`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const REQUEST = 'GET / HTTP/1.1\r\nHost: test\r\n\r\n';

let server: Server | undefined;
const sockets: Raw[] = [];
afterEach(async () => {
  for (const raw of sockets.splice(0)) raw.socket.destroy();
  if (!server) return;
  server.closeAllConnections();
  await new Promise((resolve) => server!.close(resolve));
  server = undefined;
});

/** A node:http server under the cap, answering 'served'; `open` connects a raw client to it. */
async function serve(options: ConnectionCapOptions) {
  server = createServer();
  const cap = capConnections(server, options);
  server.on(
    'request',
    cap.requests((_req, res) => res.end('served')),
  );
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const open = () => {
    const raw = openRaw(port);
    sockets.push(raw);
    return raw;
  };
  return { cap, open };
}

describe('capConnections', () => {
  it('serves up to max, refuses the next with 503, and lets Node drop what exceeds the margin', async () => {
    let fulls = 0;
    // Exempt (as a proxy is): the margin is for many clients' refusals, not one address's.
    const { cap, open } = await serve({
      max: 2,
      graceMs: 30_000,
      onFull: () => (fulls += 1),
      exempt: () => true,
    });

    const admitted = [open(), open()];
    for (const raw of admitted) raw.socket.write(REQUEST);
    await waitFor(() => admitted.every((raw) => raw.received().endsWith('served')), 3_000, 'two answers');
    expect(cap.open()).toBe(2);

    // The margin fills with refused connections that have not sent anything yet.
    const refused = Array.from({ length: refusalMargin(2) }, open);
    refused[0]!.socket.write(REQUEST);
    await waitFor(() => refused[0]!.closed(), 3_000, 'the first refusal to be answered');
    expect(refused[0]!.received()).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(refused[0]!.received()).toMatch(/\r\nretry-after: 1\r\n/i);
    expect(refused[0]!.received()).toContain(CONNECTION_LIMIT_EXCEEDED);
    expect(fulls).toBe(1);
    await untilConnections(server!, 2 + refusalMargin(2) - 1);

    // The place it freed is taken again, and one more than that is dropped without an answer.
    const again = open();
    const beyond = open();
    beyond.socket.write(REQUEST);
    await waitFor(() => beyond.closed(), 3_000, 'the connection beyond the margin to be dropped');
    expect(beyond.received()).toBe('');
    again.socket.write(REQUEST);
    await waitFor(() => again.closed(), 3_000, 'a refusal');
    expect(again.received()).toMatch(/^HTTP\/1\.1 503 /);

    // Admitted connections were never disturbed, and a freed place admits a new one.
    expect(admitted.some((raw) => raw.closed())).toBe(false);
    admitted[0]!.socket.destroy();
    await waitFor(() => cap.open() === 1, 3_000, 'the server to see the close');
    const next = open();
    next.socket.write(REQUEST);
    await waitFor(() => next.received().endsWith('served'), 3_000, 'the new connection to be served');
    expect(cap.open()).toBe(2);
  });

  it('lets one address hold its share; past it that address is refused 503 and others are still admitted', async () => {
    const told: Array<[string, number]> = [];
    let exempting = false;
    const { cap, open } = await serve({
      max: 4,
      graceMs: 30_000,
      perAddress: 2,
      exempt: () => exempting,
      onAddressFull: (address, open) => told.push([address, open]),
    });

    const held = [open(), open()];
    await waitFor(() => cap.open() === 2, 3_000, 'two admitted');
    const over = open();
    over.socket.write(REQUEST);
    await waitFor(() => over.closed(), 3_000, 'the refusal');
    expect(over.received()).toMatch(/^HTTP\/1\.1 503 /);
    expect(over.received()).toContain(CONNECTION_LIMIT_EXCEEDED);
    expect(over.received()).toContain('the most one address may');
    expect(told).toEqual([['127.0.0.1', 2]]);
    expect(cap.open()).toBe(2);

    // An exempt address (a proxy speaking for many clients) is not held to the share, up to the cap.
    exempting = true;
    const proxied = [open(), open()];
    for (const raw of proxied) raw.socket.write(REQUEST);
    await waitFor(() => proxied.every((raw) => raw.received().endsWith('served')), 3_000, 'exempt answers');
    exempting = false;

    // A freed place of the share admits that address again.
    held[0]!.socket.destroy();
    await waitFor(() => cap.open() === 3, 3_000, 'the server to see the close');
    const again = open();
    again.socket.write(REQUEST);
    await waitFor(() => again.received().endsWith('served'), 3_000, 'the address served again');
    expect(held[1]!.closed()).toBe(false);
  });

  it('gives one address a few refusals at a time, each with a grace that trickled bytes do not extend', async () => {
    const { cap, open } = await serve({ max: 1, graceMs: 400, exempt: () => false });
    const admitted = open();
    await waitFor(() => cap.open() === 1, 3_000, 'one admitted');

    // Four refusals wait for their request; the fifth and sixth are dropped at once, unanswered.
    const waiting = Array.from({ length: 4 }, open);
    const dropped = [open(), open()];
    await waitFor(() => dropped.every((raw) => raw.closed()), 3_000, 'the extra refusals dropped');
    expect(dropped.map((raw) => raw.received())).toEqual(['', '']);
    expect(waiting.some((raw) => raw.closed())).toBe(false);

    // A refusal that trickles its request is still closed at its grace deadline, not kept alive.
    const trickle = setInterval(() => {
      for (const raw of waiting) if (!raw.closed()) raw.socket.write('G');
    }, 50);
    try {
      await waitFor(() => waiting.every((raw) => raw.closed()), 3_000, 'the grace deadline');
    } finally {
      clearInterval(trickle);
    }
    // Their places are free again: the next refusal from the address is answered.
    const next = open();
    next.socket.write(REQUEST);
    await waitFor(() => next.closed(), 3_000, 'the answer');
    expect(next.received()).toMatch(/^HTTP\/1\.1 503 /);
    expect(admitted.closed()).toBe(false);
  });
});

describe('countedAddress', () => {
  it('counts IPv4 (mapped or not) by address, IPv6 by its /64, and exempt addresses not at all', () => {
    expect(countedAddress('203.0.113.7', undefined)).toBe('203.0.113.7');
    expect(countedAddress('::ffff:203.0.113.7', undefined)).toBe('::ffff:203.0.113.7');
    expect(countedAddress('2001:db8:0:1:a:b:c:d', undefined)).toBe('2001:db8:0:1::/64');
    expect(countedAddress('2001:0db8:0000:0001::9', undefined)).toBe('2001:db8:0:1::/64');
    expect(countedAddress('2001:db8::1', undefined)).toBe('2001:db8:0:0::/64');
    expect(countedAddress('fe80::1%eth0', undefined)).toBe('fe80:0:0:0::/64');
    expect(countedAddress('203.0.113.7', (a) => a === '203.0.113.7')).toBeUndefined();
    expect(countedAddress(undefined, undefined)).toBeUndefined();
  });
});
