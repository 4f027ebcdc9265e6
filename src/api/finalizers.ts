// Finalizers on any object: has, add and remove, each returning a copy (never mutating), so
// decisions stay pure and a write happens only when something changed.
import { withFields } from './with-fields.js';

interface WithFinalizers {
  metadata: { finalizers?: string[] };
}

export function hasFinalizer(obj: WithFinalizers, finalizer: string): boolean {
  return obj.metadata.finalizers?.includes(finalizer) ?? false;
}

/** `obj` itself when it already has the finalizer, else a copy with it appended. */
export function withFinalizer<T extends WithFinalizers>(obj: T, finalizer: string): T {
  if (hasFinalizer(obj, finalizer)) return obj;
  return {
    ...obj,
    metadata: withFields(obj.metadata, { finalizers: [...(obj.metadata.finalizers ?? []), finalizer] }),
  };
}

/** `obj` itself when it lacks the finalizer, else a copy without it (no empty list is left behind). */
export function withoutFinalizer<T extends WithFinalizers>(obj: T, finalizer: string): T {
  if (!hasFinalizer(obj, finalizer)) return obj;
  const { finalizers = [], ...metadata } = obj.metadata;
  const kept = finalizers.filter((f) => f !== finalizer);
  return { ...obj, metadata: kept.length > 0 ? { ...metadata, finalizers: kept } : metadata };
}
