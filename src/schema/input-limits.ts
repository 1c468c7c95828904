import type { GraphQLArgument, GraphQLInputField } from 'graphql';
import { badUserInput } from '../errors.js';

// What an argument (or input field) accepts beyond its GraphQL type: how many list items, how long a
// string, which characters. Declared beside the argument as `extensions: inputLimit(...)` and enforced
// by src/limits/input-values.ts before any resolver runs, on literals at validation and on variables
// before they are coerced, so neither a million-item list nor a megabyte string reaches a cost
// estimate, a URL or an error message. test/schema.test.ts requires one on every list and string.

export interface InputLimit {
  /** Most items a list takes (each item is checked against the rest of the limit). */
  maxItems?: number;
  /** Longest string, in characters. */
  maxLength?: number;
  /** Characters a string may contain, tested on the whole value. */
  pattern?: RegExp;
  /** What a valid value looks like, for the error message. */
  expected?: string;
}

const KEY = 'inputLimit';

export function inputLimit(limit: InputLimit, extra: InputLimit = {}): Record<string, InputLimit> {
  return { [KEY]: { ...limit, ...extra } };
}

export function inputLimitOf(def: GraphQLArgument | GraphQLInputField): InputLimit | undefined {
  return def.extensions?.[KEY] as InputLimit | undefined;
}

/** Canonical asset ids are CoinGecko slugs: lowercase letters, digits and a few separators. */
export const ASSET_ID: InputLimit = {
  maxLength: 100,
  pattern: /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
  expected: 'an asset id such as "bitcoin" (letters, digits, ".", "-", "_"; at most 100)',
};

/** Node ids: an asset id, or `<Type>:<id>`. */
export const NODE_ID: InputLimit = {
  maxLength: 200,
  pattern: /^[A-Za-z0-9][A-Za-z0-9._:-]*$/,
  expected: 'a node id such as "bitcoin" (letters, digits, ".", "-", "_", ":"; at most 200)',
};

export const SYMBOL: InputLimit = {
  maxLength: 40,
  pattern: /^[\p{L}\p{N}._$+-]+$/u,
  expected: 'a ticker symbol such as "BTC" (letters, digits, ".", "-", "_", "$", "+"; at most 40)',
};

/** Chain slugs and DefiLlama chain names ("bitcoin", "binance-smart-chain", "OP Mainnet"). */
export const CHAIN: InputLimit = {
  maxLength: 64,
  pattern: /^[A-Za-z0-9][A-Za-z0-9 ._-]*$/,
  expected: 'a chain name such as "ethereum" (letters, digits, " ", ".", "-", "_"; at most 64)',
};

/** Token contracts: hex, base58 and module paths ("0x…::coin::COIN") across chains. */
export const CONTRACT_ADDRESS: InputLimit = {
  maxLength: 200,
  pattern: /^[A-Za-z0-9._:-]+$/,
  expected: 'a contract address (letters, digits, ".", "-", "_", ":"; at most 200)',
};

export const METRIC_KIND: InputLimit = {
  maxLength: 64,
  pattern: /^[A-Za-z0-9_]+$/,
  expected: 'a metric kind such as "FEE_FASTEST" (letters, digits, "_"; at most 64)',
};

/**
 * Starts with a letter or digit: a slug of dots alone is a path segment URLs resolve ("/protocol/.."
 * is the provider's "/").
 */
export const PROTOCOL_SLUG: InputLimit = {
  maxLength: 80,
  pattern: /^[a-z0-9][a-z0-9.-]*$/,
  expected: "a DefiLlama protocol slug (a-z, 0-9, '.', '-', starting with a letter or digit; at most 80)",
};

/** Cursors this API issues are short base64 strings. */
export const CURSOR: InputLimit = {
  maxLength: 200,
  pattern: /^[A-Za-z0-9+/=_-]+$/,
  expected: 'a cursor this API issued',
};

/** DateTime arguments arrive as RFC 3339 strings. */
export const DATE_TIME: InputLimit = { maxLength: 64 };

/** A list of enum values (SignalKind, ...): duplicates are harmless, a huge list is not. */
export const ENUM_LIST: InputLimit = { maxItems: 50 };

/**
 * The distinct asset ids of an `assetIds` argument, in first-seen order; BAD_USER_INPUT unless there
 * are 1 to `max` of them.
 */
export function distinctAssetIds(assetIds: readonly (string | number)[], max: number): string[] {
  const ids = [...new Set(assetIds.map(String))];
  if (ids.length === 0 || ids.length > max) {
    throw badUserInput(`assetIds must name 1 to ${max} assets, got ${ids.length}`, 'assetIds');
  }
  return ids;
}
