import { connect, type Socket } from 'node:net';

// A plain TCP client for the tests about connections themselves (timeouts, the connection cap): it
// writes what the test says, keeps everything it receives, and notes when the server closes it.

export interface Raw {
  socket: Socket;
  received(): string;
  closed(): boolean;
}

export function openRaw(port: number): Raw {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  let closed = false;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    received += chunk;
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    closed = true;
  });
  return { socket, received: () => received, closed: () => closed };
}
