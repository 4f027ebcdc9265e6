// Entry points the API server uses for every write: decode, default, validate.
// (Filled in by the object-model work; the signatures are the contract.)
import type { KubeObject } from './meta.js';

/**
 * Checks a create: throws StatusError 422 (reason Invalid, causes naming each field) or
 * 400/404-style errors for an unknown kind. Returns the defaulted object.
 */
export function prepareCreate(obj: KubeObject): KubeObject {
  return obj;
}

/** Checks an update against the stored object (immutable fields, ...). Returns the defaulted object. */
export function prepareUpdate(obj: KubeObject, _old: KubeObject): KubeObject {
  return obj;
}
