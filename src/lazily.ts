// Per-request pieces most requests never touch are built on first use: a request served from the
// cache needs no sources, a subscription whose events carry their data needs no loaders.

/** `create()`'s value, computed on the first call and returned by every later one. */
export function once<T>(create: () => T): () => T {
  let made: { value: T } | undefined;
  return () => {
    if (!made) made = { value: create() };
    return made.value;
  };
}

/**
 * An object built on first property access. A Proxy rather than getters, because Yoga copies contexts
 * with Object.assign, which reads getters. Methods are read off the built object, so they must not
 * depend on `this` being the proxy.
 */
export function lazily<T extends object>(create: () => T): T {
  const value = once(create);
  return new Proxy({} as T, {
    get: (_target, key) => value()[key as keyof T],
  });
}
