// The snapshot controller's decisions for a content and for a source claim (PURE): the content's
// finalizer, deleting a content whose snapshot is gone (deletionPolicy Delete; Retain keeps it),
// and releasing a claim once no snapshot is being taken of it.
import { hasFinalizer } from '../api/finalizers.js';
import type { VolumeSnapshot, VolumeSnapshotContent } from '../api/snapshot-types.js';
import type { PersistentVolumeClaim } from '../api/types.js';
import { FINALIZER_CONTENT_BOUND, FINALIZER_PVC_AS_SOURCE } from '../volume/snapshot-names.js';

export type ContentAction =
  | { type: 'skip' }
  | { type: 'addFinalizer' }
  /** Its snapshot is gone and the policy is Delete: mark it and delete it (the sidecar deletes the snapshot). */
  | { type: 'delete' };

/** `snapshot`: the object at the content's volumeSnapshotRef (namespace/name), if any. */
export function decideContent(
  content: VolumeSnapshotContent,
  snapshot: VolumeSnapshot | undefined,
): ContentAction {
  if (content.metadata.deletionTimestamp) return { type: 'skip' };
  const ref = content.spec.volumeSnapshotRef;
  const orphaned = !!ref.uid && (!snapshot || snapshot.metadata.uid !== ref.uid);
  if (orphaned) return content.spec.deletionPolicy === 'Delete' ? { type: 'delete' } : { type: 'skip' };
  if (!hasFinalizer(content, FINALIZER_CONTENT_BOUND)) return { type: 'addFinalizer' };
  return { type: 'skip' };
}

/** True while a snapshot of the claim is still being taken (so the claim must stay). */
export function claimIsSnapshotSource(
  claim: PersistentVolumeClaim,
  snapshots: readonly VolumeSnapshot[],
): boolean {
  return snapshots.some(
    (s) =>
      s.metadata.namespace === claim.metadata.namespace &&
      s.spec.source.persistentVolumeClaimName === claim.metadata.name &&
      !s.metadata.deletionTimestamp &&
      s.status?.readyToUse !== true,
  );
}

export function claimReleasable(claim: PersistentVolumeClaim, snapshots: readonly VolumeSnapshot[]): boolean {
  return hasFinalizer(claim, FINALIZER_PVC_AS_SOURCE) && !claimIsSnapshotSource(claim, snapshots);
}
