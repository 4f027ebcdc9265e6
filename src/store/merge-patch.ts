// RFC 7386 JSON merge patch: objects merge key by key, null deletes a key, anything else replaces.
import { cloneJson } from '../api/clone-json.js';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Returns a new document; neither input is modified. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return cloneJson(patch);
  const result: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete result[key];
    } else {
      result[key] = applyMergePatch(result[key], value);
    }
  }
  return result;
}

/** The merge patch that turns `from` into `to` (the inverse of applyMergePatch). */
export function createMergePatch(from: unknown, to: unknown): unknown {
  if (!isPlainObject(from) || !isPlainObject(to)) return cloneJson(to);
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(from)) {
    if (!Object.hasOwn(to, key)) patch[key] = null;
  }
  for (const [key, value] of Object.entries(to)) {
    if (!Object.hasOwn(from, key)) {
      patch[key] = cloneJson(value);
    } else if (!deepEqual(from[key], value)) {
      patch[key] = createMergePatch(from[key], value);
    }
  }
  return patch;
}

/**
 * Freezes a JSON value and everything in it, so an object shared with read-only callers cannot be
 * changed behind the store's back. A frozen object is taken to be frozen all through (only this
 * function freezes), so freezing it again costs nothing.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) freezeAll(value);
  return value;
}

// Informers freeze every object the store holds at start (100k at scale): children are tested
// before the call, and keys walked with for-in (own keys only for JSON values, whose prototype is
// Object.prototype or null) rather than an Object.keys array per object, about twice as fast.
function freezeAll(value: object): void {
  Object.freeze(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' && item !== null && !Object.isFrozen(item)) freezeAll(item);
    }
    return;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) {
    const item = record[key];
    if (typeof item === 'object' && item !== null && !Object.isFrozen(item)) freezeAll(item);
  }
}

/** Structural equality of JSON values (key order does not matter). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bArray = b as unknown[];
    return a.length === bArray.length && a.every((item, i) => deepEqual(item, bArray[i]));
  }
  const aRecord = a as Record<string, unknown>;
  const bRecord = b as Record<string, unknown>;
  const aKeys = Object.keys(aRecord).filter((k) => aRecord[k] !== undefined);
  const bKeys = Object.keys(bRecord).filter((k) => bRecord[k] !== undefined);
  return aKeys.length === bKeys.length && aKeys.every((k) => deepEqual(aRecord[k], bRecord[k]));
}
