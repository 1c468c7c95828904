import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cliAction, helpText, readmeSettings, settingNames, version } from '../src/cli.js';

// --help and --version, and the drift check they make possible: every variable loadConfig reads has a
// row in README's configuration table (which --help prints).

describe('the command line', () => {
  it('asks for help or the version before anything else', () => {
    expect(cliAction(['--port', 'x', '--help'])).toBe('help');
    expect(cliAction(['-h'])).toBe('help');
    expect(cliAction(['--version'])).toBe('version');
    expect(cliAction(['--port', '4000'])).toBeUndefined();
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(version()).toBe(pkg.version);
  });

  it('documents every setting loadConfig reads in README, and --help lists them with their defaults', () => {
    const names = settingNames();
    expect(names).toContain('MARKETGRAPH_PORT');
    expect(names).toContain('MARKETGRAPH_<P>_RPM');
    expect(names).not.toContain('MARKETGRAPH_COINGECKO_RPM');
    const rows = readmeSettings();
    expect(names.filter((name) => !rows.has(name))).toEqual([]);

    const help = helpText();
    for (const name of names) expect(help).toContain(`  ${name}`);
    expect(help).toMatch(/MARKETGRAPH_PORT, --port +listen port \(0 = any free port\) \(default: 4000\)/);
    expect(help).toMatch(/MARKETGRAPH_<P>_RPM +.*\(default: coingecko 30, binance 1200/);
  });

  it('reads a README row with its flag, default and meaning as plain text', () => {
    const rows = readmeSettings(
      '| variable | default | meaning |\n| --- | --- | --- |\n' +
        '| `MARKETGRAPH_X` / `--x` | `5` (five) | a [link](docs/x.md) and `code`, a \\| pipe |\n',
    );
    expect(rows.get('MARKETGRAPH_X')).toEqual({
      flag: '--x',
      defaultValue: '5 (five)',
      meaning: 'a link and code, a | pipe',
    });
  });
});
