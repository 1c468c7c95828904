// Durations in ms, and the instant the provider tests (sandbox dialects and sources) pin their clocks
// to: mid-day with sub-second digits, so truncation to seconds, minutes, hours and days is exercised.

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** The pinned "now" of the provider tests: 2025-06-01T12:34:56.789Z. */
export const T = Date.parse('2025-06-01T12:34:56.789Z');
