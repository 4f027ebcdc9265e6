// The csi-snapshotter sidecar's decisions for one content of its driver (PURE): take the snapshot
// (CreateSnapshot, repeated until it is ready: the call is idempotent by name), learn the state
// of a pre-provisioned one (ListSnapshots), delete the physical snapshot when the content goes
// with deletionPolicy Delete, then release the content's finalizer.
import { hasFinalizer } from '../api/finalizers.js';
import type { VolumeSnapshotContent } from '../api/snapshot-types.js';
import {
  ANN_SNAPSHOT_BEING_CREATED,
  ANN_SNAPSHOT_BEING_DELETED,
  CSI_PARAMETER_PREFIX,
  FINALIZER_CONTENT_BOUND,
} from '../volume/snapshot-names.js';

export type SnapshotterDecision =
  | { type: 'skip' }
  /** CreateSnapshot (first time, or again to learn readiness); `then` says what follows. */
  | { type: 'create' }
  /** A pre-provisioned snapshot: ListSnapshots by its handle (or, without LIST_SNAPSHOTS, trust it). */
  | { type: 'check'; handle: string }
  | { type: 'delete'; handle: string }
  | { type: 'release' }
  /** The content is going but its snapshot still uses it: nothing until the snapshot goes. */
  | { type: 'wait'; reason: string };

export interface ContentContext {
  /** The snapshot the content is bound to exists (same uid) and is not being deleted. */
  snapshotAlive: boolean;
}

/** The handle of the physical snapshot, once known. */
export function snapshotHandleOf(content: VolumeSnapshotContent): string | undefined {
  return content.status?.snapshotHandle || content.spec.source.snapshotHandle || undefined;
}

export function decideSnapshotter(content: VolumeSnapshotContent, ctx: ContentContext): SnapshotterDecision {
  const handle = snapshotHandleOf(content);
  if (content.metadata.deletionTimestamp) {
    if (!hasFinalizer(content, FINALIZER_CONTENT_BOUND)) return { type: 'skip' };
    if (content.spec.deletionPolicy !== 'Delete') return { type: 'release' };
    const marked = content.metadata.annotations?.[ANN_SNAPSHOT_BEING_DELETED] === 'yes';
    if (ctx.snapshotAlive && !marked) {
      return {
        type: 'wait',
        reason: 'the VolumeSnapshot bound to it still exists; delete the VolumeSnapshot',
      };
    }
    if (handle) return { type: 'delete', handle };
    // CreateSnapshot may have succeeded without an answer: ask again (same name) to learn the handle.
    if (
      content.spec.source.volumeHandle &&
      content.metadata.annotations?.[ANN_SNAPSHOT_BEING_CREATED] === 'yes'
    )
      return { type: 'create' };
    return { type: 'release' };
  }
  if (content.status?.readyToUse === true) return { type: 'skip' };
  if (content.spec.source.volumeHandle) return { type: 'create' };
  if (content.spec.source.snapshotHandle)
    return { type: 'check', handle: content.spec.source.snapshotHandle };
  return { type: 'skip' };
}

/** Class parameters the driver sees: the csi.storage.k8s.io/ keys are the sidecar's own. */
export function driverParameters(parameters: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(parameters ?? {}).filter(([key]) => !key.startsWith(CSI_PARAMETER_PREFIX)),
  );
}
