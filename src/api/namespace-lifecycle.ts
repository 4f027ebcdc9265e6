// A namespace's life, as Kubernetes' namespace strategy, NamespaceLifecycle admission and namespace
// controller share it: a new namespace is Active and carries the `kubernetes` finalizer in
// spec.finalizers; a delete makes it Terminating, and it is removed only once the namespace
// controller has emptied it and taken that finalizer off (the /finalize subresource). Nothing new
// may be created in a Terminating namespace, and three namespaces may never be deleted.
import { StatusError } from './errors.js';
import type { KubeObject } from './meta.js';

/** spec.finalizers' entry the namespace controller removes once the namespace is empty. */
export const FINALIZER_KUBERNETES = 'kubernetes';

/** NamespaceLifecycle's immortal namespaces. */
export const IMMORTAL_NAMESPACES: ReadonlySet<string> = new Set(['default', 'kube-system', 'kube-public']);

export function isNamespace(obj: KubeObject): boolean {
  return obj.kind === 'Namespace';
}

/** spec.finalizers of a namespace (none for any other kind). */
export function namespaceFinalizers(obj: KubeObject): string[] {
  if (!isNamespace(obj)) return [];
  const finalizers = (obj['spec'] as { finalizers?: unknown } | undefined)?.finalizers;
  return Array.isArray(finalizers) ? finalizers.filter((f): f is string => typeof f === 'string') : [];
}

/** Whether a delete of `obj` only marks it: metadata finalizers, or a namespace's spec finalizers. */
export function deletionIsHeld(obj: KubeObject): boolean {
  return (obj.metadata.finalizers ?? []).length > 0 || namespaceFinalizers(obj).length > 0;
}

/** As NamespaceLifecycle decides it: by the namespace's phase. */
export function isNamespaceTerminating(namespace: KubeObject): boolean {
  return (namespace['status'] as { phase?: unknown } | undefined)?.phase === 'Terminating';
}

/** A namespace as a delete leaves it while its finalizers hold it: marked, and Terminating. */
export function withTerminatingPhase(namespace: KubeObject): KubeObject {
  const status = (namespace['status'] ?? {}) as Record<string, unknown>;
  return { ...namespace, status: { ...status, phase: 'Terminating' } };
}

/** A new namespace, as the namespace strategy prepares it: Active, with the `kubernetes` finalizer. */
export function asNewNamespace(namespace: KubeObject): KubeObject {
  if (!isNamespace(namespace)) return namespace;
  const spec = (namespace['spec'] ?? {}) as Record<string, unknown>;
  const finalizers = namespaceFinalizers(namespace);
  return {
    ...namespace,
    spec: {
      ...spec,
      finalizers: finalizers.includes(FINALIZER_KUBERNETES)
        ? finalizers
        : [...finalizers, FINALIZER_KUBERNETES],
    },
    status: { phase: 'Active' },
  };
}

/** 403 for a create in a Terminating namespace, with NamespaceLifecycle's message and cause. */
export function namespaceTerminating(
  resource: string,
  group: string,
  name: string,
  namespace: string,
): StatusError {
  const qualified = group ? `${resource}.${group}` : resource;
  const why = `unable to create new content in namespace ${namespace} because it is being terminated`;
  const subject = name ? `${qualified} "${name}"` : qualified;
  return new StatusError(403, 'Forbidden', `${subject} is forbidden: ${why}`, {
    name,
    group,
    kind: resource,
    causes: [{ reason: 'NamespaceTerminating', message: why, field: 'metadata.namespace' }],
  });
}

/** 403 for a delete of default, kube-system or kube-public. */
export function namespaceUndeletable(name: string): StatusError {
  return new StatusError(
    403,
    'Forbidden',
    `namespaces "${name}" is forbidden: this namespace may not be deleted`,
    {
      name,
      kind: 'namespaces',
    },
  );
}
