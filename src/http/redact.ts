// Error messages and log lines may only name provider, endpoint, status and latency. Anything that
// came from elsewhere (a source's envelope message, a library's error text) passes through here first.

const SECRET_PARAM = /([?&;]|\b)(key|apikey|api_key|apiKey|x_cg_[a-z_]+)=([^&\s#"']*)/gi;
/** A query string after a URL or path: `?name=value...` up to the next whitespace or quote. */
const QUERY_STRING = /\?[\w.\-[\]%]+=[^\s"']*/g;
const SECRET_NAME = /key|secret|signature|authorization|^auth|access[_-]?token|^token$/i;
const MAX_LENGTH = 200;

/** Values of query parameters and headers that look like credentials, plus the configured key. */
export function collectSecrets(
  key: string | undefined,
  query: Record<string, unknown> | undefined,
  headers: Record<string, string> | undefined,
): string[] {
  const secrets = key ? [key] : [];
  for (const [name, value] of [...Object.entries(query ?? {}), ...Object.entries(headers ?? {})]) {
    if (SECRET_NAME.test(name) && value !== undefined) {
      const text = String(value);
      secrets.push(text, text.replace(/^Bearer\s+/i, ''));
    }
  }
  return secrets.filter((secret) => secret.length >= 4);
}

/** Strips query strings from URLs, masks key-like parameters and known secret values, truncates. */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(QUERY_STRING, '').replace(SECRET_PARAM, '$1$2=[redacted]');
  for (const secret of secrets) out = out.split(secret).join('[redacted]');
  return out.length > MAX_LENGTH ? `${out.slice(0, MAX_LENGTH - 1)}…` : out;
}
