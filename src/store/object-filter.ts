// The namespace + label selector + field selector filter that lists and watches apply.
import type { KubeObject } from '../api/meta.js';
import { parseFieldSelector, parseLabelSelector } from '../api/selectors.js';
import type { ListOptions } from './types.js';

export interface ObjectFilter {
  namespace: string | undefined;
  /** Whether a label or field selector narrows it (else the namespace alone decides). */
  selects: boolean;
  matches(obj: KubeObject): boolean;
}

/** Throws a 400 StatusError naming the selector when one does not parse. */
export function compileFilter(options: ListOptions = {}): ObjectFilter {
  const labels = options.labelSelector ? parseLabelSelector(options.labelSelector) : undefined;
  const fields = options.fieldSelector ? parseFieldSelector(options.fieldSelector) : undefined;
  const namespace = options.namespace || undefined;
  return {
    namespace,
    selects: labels !== undefined || fields !== undefined,
    matches: (obj) =>
      (namespace === undefined || obj.metadata.namespace === namespace) &&
      (labels === undefined || labels.matches(obj.metadata.labels)) &&
      (fields === undefined || fields.matches(obj)),
  };
}
