// A StatefulSet's stable identities: pod "<set>-<ordinal>", claim "<template>-<set>-<ordinal>",
// and the objects built from the set's templates for one ordinal. Pure.
import type { OwnerReference } from '../api/meta.js';
import type { PersistentVolumeClaim, Pod, StatefulSet, Volume } from '../api/types.js';

export const LABEL_POD_NAME = 'statefulset.kubernetes.io/pod-name';
export const LABEL_POD_INDEX = 'apps.kubernetes.io/pod-index';

export function podName(set: StatefulSet, ordinal: number): string {
  return `${set.metadata.name ?? ''}-${ordinal}`;
}

export function claimName(templateName: string, set: StatefulSet, ordinal: number): string {
  return `${templateName}-${set.metadata.name ?? ''}-${ordinal}`;
}

/** The ordinal in "<set>-<ordinal>", or undefined when the name is not one of the set's. */
export function ordinalOf(set: StatefulSet, name: string): number | undefined {
  const prefix = `${set.metadata.name ?? ''}-`;
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  if (!/^(0|[1-9]\d*)$/.test(rest)) return undefined;
  const n = Number(rest);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The ordinal of a claim named "<template>-<set>-<ordinal>" for one of the set's templates. */
export function claimOrdinalOf(set: StatefulSet, name: string): number | undefined {
  for (const template of set.spec.volumeClaimTemplates ?? []) {
    const prefix = `${template.metadata.name ?? ''}-`;
    if (!name.startsWith(prefix)) continue;
    const ordinal = ordinalOf(set, name.slice(prefix.length));
    if (ordinal !== undefined) return ordinal;
  }
  return undefined;
}

export function setOwnerReference(set: StatefulSet, controller: boolean): OwnerReference {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    name: set.metadata.name ?? '',
    uid: set.metadata.uid ?? '',
    ...(controller ? { controller: true, blockOwnerDeletion: true } : {}),
  };
}

/** The set's controller reference on a pod, if the pod is the set's. */
export function isOwnedBy(
  obj: { metadata: { ownerReferences?: OwnerReference[] } },
  set: StatefulSet,
): boolean {
  return (obj.metadata.ownerReferences ?? []).some(
    (r) => r.controller === true && r.uid === set.metadata.uid,
  );
}

export function referencesSet(claim: PersistentVolumeClaim, set: StatefulSet): boolean {
  return (claim.metadata.ownerReferences ?? []).some((r) => r.uid === set.metadata.uid);
}

export function retentionPolicy(set: StatefulSet): {
  whenDeleted: 'Retain' | 'Delete';
  whenScaled: 'Retain' | 'Delete';
} {
  const policy = set.spec.persistentVolumeClaimRetentionPolicy;
  return { whenDeleted: policy?.whenDeleted ?? 'Retain', whenScaled: policy?.whenScaled ?? 'Retain' };
}

/**
 * The claims for one ordinal. Labels are the template's plus the set's matchLabels; the set owns
 * a claim only when its policy deletes claims with the set.
 */
export function buildClaims(set: StatefulSet, ordinal: number): PersistentVolumeClaim[] {
  const ownedBySet = retentionPolicy(set).whenDeleted === 'Delete';
  return (set.spec.volumeClaimTemplates ?? []).map((template) => {
    const meta = structuredClone(template.metadata);
    const claim: PersistentVolumeClaim = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: claimName(template.metadata.name ?? '', set, ordinal),
        namespace: set.metadata.namespace ?? 'default',
        labels: { ...meta.labels, ...set.spec.selector.matchLabels },
        ...(meta.annotations ? { annotations: meta.annotations } : {}),
        ...(ownedBySet ? { ownerReferences: [setOwnerReference(set, false)] } : {}),
      },
      spec: structuredClone(template.spec),
    };
    return claim;
  });
}

/** The pod for one ordinal: the template, its identity, and one volume per claim template. */
export function buildPod(set: StatefulSet, ordinal: number): Pod {
  const name = podName(set, ordinal);
  const template = structuredClone(set.spec.template);
  const claimVolumes: Volume[] = (set.spec.volumeClaimTemplates ?? []).map((t) => ({
    name: t.metadata.name ?? '',
    persistentVolumeClaim: { claimName: claimName(t.metadata.name ?? '', set, ordinal) },
  }));
  const claimVolumeNames = new Set(claimVolumes.map((v) => v.name));
  const volumes = [
    ...(template.spec.volumes ?? []).filter((v) => !claimVolumeNames.has(v.name)),
    ...claimVolumes,
  ];
  const meta = template.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: set.metadata.namespace ?? 'default',
      labels: { ...meta.labels, [LABEL_POD_NAME]: name, [LABEL_POD_INDEX]: String(ordinal) },
      ...(meta.annotations ? { annotations: meta.annotations } : {}),
      ownerReferences: [setOwnerReference(set, true)],
    },
    spec: {
      ...template.spec,
      hostname: name,
      ...(set.spec.serviceName ? { subdomain: set.spec.serviceName } : {}),
      ...(volumes.length > 0 ? { volumes } : {}),
    },
  };
}
