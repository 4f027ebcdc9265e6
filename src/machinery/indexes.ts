// The indexes controllers look objects up by, defined once: controllers that share one informer
// add the same definition, so it is filed once and means the same to all of them.
import type { KubeObject } from '../api/meta.js';
import type {
  CSINode,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  VolumeAttachment,
} from '../api/types.js';
import { claimDataSource } from '../volume/data-source.js';
import { volumeClass } from '../volume/match.js';
import { podClaimKeys } from '../volume/pods.js';
import { defineIndex } from './indexed-cache.js';

const one = (value: string | undefined): string[] => (value ? [value] : []);

/** Any namespaced object, by its namespace. */
export const byNamespace = defineIndex<KubeObject>('namespace', (o) => [o.metadata.namespace ?? '']);

/** Pods by spec.nodeName (unscheduled pods are in no entry). */
export const podsByNode = defineIndex<Pod>('node', (p) => one(p.spec.nodeName));
/** Pods by "namespace/name" of each claim they use (generic ephemeral ones included). */
export const podsByClaim = defineIndex<Pod>('claim', podClaimKeys);
export const podsByUID = defineIndex<Pod>('uid', (p) => one(p.metadata.uid));

/** Claims by spec.volumeName. */
export const claimsByVolume = defineIndex<PersistentVolumeClaim>('volume', (c) => one(c.spec.volumeName));

/** Claims by "namespace/name" of the VolumeSnapshot their dataSource (or dataSourceRef) restores from. */
export const claimsBySnapshotSource = defineIndex<PersistentVolumeClaim>('snapshot-source', (c) => {
  const source = claimDataSource(c);
  return source?.kind === 'VolumeSnapshot'
    ? [`${source.namespace ?? c.metadata.namespace ?? ''}/${source.name}`]
    : [];
});

/** Volumes by "namespace/name" of spec.claimRef. */
export const volumesByClaim = defineIndex<PersistentVolume>('claim', (v) =>
  v.spec.claimRef?.name ? [`${v.spec.claimRef.namespace ?? ''}/${v.spec.claimRef.name}`] : [],
);
/** CSI volumes by spec.csi.driver. */
export const volumesByDriver = defineIndex<PersistentVolume>('driver', (v) => one(v.spec.csi?.driver));
export const volumesByClass = defineIndex<PersistentVolume>('class', (v) => [volumeClass(v)]);

export const attachmentsByVolume = defineIndex<VolumeAttachment>('volume', (va) =>
  one(va.spec.source.persistentVolumeName),
);
export const attachmentsByNode = defineIndex<VolumeAttachment>('node', (va) => one(va.spec.nodeName));

/** CSINodes by the name of each driver registered on them. */
export const csiNodesByDriver = defineIndex<CSINode>('driver', (n) => n.spec.drivers.map((d) => d.name));
