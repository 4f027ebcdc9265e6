// Names of the snapshot machinery that several components share (the snapshot controller, the
// snapshotter sidecar, the provisioner's restore path, the API server's class admission).
import type { KubeObject } from '../api/meta.js';

const PREFIX = 'snapshot.storage.kubernetes.io';

/** A VolumeSnapshotClass annotated "true" is the default for its driver. */
export const ANN_IS_DEFAULT_SNAPSHOT_CLASS = `${PREFIX}/is-default-class`;
/** On a content: its snapshot is being deleted, so the sidecar may delete the physical snapshot. */
export const ANN_SNAPSHOT_BEING_DELETED = `${PREFIX}/volumesnapshot-being-deleted`;
/** On a content: CreateSnapshot was called and has not yet given a final answer. */
export const ANN_SNAPSHOT_BEING_CREATED = `${PREFIX}/volumesnapshot-being-created`;
/** Secrets for DeleteSnapshot, copied from the class parameters onto the content. */
export const ANN_DELETION_SECRET_NAME = `${PREFIX}/deletion-secret-name`;
export const ANN_DELETION_SECRET_NAMESPACE = `${PREFIX}/deletion-secret-namespace`;

/** On a snapshot: a claim is being provisioned from it. */
export const FINALIZER_SNAPSHOT_AS_SOURCE = `${PREFIX}/volumesnapshot-as-source-protection`;
/** On a snapshot: it is bound to a content whose deletionPolicy is Delete. */
export const FINALIZER_SNAPSHOT_BOUND = `${PREFIX}/volumesnapshot-bound-protection`;
/** On a content: the physical snapshot has not been deleted yet. */
export const FINALIZER_CONTENT_BOUND = `${PREFIX}/volumesnapshotcontent-bound-protection`;
/** On a claim: a snapshot is being taken from it. */
export const FINALIZER_PVC_AS_SOURCE = `${PREFIX}/pvc-as-source-protection`;

/** Class parameters with this prefix are for the sidecar (secrets), never passed to the driver. */
export const CSI_PARAMETER_PREFIX = 'csi.storage.k8s.io/';
export const SNAPSHOTTER_SECRET_NAME = 'csi.storage.k8s.io/snapshotter-secret-name';
export const SNAPSHOTTER_SECRET_NAMESPACE = 'csi.storage.k8s.io/snapshotter-secret-namespace';

export function isDefaultSnapshotClass(vsclass: Pick<KubeObject, 'metadata'>): boolean {
  return vsclass.metadata.annotations?.[ANN_IS_DEFAULT_SNAPSHOT_CLASS] === 'true';
}

/** The content a dynamically provisioned snapshot binds to: "snapcontent-" + the snapshot's uid. */
export function contentNameFor(snapshotUid: string): string {
  return `snapcontent-${snapshotUid}`;
}

/** The name CreateSnapshot gets (the driver's idempotency key): "snapshot-" + the snapshot's uid. */
export function csiSnapshotNameFor(snapshotUid: string): string {
  return `snapshot-${snapshotUid}`;
}
