// The namespace controller's decision (PURE), as Kubernetes' namespace deleter makes it: a
// namespace being deleted that still holds the `kubernetes` finalizer has everything in it deleted
// (objects already being deleted are left to finish); once nothing is left, the finalizer comes
// off through /finalize and the store removes the namespace. Meanwhile its conditions say what is
// left and which finalizers hold it, with upstream's types, reasons and messages.
import type { KindInfo } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import { FINALIZER_KUBERNETES, namespaceFinalizers } from '../api/namespace-lifecycle.js';
import { rfc3339Seconds } from '../store/object-rules.js';

export interface NamespaceCondition {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
  lastTransitionTime?: string;
}

/** What is in the namespace now, one entry per namespaced kind. */
export interface NamespaceContent {
  kind: KindInfo;
  objects: readonly KubeObject[];
}

export type NamespaceAction =
  | { kind: 'Delete'; of: KindInfo; name: string; uid: string | undefined }
  | { kind: 'SetConditions'; conditions: NamespaceCondition[] }
  | { kind: 'Finalize'; finalizers: string[] };

export interface NamespaceDecision {
  actions: NamespaceAction[];
  /** True while objects remain: look again later (with back-off). */
  contentRemains: boolean;
}

/** Whether the controller has work on this namespace: deleting, still holding its finalizer. */
export function isBeingEmptied(namespace: KubeObject): boolean {
  return (
    namespace.metadata.deletionTimestamp !== undefined &&
    namespaceFinalizers(namespace).includes(FINALIZER_KUBERNETES)
  );
}

export function decideNamespace(
  namespace: KubeObject,
  content: readonly NamespaceContent[],
  now: Date,
): NamespaceDecision {
  if (!isBeingEmptied(namespace)) return { actions: [], contentRemains: false };
  const actions: NamespaceAction[] = [];
  for (const { kind, objects } of content) {
    for (const obj of objects) {
      if (obj.metadata.deletionTimestamp) continue;
      actions.push({ kind: 'Delete', of: kind, name: obj.metadata.name ?? '', uid: obj.metadata.uid });
    }
  }
  const remaining = content.filter((c) => c.objects.length > 0);
  const existing = namespaceConditions(namespace);
  const conditions = withTransitionTimes(contentConditions(remaining), existing, now);
  if (!sameConditions(conditions, existing)) {
    actions.push({ kind: 'SetConditions', conditions });
  }
  if (remaining.length === 0) {
    const finalizers = namespaceFinalizers(namespace).filter((f) => f !== FINALIZER_KUBERNETES);
    actions.push({ kind: 'Finalize', finalizers });
  }
  return { actions, contentRemains: remaining.length > 0 };
}

/** NamespaceContentRemaining and NamespaceFinalizersRemaining, as the namespace deleter words them. */
function contentConditions(remaining: readonly NamespaceContent[]): NamespaceCondition[] {
  const counts = remaining
    .map((c) => `${c.kind.plural}.${c.kind.group} has ${c.objects.length} resource instances`)
    .sort();
  const byFinalizer = new Map<string, number>();
  for (const c of remaining) {
    for (const obj of c.objects) {
      for (const f of obj.metadata.finalizers ?? []) byFinalizer.set(f, (byFinalizer.get(f) ?? 0) + 1);
    }
  }
  const finalizers = [...byFinalizer].map(([f, n]) => `${f} in ${n} resource instances`).sort();
  return [
    counts.length > 0
      ? {
          type: 'NamespaceContentRemaining',
          status: 'True',
          reason: 'SomeResourcesRemain',
          message: `Some resources are remaining: ${counts.join(', ')}`,
        }
      : {
          type: 'NamespaceContentRemaining',
          status: 'False',
          reason: 'ContentRemoved',
          message: 'All content successfully removed',
        },
    finalizers.length > 0
      ? {
          type: 'NamespaceFinalizersRemaining',
          status: 'True',
          reason: 'SomeFinalizersRemain',
          message: `Some content in the namespace has finalizers remaining: ${finalizers.join(', ')}`,
        }
      : {
          type: 'NamespaceFinalizersRemaining',
          status: 'False',
          reason: 'ContentHasNoFinalizers',
          message: 'All content-preserving finalizers finished',
        },
  ];
}

function namespaceConditions(namespace: KubeObject): NamespaceCondition[] {
  const conditions = (namespace['status'] as { conditions?: unknown } | undefined)?.conditions;
  return Array.isArray(conditions) ? (conditions as NamespaceCondition[]) : [];
}

/** A condition keeps its transition time while its status stays; other conditions are kept. */
function withTransitionTimes(
  wanted: NamespaceCondition[],
  existing: NamespaceCondition[],
  now: Date,
): NamespaceCondition[] {
  const stamped = wanted.map((c) => {
    const before = existing.find((e) => e.type === c.type);
    const lastTransitionTime =
      before?.status === c.status && before.lastTransitionTime
        ? before.lastTransitionTime
        : rfc3339Seconds(now);
    return { ...c, lastTransitionTime };
  });
  const others = existing.filter((e) => !wanted.some((c) => c.type === e.type));
  return [...others, ...stamped];
}

function sameConditions(a: NamespaceCondition[], b: NamespaceCondition[]): boolean {
  const key = (c: NamespaceCondition) => `${c.type}\u0000${c.status}\u0000${c.reason}\u0000${c.message}`;
  return a.length === b.length && a.every((c, i) => b[i] !== undefined && key(c) === key(b[i]));
}
