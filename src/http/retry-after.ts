// Retry-After (RFC 9110 §10.2.3): either delta-seconds or an HTTP-date. Returns whole seconds from
// `nowMs` (never negative), or undefined when the header is absent or unreadable, so the caller
// falls back to its own backoff instead of trusting garbage.

export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!raw) return undefined;
  if (/^\d+$/.test(raw)) return Number(raw);
  // Date.parse accepts bare numbers like "-5" as years; an HTTP-date always names a day or month.
  if (!/[A-Za-z]/.test(raw)) return undefined;
  const at = Date.parse(raw);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - nowMs) / 1000));
}
