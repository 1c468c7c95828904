import type { DeserializedData } from 'keyv';

// Keyv's serializer pair for the shared tier: the value as JSON with Dates tagged (`{"$date": ms}`) so
// they come back as Dates. Keyv's `expires` is left out on purpose: Redis expires each key itself, and
// a stamp read on another process's clock would make Keyv turn a read into a delete. Text that does
// not parse (another version's format, a stray key) reads as absent, never as a throw.

export function serializeTagged(data: DeserializedData<unknown>): string {
  return JSON.stringify(data.value, function (this: Record<string, unknown>, key, value) {
    const raw = this[key];
    return raw instanceof Date ? { $date: raw.getTime() } : value;
  });
}

export function deserializeTagged<Value>(text: string): DeserializedData<Value> | undefined {
  try {
    return { value: JSON.parse(text, revive) as Value };
  } catch {
    return undefined;
  }
}

function revive(_key: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const tagged = value as { $date?: unknown };
  return typeof tagged.$date === 'number' && Object.keys(value).length === 1 ? new Date(tagged.$date) : value;
}
