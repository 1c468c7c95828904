import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { settingsTableMarkdown, TABLE_END, TABLE_START, withSettingsTable } from '../src/config/docs.js';

// README's configuration table is generated from src/config/settings.ts; it must be what the table
// says. Run `npm run docs:config` after adding or changing a setting, and review the diff.

describe("README's configuration table", () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

  it('matches the settings table', () => {
    const start = readme.indexOf(TABLE_START);
    const end = readme.indexOf(TABLE_END);
    expect(start, 'README.md lost its settings-table markers').toBeGreaterThan(0);
    const checkedIn = readme.slice(start + TABLE_START.length, end).trim();
    expect(checkedIn, "README's configuration table is stale: run `npm run docs:config`").toBe(
      settingsTableMarkdown(),
    );
  });

  it('writes the generated table between the markers and leaves the rest alone', () => {
    const before = `intro\n${TABLE_START}\n| old | table |\n${TABLE_END}\noutro\n`;
    const after = withSettingsTable(before);
    expect(after.startsWith(`intro\n${TABLE_START}\n| variable | default | meaning |\n`)).toBe(true);
    expect(after.endsWith(`\n${TABLE_END}\noutro\n`)).toBe(true);
    expect(after).not.toContain('| old | table |');
    expect(after).toContain('| `MARKETGRAPH_PORT` / `--port` | `4000` | listen port (`0` = any free port) |');
    expect(after).toContain('| `MARKETGRAPH_<P>_KEY` | — |');
    expect(() => withSettingsTable('no markers')).toThrow(/markers/);
  });
});
