import { z } from 'zod';
import { ConfigError } from './error.js';
import type { ProviderEndpointOverride, UpstreamName } from './upstreams.js';

// What one row of the settings table is (src/config/settings.ts), the parsers rows use, and how one raw
// string becomes a value or a ConfigError naming the setting.

export type Profile = 'sandbox' | 'live';

/** What a default may depend on. */
export interface DefaultContext {
  profile: Profile;
}

/** What a per-provider default may depend on: the provider, its sandbox endpoint, the key resolved. */
export interface ProviderDefaultContext extends DefaultContext {
  provider: UpstreamName;
  endpoint: ProviderEndpointOverride | undefined;
  /** The provider's key, configured or the endpoint's demo key (the key row is resolved first). */
  key: string | undefined;
}

export interface SettingRow<T, C> {
  /** The variable; per-provider rows give the part after `MARKETGRAPH_<P>_`. */
  env: string;
  /** A command-line flag that overrides the variable, and the placeholder --help shows for its value. */
  flag?: { name: string; value: string };
  /** Turns the raw text into the value; its first issue's message is what the user reads. */
  parse: z.ZodType<T>;
  /** Used when the variable is unset or empty. */
  default: NoInfer<T> | ((context: C) => NoInfer<T>);
  /** README's default cell when it is not the default printed as is (a function's, or a unit). */
  shown?: string;
  /** README's meaning cell (markdown). */
  doc: string;
  /** A credential: README says so, and it must never reach a log line or a client. */
  secret?: boolean;
}

const ROW = Symbol('setting');

export interface Setting<T> extends SettingRow<T, DefaultContext> {
  readonly [ROW]: true;
}
export interface ProviderSetting<T> extends SettingRow<T, ProviderDefaultContext> {
  readonly [ROW]: true;
}

export function setting<T>(row: SettingRow<T, DefaultContext>): Setting<T> {
  return { ...row, [ROW]: true };
}

export function providerSetting<T>(row: SettingRow<T, ProviderDefaultContext>): ProviderSetting<T> {
  return { ...row, [ROW]: true };
}

export function isSetting(value: unknown): value is Setting<unknown> {
  return typeof value === 'object' && value !== null && ROW in value;
}

/** The value of one setting: its raw text parsed, or its default when the text is unset or empty. */
export function readSetting<T, C>(
  row: SettingRow<T, C>,
  name: string,
  raw: string | undefined,
  context: C,
): T {
  if (raw === undefined || raw === '') {
    return typeof row.default === 'function' ? (row.default as (c: C) => T)(context) : row.default;
  }
  const parsed = row.parse.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new ConfigError(`${name}: ${issue?.message ?? 'invalid value'}, got ${JSON.stringify(raw)}`);
}

// Parsers. Each takes the raw string; messages say what is allowed.

export function wholeNumber(min: number, max: number) {
  const message = `must be a whole number from ${min} to ${max}`;
  return z
    .string()
    .regex(/^\d+$/, { message })
    .transform(Number)
    .pipe(z.number().int().min(min, { message }).max(max, { message }));
}

export const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const nonEmpty = z.string().min(1);

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values);
}

function urlOf(schemes: RegExp, message: string) {
  return z.string().refine((v) => schemes.test(v) && URL.canParse(v), { message });
}

/** Trailing slashes dropped, so paths can be appended with one '/'. */
export const httpUrl = urlOf(/^https?:\/\/[^\s]+$/, 'must be an http(s) URL').transform((v) =>
  v.replace(/\/+$/, ''),
);
export const wsUrl = urlOf(/^wss?:\/\/[^\s]+$/, 'must be a ws(s) URL').transform((v) =>
  v.replace(/\/+$/, ''),
);
export const redisUrl = urlOf(/^rediss?:\/\/[^\s]+$/, 'must be a redis:// or rediss:// URL');

/** Key prefixes end in ':' (added when missing) so one prefix never matches another's keys. */
export const redisPrefix = z
  .string()
  .regex(/^[A-Za-z0-9_.:{}-]{1,100}$/, {
    message: 'must be 1 to 100 characters from A-Z a-z 0-9 _ . : { } -',
  })
  .transform((v) => (v.endsWith(':') ? v : `${v}:`));

/** The values of a flat group of rows (what resolve.ts's Resolved gives such a group). */
export type GroupValues<G> = { [K in keyof G]: G[K] extends Setting<infer T> ? T : never };
