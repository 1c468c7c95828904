import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cliAction, helpText, settingNames, version } from '../src/cli.js';
import { settingDocs } from '../src/config/docs.js';

// --help and --version, and the check that the settings table is complete: every variable loadConfig
// reads is a row of it (so README's generated table and --help list it).

describe('the command line', () => {
  it('asks for help or the version before anything else', () => {
    expect(cliAction(['--port', 'x', '--help'])).toBe('help');
    expect(cliAction(['-h'])).toBe('help');
    expect(cliAction(['--version'])).toBe('version');
    expect(cliAction(['--port', '4000'])).toBeUndefined();
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(version()).toBe(pkg.version);
  });

  it('reads no variable that is not a row of the settings table, and --help lists every row with its default', () => {
    const names = settingNames();
    expect(names).toContain('MARKETGRAPH_PORT');
    expect(names).toContain('MARKETGRAPH_<P>_RPM');
    expect(names).not.toContain('MARKETGRAPH_COINGECKO_RPM');
    const rows = settingDocs().map((doc) => doc.name);
    expect(names.filter((name) => !rows.includes(name))).toEqual([]);
    expect([...names].sort()).toEqual([...rows].sort());

    const help = helpText();
    for (const name of names) expect(help).toContain(`  ${name}`);
    expect(help).toMatch(/MARKETGRAPH_PORT, --port +listen port \(0 = any free port\) \(default: 4000\)/);
    expect(help).toMatch(/MARKETGRAPH_<P>_RPM +.*\(default: coingecko 30, binance 1200/);
    expect(help).toMatch(/^Usage: marketgraph .*\[--port N\]/);
    expect(help).toMatch(/REDIS_URL +redis:\/\/…: shared cache.*see Redis$/m);
  });
});
