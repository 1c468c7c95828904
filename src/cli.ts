import { readFileSync } from 'node:fs';
import { loadConfig, UPSTREAMS } from './config.js';

// `--help` and `--version`, answered before any configuration is validated. The settings list is not
// written here: its names are the variables loadConfig reads (so it cannot miss one), and each one's
// default and meaning are README's configuration table row for it (the one place they are written
// down; test/cli.test.ts fails when a setting has no row).

export type CliAction = 'help' | 'version';

/** What the command line asks for instead of running the gateway, if anything. */
export function cliAction(argv: readonly string[]): CliAction | undefined {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  if (argv.includes('--version')) return 'version';
  return undefined;
}

const ROOT = new URL('../', import.meta.url);

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Every environment variable loadConfig reads, in the order it reads them, with the per-provider ones
 * folded into one `MARKETGRAPH_<P>_...` name each.
 */
export function settingNames(): string[] {
  const read: string[] = [];
  const env = new Proxy({} as Record<string, string | undefined>, {
    get(_target, name) {
      if (typeof name === 'string') read.push(name);
      return undefined;
    },
  });
  loadConfig({ env });
  const provider = new RegExp(`^MARKETGRAPH_(${UPSTREAMS.map((p) => p.toUpperCase()).join('|')})_`);
  return [...new Set(read.map((name) => name.replace(provider, 'MARKETGRAPH_<P>_')))];
}

export interface SettingDoc {
  /** The flag of the same setting, if it has one. */
  flag?: string;
  defaultValue: string;
  meaning: string;
}

/** README's configuration table: variable name → its row (an empty map without a README). */
export function readmeSettings(readme = readReadme()): Map<string, SettingDoc> {
  const rows = new Map<string, SettingDoc>();
  for (const line of readme.split('\n')) {
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    // | `NAME` [/ `--flag`] | default | meaning |
    if (cells.length < 5 || !cells[1]?.startsWith('`')) continue;
    const names = [...cells[1].matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const variable = names.find((n) => /^[A-Z][A-Z0-9_<>]*$/.test(n));
    if (!variable) continue;
    rows.set(variable, {
      flag: names.find((n) => n.startsWith('--')),
      defaultValue: plain(cells[2]!),
      meaning: plain(cells[3]!),
    });
  }
  return rows;
}

export function helpText(): string {
  const docs = readmeSettings();
  const names = settingNames();
  const width = Math.max(
    ...names.map((n) => n.length + (docs.get(n)?.flag ? docs.get(n)!.flag!.length + 2 : 0)),
  );
  const settings = names.map((name) => {
    const doc = docs.get(name);
    const label = doc?.flag ? `${name}, ${doc.flag}` : name;
    if (!doc) return `  ${label}`;
    const meaning =
      doc.defaultValue && doc.defaultValue !== '—'
        ? `${doc.meaning} (default: ${doc.defaultValue})`
        : doc.meaning;
    return `  ${label.padEnd(width)}  ${meaning}`;
  });
  return [
    'Usage: marketgraph [--profile sandbox|live] [--port N] [--host ADDR] [--workers N]',
    '       marketgraph --mcp [--profile sandbox|live]   (MCP over stdin/stdout, for desktop agent hosts)',
    '       marketgraph --help | --version',
    '',
    'The marketgraph GraphQL gateway. It serves on http://HOST:PORT/graphql (HTTP, SSE, graphql-ws,',
    'GraphiQL) until SIGTERM or SIGINT, then drains: see README.md, "Production".',
    '',
    'Settings (environment variables; a flag overrides its variable):',
    ...settings,
    '',
    `<P> is one of ${UPSTREAMS.map((p) => p.toUpperCase()).join(', ')}.`,
  ].join('\n');
}

function readReadme(): string {
  try {
    return readFileSync(new URL('README.md', ROOT), 'utf8');
  } catch {
    return '';
  }
}

/** A table cell as plain text: no backticks, no escaped pipes, no link targets. */
function plain(cell: string): string {
  return cell
    .replace(/\\\|/g, '|')
    .replace(/\[([^\]]+)\]\([^)]+\)/g, '$1')
    .replace(/`/g, '')
    .replace(/\*\*/g, '');
}
