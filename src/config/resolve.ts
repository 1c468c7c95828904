import { parseArgs } from 'node:util';
import { ConfigError } from './error.js';
import {
  type DefaultContext,
  isSetting,
  type Profile,
  type ProviderSetting,
  readSetting,
  type Setting,
} from './setting.js';
import { PROVIDER_SETTINGS, SETTINGS } from './settings.js';
import { type ProviderEndpoints, UPSTREAMS, type UpstreamName } from './upstreams.js';

// The settings table walked into values: each row's variable (or flag) read and parsed, or its default.

type Env = Record<string, string | undefined>;

/** A table subtree's values: each row becomes its value, constants stay, groups recurse. */
export type Resolved<S> = S extends Setting<infer T> | ProviderSetting<infer T>
  ? T
  : S extends typeof PROVIDER_SETTINGS
    ? Record<UpstreamName, { name: UpstreamName } & { [K in keyof S]: Resolved<S[K]> }>
    : S extends object
      ? { [K in keyof S]: Resolved<S[K]> }
      : S;

export interface ResolveInput {
  env: Env;
  argv: readonly string[];
  endpoints: ProviderEndpoints;
}

export function resolveSettings(input: ResolveInput): Resolved<typeof SETTINGS> {
  const flags = parseFlags(input.argv);
  const read = (row: Setting<unknown>, context: DefaultContext) => {
    const flag = row.flag ? flags[row.flag.name] : undefined;
    // Errors name the flag when the value came from one, the variable otherwise.
    if (flag !== undefined) return readSetting(row, `--${row.flag!.name}`, flag, context);
    return readSetting(row, row.env, input.env[row.env], context);
  };
  const profile = read(SETTINGS.profile, { profile: 'sandbox' }) as Profile;
  const context: DefaultContext = { profile };

  const walk = (node: unknown): unknown => {
    if (node === PROVIDER_SETTINGS) return resolveProviders(input, profile);
    if (isSetting(node)) return read(node, context);
    if (typeof node !== 'object' || node === null) return node;
    return Object.fromEntries(Object.entries(node).map(([name, child]) => [name, walk(child)]));
  };
  return walk(SETTINGS) as Resolved<typeof SETTINGS>;
}

/** `MARKETGRAPH_<P>_` for provider `<P>`. */
export function providerPrefix(name: UpstreamName): string {
  return `MARKETGRAPH_${name.toUpperCase()}_`;
}

function resolveProviders(input: ResolveInput, profile: Profile) {
  const providers = {} as Resolved<typeof PROVIDER_SETTINGS>;
  for (const provider of UPSTREAMS) {
    const endpoint = input.endpoints[provider];
    const values: Record<string, unknown> = { name: provider };
    const context = { profile, provider, endpoint, key: undefined as string | undefined };
    for (const [field, row] of Object.entries(PROVIDER_SETTINGS) as Array<
      [string, ProviderSetting<unknown>]
    >) {
      const name = `${providerPrefix(provider)}${row.env}`;
      values[field] = readSetting(row, name, input.env[name], context);
      if (row === PROVIDER_SETTINGS.key) context.key = values[field] as string | undefined;
    }
    providers[provider] = values as (typeof providers)[UpstreamName];
  }
  return providers;
}

/** Every row in table order; the provider group is one entry, its rows in their own order. */
export function tableRows(): Array<Setting<unknown> | { providers: ProviderSetting<unknown>[] }> {
  const rows: Array<Setting<unknown> | { providers: ProviderSetting<unknown>[] }> = [];
  const walk = (node: unknown) => {
    if (node === PROVIDER_SETTINGS) rows.push({ providers: Object.values(PROVIDER_SETTINGS) });
    else if (isSetting(node)) rows.push(node);
    else if (typeof node === 'object' && node !== null) for (const child of Object.values(node)) walk(child);
  };
  walk(SETTINGS);
  return rows;
}

/** Every row with a flag, in table order. */
export function flagRows(): Setting<unknown>[] {
  return tableRows().filter((row): row is Setting<unknown> => isSetting(row) && !!row.flag);
}

function parseFlags(argv: readonly string[]): Record<string, string | undefined> {
  const rows = flagRows();
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: Object.fromEntries(rows.map((row) => [row.flag!.name, { type: 'string' as const }])),
      strict: true,
      allowPositionals: false,
    });
    return values as Record<string, string | undefined>;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const allowed = rows.map((row) => `--${row.flag!.name} ${row.flag!.value}`);
    throw new ConfigError(
      `command line: ${message.split('\n')[0]} (allowed: ${[...allowed, '--help', '--version'].join(', ')})`,
    );
  }
}
