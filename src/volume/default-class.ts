// The default StorageClass (Kubernetes' GetDefaultClass), one rule for the API server's
// DefaultStorageClass admission, the binder's late assignment, and the printers' "(default)".
import type { KubeObject } from '../api/meta.js';
import { ANN_BETA_IS_DEFAULT_CLASS, ANN_IS_DEFAULT_CLASS } from './annotations.js';

/** A class annotated default, by the GA or the beta annotation. */
export function isDefaultClass(storageClass: Pick<KubeObject, 'metadata'>): boolean {
  const annotations = storageClass.metadata.annotations ?? {};
  return annotations[ANN_IS_DEFAULT_CLASS] === 'true' || annotations[ANN_BETA_IS_DEFAULT_CLASS] === 'true';
}

/** Among the default classes the newest wins; equal (or missing) times go by name, as Go compares strings. */
export function defaultClass<T extends Pick<KubeObject, 'metadata'>>(classes: Iterable<T>): T | undefined {
  const created = (c: T): number => {
    const ms = Date.parse(c.metadata.creationTimestamp ?? '');
    return Number.isNaN(ms) ? -Infinity : ms;
  };
  const defaults = [...classes].filter(isDefaultClass);
  defaults.sort((a, b) => {
    const ta = created(a);
    const tb = created(b);
    if (ta !== tb) return ta > tb ? -1 : 1;
    const na = a.metadata.name ?? '';
    const nb = b.metadata.name ?? '';
    return na < nb ? -1 : na > nb ? 1 : 0;
  });
  return defaults[0];
}
