// Copies of JSON objects with some fields set, for the write path's hot spots. An object literal
// that spreads an object and then adds keys the object lacks ({ ...meta, resourceVersion }) is
// slow in V8 (Node 20): an object made by a spread gets a map of its own, so each key added to it
// makes a new map (about 2 µs a key on this hardware). Built key by key from {} instead, the
// maps are shared and cached, and the result is the same object, keys in the same order.

/** Sets a key unless the value is undefined; an own "__proto__" key stays a key, as a spread keeps it. */
function putDefined(out: Record<string, unknown>, key: string, value: unknown): void {
  if (value === undefined) return;
  if (key !== '__proto__') out[key] = value;
  else Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * `{ ...base, ...fields }` without the keys whose value is undefined (undefined means "absent"
 * here: a field set to undefined is removed), keys in the same order as the spread gives them.
 * Shallow: the values are shared with `base` and `fields`.
 */
export function withFields<T extends object>(base: T, fields: { [K in keyof T]?: T[K] | undefined }): T {
  const out: Record<string, unknown> = {};
  const from = base as Record<string, unknown>;
  const given = fields as Record<string, unknown>;
  for (const key of Object.keys(from))
    putDefined(out, key, Object.hasOwn(given, key) ? given[key] : from[key]);
  for (const key of Object.keys(given)) if (!Object.hasOwn(from, key)) putDefined(out, key, given[key]);
  return out as T;
}
