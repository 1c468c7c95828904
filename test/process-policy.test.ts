import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { installProcessPolicy, UNCAUGHT_EXIT_CODE } from '../src/process-policy.js';

function install(shutdown?: () => Promise<void>, shutdownMs?: number) {
  const target = new EventEmitter();
  const lines: string[] = [];
  const exits: number[] = [];
  installProcessPolicy({
    process: target,
    log: (line) => lines.push(line),
    exit: (code) => exits.push(code),
    shutdown,
    shutdownMs,
  });
  return { target, lines, exits };
}

describe('installProcessPolicy', () => {
  it('logs one line per unhandled rejection and keeps the process', () => {
    const { target, lines, exits } = install();
    target.emit('unhandledRejection', new TypeError('boom\nsecond line'));
    target.emit('unhandledRejection', 'a string');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^marketgraph: unhandled rejection \(still serving\): TypeError: boom second line \(at /,
    );
    expect(lines[1]).toBe('marketgraph: unhandled rejection (still serving): a string');
    expect(exits).toEqual([]);
  });

  it('logs an uncaught exception, shuts down, then exits non-zero', async () => {
    const order: string[] = [];
    const { target, lines, exits } = install(async () => {
      order.push('shutdown');
    });
    target.emit('uncaughtException', new Error('kaput'));
    await new Promise((r) => setImmediate(r));
    expect(lines).toEqual([
      expect.stringMatching(/^marketgraph: uncaught exception, exiting with code 1: Error: kaput/),
    ]);
    expect(order).toEqual(['shutdown']);
    expect(exits).toEqual([UNCAUGHT_EXIT_CODE]);
  });

  it('exits after the bound when shutting down hangs', async () => {
    const { target, exits } = install(() => new Promise(() => {}), 20);
    target.emit('uncaughtException', new Error('kaput'));
    expect(exits).toEqual([]);
    await new Promise((r) => setTimeout(r, 60));
    expect(exits).toEqual([UNCAUGHT_EXIT_CODE]);
  });
});

describe('the policy in a real process', () => {
  const script = fileURLToPath(new URL('../src/process-policy.ts', import.meta.url));
  const run = (body: string) =>
    spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { installProcessPolicy } from ${JSON.stringify(script)};
         installProcessPolicy({ process, log: (l) => console.error(l), exit: (c) => process.exit(c) });
         ${body}`,
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );

  it('survives a rejection nobody handled and finishes its work', () => {
    const result = run(`Promise.reject(new Error('lost')); setTimeout(() => console.log('still here'), 50);`);
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe('still here');
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^marketgraph: unhandled rejection \(still serving\): Error: lost/),
    ]);
  });

  it('exits with code 1 and one line on an uncaught exception', () => {
    const result = run(
      `setTimeout(() => { throw new RangeError('bad state'); }, 10); setTimeout(() => console.log('never'), 500);`,
    );
    expect(result.status).toBe(UNCAUGHT_EXIT_CODE);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^marketgraph: uncaught exception, exiting with code 1: RangeError: bad state/),
    ]);
  });
});
