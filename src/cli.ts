import { readFileSync } from 'node:fs';
import { plain, providerNames, settingDocs } from './config/docs.js';
import { flagRows } from './config/resolve.js';
import { loadConfig, UPSTREAMS } from './config.js';

// `--help` and `--version`, answered before any configuration is validated. The settings list is not
// written here: it is the settings table (src/config/settings.ts), the one place each setting's
// default and meaning are written down, README's configuration table being generated from it too.

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

export function helpText(): string {
  const docs = settingDocs();
  const label = (doc: (typeof docs)[number]) => (doc.flag ? `${doc.name}, ${doc.flag}` : doc.name);
  const width = Math.max(...docs.map((doc) => label(doc).length));
  const settings = docs.map((doc) => {
    const defaultValue = plain(doc.defaultValue);
    const meaning = plain(doc.meaning);
    const line = defaultValue && defaultValue !== '—' ? `${meaning} (default: ${defaultValue})` : meaning;
    return `  ${label(doc).padEnd(width)}  ${line}`;
  });
  return [
    `Usage: marketgraph ${flagRows()
      .map((row) => `[--${row.flag!.name} ${row.flag!.value}]`)
      .join(' ')}`,
    '       marketgraph --mcp [--profile sandbox|live]   (MCP over stdin/stdout, for desktop agent hosts)',
    '       marketgraph --help | --version',
    '',
    'The marketgraph GraphQL gateway. It serves on http://HOST:PORT/graphql (HTTP, SSE, graphql-ws,',
    'GraphiQL) until SIGTERM or SIGINT, then drains: see README.md, "Production".',
    '',
    'Settings (environment variables; a flag overrides its variable):',
    ...settings,
    '',
    `<P> is one of ${providerNames().join(', ')}.`,
  ].join('\n');
}
