// Approximate heap bytes of a cached value, for the in-process tier's byte bound. It walks the value
// once (no serialization, no allocation) and charges what V8 roughly spends on 64-bit: a header per
// object or array plus a slot per property or element, a boxed double per non-integer number, and
// strings by length (two bytes per character, the worst case). An estimate, not a measurement: it
// errs on the high side so the bound holds. Cached values are trees of plain data (objects, arrays,
// numbers, strings, Dates); below MAX_DEPTH levels nothing more is charged.

const OBJECT = 56;
const SLOT = 8;
const ARRAY = 32;
const HEAP_NUMBER = 16;
const STRING = 24;
const DATE = 88;
const MAX_DEPTH = 64;

export function estimateBytes(value: unknown): number {
  return walk(value, 0);
}

function walk(value: unknown, depth: number): number {
  switch (typeof value) {
    case 'number':
      return Number.isInteger(value) ? 0 : HEAP_NUMBER;
    case 'string':
      return STRING + 2 * value.length;
    case 'bigint':
      return STRING;
    case 'object':
      break;
    default:
      return 0;
  }
  if (value === null || depth > MAX_DEPTH) return 0;
  if (value instanceof Date) return DATE;
  if (Array.isArray(value)) {
    let bytes = ARRAY + SLOT * value.length;
    for (const item of value) bytes += walk(item, depth + 1);
    return bytes;
  }
  let bytes = OBJECT;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    bytes += SLOT + walk((value as Record<string, unknown>)[key], depth + 1);
  }
  return bytes;
}
