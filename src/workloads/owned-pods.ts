// What the ReplicaSet, Deployment and Job controllers share about the pods they own: controller
// references, pods built from a template, which pods count as active, ready and available, and
// the order in which surplus pods go (Kubernetes' ActivePods ranking). Pure.
import type { KubeObject, OwnerReference } from '../api/meta.js';
import type { Pod } from '../api/types.js';
import type { PodTemplate, WorkloadCondition } from '../api/workload-types.js';
import { isPodReady } from './decide.js';

export function controllerReference(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The uid of the object's controller, if it has one. */
export function controllerUid(obj: KubeObject): string | undefined {
  return (obj.metadata.ownerReferences ?? []).find((r) => r.controller === true)?.uid;
}

export function controlledBy<T extends KubeObject>(objects: readonly T[], owner: KubeObject): T[] {
  const uid = owner.metadata.uid;
  return uid ? objects.filter((o) => controllerUid(o) === uid) : [];
}

/** A pod for `owner` from its template: named "<prefix><5 random>", labelled, controller-owned. */
export function podFromTemplate(
  owner: KubeObject,
  template: PodTemplate,
  extraLabels: Record<string, string> = {},
): Pod {
  const meta = structuredClone(template.metadata ?? {});
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${owner.metadata.name ?? ''}-`,
      namespace: owner.metadata.namespace ?? 'default',
      labels: { ...meta.labels, ...extraLabels },
      ...(meta.annotations ? { annotations: meta.annotations } : {}),
      ownerReferences: [controllerReference(owner)],
    },
    spec: structuredClone(template.spec),
  };
}

export function isPodTerminal(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** Counts against replicas: not finished and not being deleted. */
export function isPodActive(pod: Pod): boolean {
  return !isPodTerminal(pod) && !pod.metadata.deletionTimestamp;
}

function readySince(pod: Pod): number | undefined {
  const ready = (pod.status?.conditions ?? []).find((c) => c.type === 'Ready' && c.status === 'True');
  const t = ready?.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : NaN;
  return Number.isFinite(t) ? t : undefined;
}

/** Ready for at least minReadySeconds. */
export function isPodAvailable(pod: Pod, minReadySeconds: number, now: Date): boolean {
  if (!isPodReady(pod)) return false;
  if (minReadySeconds <= 0) return true;
  const since = readySince(pod);
  return since !== undefined && since + minReadySeconds * 1000 <= now.getTime();
}

const phaseRank: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function restarts(pod: Pod): number {
  return (pod.status?.containerStatuses ?? []).reduce(
    (sum, c) => sum + (typeof c['restartCount'] === 'number' ? c['restartCount'] : 0),
    0,
  );
}

/**
 * Pods in the order they are deleted when there are too many: unscheduled before scheduled,
 * Pending before Running, not ready before ready, ready for less time first, more restarts first,
 * newer first.
 */
export function deletionOrder(pods: readonly Pod[]): Pod[] {
  const created = (p: Pod) => Date.parse(p.metadata.creationTimestamp ?? '') || 0;
  const key = (p: Pod): number[] => [
    p.spec.nodeName ? 1 : 0,
    phaseRank[p.status?.phase ?? 'Pending'] ?? 0,
    isPodReady(p) ? 1 : 0,
    -(readySince(p) ?? 0),
    -restarts(p),
    -created(p),
  ];
  return [...pods].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return (ka[i] ?? 0) - (kb[i] ?? 0);
    return (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
  });
}

export interface WantedCondition {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/**
 * Conditions with their times: lastTransitionTime moves only when the status changes,
 * lastUpdateTime (when `withUpdateTime`) whenever reason or message does.
 */
export function conditionsAt(
  old: readonly WorkloadCondition[],
  wanted: readonly WantedCondition[],
  now: string,
  withUpdateTime: boolean,
): WorkloadCondition[] {
  return wanted.map((w) => {
    const prev = old.find((c) => c.type === w.type);
    const sameStatus = prev?.status === w.status;
    const same = sameStatus && prev?.reason === w.reason && prev?.message === w.message;
    const lastTransitionTime = sameStatus && prev?.lastTransitionTime ? prev.lastTransitionTime : now;
    const lastUpdateTime = same && prev?.lastUpdateTime ? prev.lastUpdateTime : now;
    return withUpdateTime ? { ...w, lastUpdateTime, lastTransitionTime } : { ...w, lastTransitionTime };
  });
}

const MAX_INT32 = 2 ** 31 - 1;

/** A non-negative int32 field (replicas, counts), or `fallback` when it is missing or not one. */
export function count(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_INT32
    ? value
    : fallback;
}

export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
