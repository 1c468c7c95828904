import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A pino logger writing synchronously into `lines` (parsed), at `level` and above. */
export function captureLogger(level = 'debug'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

export const WARN = 40;
export const INFO = 30;
export const DEBUG = 20;

/** The lines at exactly `level` with message `msg`. */
export function linesOf(lines: readonly LogLine[], level: number, msg: string): LogLine[] {
  return lines.filter((l) => l.level === level && l.msg === msg);
}
