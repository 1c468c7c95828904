import type { Logger } from 'pino';
import type { Config } from '../config.js';

// Error messages and log lines may only name provider, endpoint, status and latency. Anything that
// came from elsewhere (a source's envelope message, a library's error text) passes through here first,
// whole: redaction always runs on the full text (its first SCAN_LIMIT characters) and truncation
// comes last, so a cut can never leave the head of a key behind.
//
// Secrets: the configured key; values of credential-named query parameters and headers (with any
// Bearer/Basic scheme stripped, Basic decoded); from the base URL, its userinfo, credential-named or
// key-shaped query values and key-shaped path segments (see looksLikeKey). Shorter than MIN_SECRET
// characters, a value is not treated as a secret (it would blank ordinary words).
//
// Redacted: every run of FRAGMENT or more characters that also occurs in a secret (or in its base64
// forms), compared without regard to ASCII case, found in the text as given and after each of up to
// DECODE_ROUNDS rounds of decoding percent escapes (%2f, %2F, %252F...) and JSON escapes (\u0041, \/,
// \"); whole secrets shorter than FRAGMENT; and whoever's they are, query strings, key-like
// `name=value` pairs, `Authorization: …`-style header values and Bearer/Basic tokens. Each window of
// FRAGMENT characters is looked up, by rolling hash, in one set of the secrets' windows, so the cost
// is linear in the text.

/** The shortest run of a secret's characters that is redacted wherever it appears. */
export const FRAGMENT = 8;
const MIN_SECRET = 4;
const MAX_LENGTH = 200;
const SCAN_LIMIT = 16_384;
const DECODE_ROUNDS = 3;
/** Raw characters that can decode into FRAGMENT characters (an escape is at most 6 long, per round). */
const SCAN_MARGIN = FRAGMENT * 6 ** DECODE_ROUNDS;
const REDACTED = '[redacted]';

const SECRET_NAME = /key|secret|signature|password|authorization|^auth|access[_-]?token|^token$/i;
/** Log fields whose value is a credential whatever it looks like. */
const SECRET_FIELD =
  /^(authorization|proxy-authorization|cookie|set-cookie|password|secret|token|access[_-]?token|api[_-]?key|apikey|x-api-key|x-cg-(demo|pro)-api-key)$/i;
/** Log fields that only ever hold our own names, left alone (a demo key like
 *  'sandbox-etherscan-key' shares a fragment with the provider's name). */
const OWN_FIELD = /^(provider|endpoint|code|outcome|breaker|namespace)$/;
const SCHEME = /^(?:Bearer|Basic|Token)\s+/i;
const ESCAPE = /%([0-9a-f]{2})|\\u([0-9a-f]{4})|\\([\\"/bfnrt])/gi;
const ANY_ESCAPE = /%[0-9a-f]{2}|\\u[0-9a-f]{4}|\\[\\"/bfnrt]/i;
const JSON_ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** Credentials we were not told about; group 1 of each match is redacted. */
const PATTERNS = [
  // A query string after a URL or path: `?name=value...` up to the next whitespace or quote.
  /\?([\w.\-[\]%]+=[^\s"']*)/dg,
  /\b(?:authorization|proxy-authorization|x-api-key|x-cg-(?:demo|pro)-api-key|api[-_]?key|x-access-token)"?\s*[:=]\s*"?((?:(?:Bearer|Basic|Token)\s+)?[^\s"',;&]+)/dgi,
  /\b(?:Bearer|Basic)\s+([\w.~+/=-]{8,})/dgi,
];
/** `name=value` with a credential-like name: the value is found first, its name read backwards. */
const PARAM_VALUE = /=([^&\s#"'=]+)/dg;
const PARAM_NAME = /(?:key|token|secret|signature|password)$/i;
const NAME_CHAR = /[\w-]/;

export interface Redactor {
  /** The text with every secret form removed, then cut to `maxLength` (default 200) characters. */
  redact(text: string, options?: { maxLength?: number }): string;
}

/** Values of query parameters and headers that look like credentials, the configured key, and the
 *  base URL's credentials. */
export function collectSecrets(
  key: string | undefined,
  query: Record<string, unknown> | undefined,
  headers: Record<string, string> | undefined,
  baseUrl?: string,
): string[] {
  const secrets = key ? [key] : [];
  for (const [name, value] of [...Object.entries(query ?? {}), ...Object.entries(headers ?? {})]) {
    if (SECRET_NAME.test(name) && value !== undefined) secrets.push(...credentialForms(String(value)));
  }
  if (baseUrl) secrets.push(...collectUrlSecrets(baseUrl));
  return [...new Set(secrets.filter((secret) => secret.length >= MIN_SECRET))];
}

/** Every secret the configuration holds: providers' keys and URLs' credentials, Redis's password. */
export function collectConfigSecrets(
  config: Pick<Config, 'providers' | 'redisUrl'> &
    Partial<Pick<Config, 'tracing'>> & { mcp?: Pick<Config['mcp'], 'apiKey'> },
): string[] {
  const secrets = Object.values(config.providers).flatMap((provider) => [
    ...collectSecrets(provider.key, undefined, undefined, provider.url),
    ...(provider.wsUrl ? collectUrlSecrets(provider.wsUrl) : []),
  ]);
  if (config.redisUrl) secrets.push(...collectUrlSecrets(config.redisUrl));
  // A collector's auth header (OTEL_EXPORTER_OTLP_HEADERS) is a credential whatever its name.
  if (config.tracing?.endpoint) secrets.push(...collectUrlSecrets(config.tracing.endpoint));
  for (const value of Object.values(config.tracing?.headers ?? {})) {
    // The whole value, and the credential of a `Scheme credential` value (Bearer, Basic) on its own.
    const credential = /^\S+\s+(\S+)$/.exec(value)?.[1];
    for (const secret of [value, credential]) if (secret && secret.length >= MIN_SECRET) secrets.push(secret);
  }
  if (config.mcp?.apiKey) secrets.push(config.mcp.apiKey);
  return [...new Set(secrets)];
}

/** Userinfo, credential-named or key-shaped query values, and key-shaped path segments of a URL. */
export function collectUrlSecrets(url: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [];
  }
  const secrets = [decode(parsed.username), decode(parsed.password)];
  for (const segment of parsed.pathname.split('/')) {
    const value = decode(segment);
    if (looksLikeKey(value)) secrets.push(value);
  }
  for (const [name, value] of parsed.searchParams) {
    if (SECRET_NAME.test(name) || looksLikeKey(value)) secrets.push(...credentialForms(value));
  }
  return secrets.filter((secret) => secret.length >= MIN_SECRET);
}

export function createRedactor(secrets: readonly string[]): Redactor {
  const matcher = buildMatcher(secrets);
  return {
    redact(text, options = {}) {
      const maxLength = options.maxLength ?? MAX_LENGTH;
      const cut = text.length > SCAN_LIMIT;
      const scanned = cut ? text.slice(0, SCAN_LIMIT) : text;
      const spans = findSpans(scanned, matcher);
      // Past the margin, a fragment could have been split by the cut; nothing from there is shown.
      const end = cut ? SCAN_LIMIT - SCAN_MARGIN : scanned.length;
      return truncate(render(scanned, spans, end), maxLength, cut);
    },
  };
}

/** Redacts `secrets` (and everything listed above) from `text`, then truncates to 200 characters. */
export function redactText(text: string, secrets: readonly string[] = []): string {
  return createRedactor(secrets).redact(text);
}

/**
 * A child of `logger` whose every line has its fields redacted: string values through the same
 * Redactor, credential-named fields replaced whole. The message string itself is not rewritten
 * (pino offers no hook for it on a child); messages are fixed text, provider text goes in fields.
 */
export function redactLogger(logger: Logger, secrets: readonly string[]): Logger {
  const redactor = createRedactor(secrets);
  return logger.child({}, { formatters: { log: (fields) => redactFields(fields, redactor, 0) as object } });
}

function redactFields(value: unknown, redactor: Redactor, depth: number): unknown {
  if (typeof value === 'string') return redactor.redact(value, { maxLength: 2_000 });
  if (typeof value !== 'object' || value === null || depth > 6) return value;
  if (value instanceof Error) {
    // A copy of the same class, so pino's error serializer still names it.
    const copy = Object.create(Object.getPrototypeOf(value)) as Error;
    const own = redactFields({ ...value }, redactor, depth + 1) as object;
    return Object.assign(copy, own, {
      name: value.name,
      message: redactor.redact(value.message, { maxLength: 2_000 }),
      stack: value.stack && redactor.redact(value.stack, { maxLength: 4_000 }),
    });
  }
  if (Array.isArray(value)) return value.map((item) => redactFields(item, redactor, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value)) {
    if (SECRET_FIELD.test(name) && field != null) out[name] = REDACTED;
    else if (OWN_FIELD.test(name) && typeof field === 'string') out[name] = field;
    else out[name] = redactFields(field, redactor, depth + 1);
  }
  return out;
}

/** A value without its auth scheme (the scheme is no secret), and a Basic credential's decoded parts. */
function credentialForms(value: string): string[] {
  const bare = value.replace(SCHEME, '');
  const forms = [bare];
  if (/^Basic\s/i.test(value)) {
    const decoded = Buffer.from(bare, 'base64').toString('utf8');
    forms.push(decoded, ...decoded.split(':'));
  }
  return forms;
}

/** Long, URL-safe, letters and digits mixed: how API keys in URLs look, and version segments don't. */
function looksLikeKey(value: string): boolean {
  return value.length >= 16 && /^[\w.~+=-]+$/.test(value) && /\d/.test(value) && /[A-Za-z]/.test(value);
}

function decode(component: string): string {
  try {
    return decodeURIComponent(component);
  } catch {
    return component;
  }
}

interface Matcher {
  /** Rolling hashes of every FRAGMENT-long window of every secret form, ASCII-lowercased. */
  hashes: Set<number>;
  /** The forms themselves, lowercased. */
  forms: string[];
  /** Their windows, to confirm a hash hit; built on the first hit. */
  windows?: Set<string>;
  /** Secrets shorter than FRAGMENT, matched whole. */
  shorts: string[];
}

function buildMatcher(secrets: readonly string[]): Matcher {
  const hashes = new Set<number>();
  const forms = new Set<string>();
  const shorts = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < MIN_SECRET) continue;
    for (const form of [secret, ...base64Forms(secret)]) {
      const lower = lowerAscii(form);
      if (lower.length < FRAGMENT) {
        if (form === secret) shorts.add(lower);
        continue;
      }
      forms.add(lower);
      forEachWindowHash(lower, (hash) => hashes.add(hash));
    }
  }
  return { hashes, forms: [...forms], shorts: [...shorts] };
}

const HASH_BASE = 131;
/** HASH_BASE^(FRAGMENT-1) in 32-bit arithmetic: what the character leaving the window weighed. */
const HASH_DROP = Array.from({ length: FRAGMENT - 1 }).reduce<number>((h) => Math.imul(h, HASH_BASE), 1);

/** Rolling hashes are masked to 30 bits, small integers V8 keeps unboxed in a Set. */
const HASH_MASK = 0x3fffffff;

function foldedCode(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** Calls `visit` with the hash of each FRAGMENT-long window of `text`, ASCII case folded. */
function forEachWindowHash(text: string, visit: (hash: number) => void): void {
  let hash = 0;
  for (let j = 0; j < text.length; j++) {
    if (j >= FRAGMENT) hash = (hash - Math.imul(foldedCode(text, j - FRAGMENT), HASH_DROP)) | 0;
    hash = (Math.imul(hash, HASH_BASE) + foldedCode(text, j)) | 0;
    if (j >= FRAGMENT - 1) visit(hash & HASH_MASK);
  }
}

/**
 * The part of base64(…secret…) that does not depend on the neighbouring bytes, for each of the three
 * alignments the secret can have in an encoded stream, in the standard and URL-safe alphabets.
 */
function base64Forms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const forms: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    const first = Math.ceil((8 * offset) / 6);
    const last = Math.floor((8 * (offset + bytes.length) - 6) / 6);
    const stable = encoded.slice(first, last + 1);
    forms.push(stable, stable.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return forms.filter((form) => form.length >= FRAGMENT);
}

/**
 * A decoded copy of the text with, per character, the range of raw characters it came from; without
 * `from`/`to`, the raw text itself.
 */
interface View {
  text: string;
  from?: Int32Array;
  to?: Int32Array;
}

const startOf = (view: View, i: number) => (view.from ? view.from[i]! : i);
const endOf = (view: View, i: number) => (view.to ? view.to[i]! : i + 1);

function findSpans(text: string, matcher: Matcher): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  for (const pattern of PATTERNS) {
    for (const match of text.matchAll(pattern)) {
      const range = match.indices?.[1];
      if (range && range[1] > range[0]) spans.push([range[0], range[1]]);
    }
  }
  for (const match of text.matchAll(PARAM_VALUE)) {
    let start = match.index;
    while (start > 0 && NAME_CHAR.test(text[start - 1]!)) start--;
    const range = match.indices?.[1];
    if (range && PARAM_NAME.test(text.slice(start, match.index))) spans.push([range[0], range[1]]);
  }
  if (matcher.forms.length === 0 && matcher.shorts.length === 0) return spans;
  let view: View | undefined = { text };
  for (let round = 0; view && round <= DECODE_ROUNDS; round++) {
    markSecrets(view, matcher, spans);
    view = round < DECODE_ROUNDS ? decodeView(view) : undefined;
  }
  return spans;
}

function markSecrets(view: View, matcher: Matcher, spans: Array<[number, number]>): void {
  const { text } = view;
  let open: [number, number] | undefined;
  let hash = 0;
  // forEachWindowHash, inlined: this loop runs once per character of every redacted text.
  for (let j = 0; j < text.length; j++) {
    if (j >= FRAGMENT) hash = (hash - Math.imul(foldedCode(text, j - FRAGMENT), HASH_DROP)) | 0;
    hash = (Math.imul(hash, HASH_BASE) + foldedCode(text, j)) | 0;
    if (j < FRAGMENT - 1 || !matcher.hashes.has(hash & HASH_MASK)) continue;
    const i = j - FRAGMENT + 1;
    matcher.windows ??= new Set(matcher.forms.flatMap(windowsOf));
    if (!matcher.windows.has(lowerAscii(text.slice(i, i + FRAGMENT)))) continue;
    const start = startOf(view, i);
    const end = endOf(view, j);
    if (open && start <= open[1]) {
      open[1] = Math.max(open[1], end);
    } else {
      open = [start, end];
      spans.push(open);
    }
  }
  if (matcher.shorts.length === 0) return;
  const lower = lowerAscii(text);
  for (const short of matcher.shorts) {
    for (let i = lower.indexOf(short); i >= 0; i = lower.indexOf(short, i + 1)) {
      spans.push([startOf(view, i), endOf(view, i + short.length - 1)]);
    }
  }
}

function windowsOf(form: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + FRAGMENT <= form.length; i++) out.push(form.slice(i, i + FRAGMENT));
  return out;
}

/** One round of percent and JSON unescaping; undefined when there was nothing to decode. */
function decodeView(view: View): View | undefined {
  const { text } = view;
  if (!ANY_ESCAPE.test(text)) return undefined;
  const parts: string[] = [];
  // Decoding only shortens, so the raw length bounds the decoded one.
  const from = new Int32Array(text.length);
  const to = new Int32Array(text.length);
  let length = 0;
  let last = 0;
  const copy = (until: number) => {
    parts.push(text.slice(last, until));
    for (let i = last; i < until; i++, length++) {
      from[length] = startOf(view, i);
      to[length] = endOf(view, i);
    }
  };
  for (const match of text.matchAll(ESCAPE)) {
    const at = match.index;
    copy(at);
    const [whole, hex2, hex4, simple] = match;
    const hex = hex2 ?? hex4;
    parts.push(hex ? String.fromCharCode(Number.parseInt(hex, 16)) : (JSON_ESCAPES[simple!] ?? simple!));
    from[length] = startOf(view, at);
    to[length] = endOf(view, at + whole.length - 1);
    length++;
    last = at + whole.length;
  }
  if (parts.length === 0) return undefined;
  copy(text.length);
  return { text: parts.join(''), from: from.subarray(0, length), to: to.subarray(0, length) };
}

function render(text: string, spans: Array<[number, number]>, end: number): string {
  spans.sort((a, b) => a[0] - b[0]);
  const parts: string[] = [];
  let position = 0;
  for (const [start, stop] of spans) {
    if (start >= end) break;
    if (stop <= position) continue;
    // Overlapping or touching spans are one redaction.
    if (start > position) parts.push(text.slice(position, start), REDACTED);
    else if (parts.length === 0) parts.push(REDACTED);
    position = stop;
  }
  if (position < end) parts.push(text.slice(position, end));
  return parts.join('');
}

function truncate(text: string, maxLength: number, cut: boolean): string {
  if (!cut && text.length <= maxLength) return text;
  let length = Math.min(text.length, maxLength - 1);
  const code = text.charCodeAt(length - 1);
  if (code >= 0xd800 && code <= 0xdbff) length -= 1;
  return `${text.slice(0, length)}…`;
}

/** Lower-cases A-Z only, so that every character keeps its index (toLowerCase may not). */
function lowerAscii(text: string): string {
  let out = '';
  let last = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 65 || c > 90) continue;
    out += text.slice(last, i) + String.fromCharCode(c + 32);
    last = i + 1;
  }
  return last === 0 ? text : out + text.slice(last);
}
