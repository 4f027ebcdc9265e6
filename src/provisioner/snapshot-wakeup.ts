// A claim restoring from a VolumeSnapshot that is not ready yet fails and backs off; it is looked
// at again the moment its snapshot becomes ready, not at the end of its back-off. The provisioner
// watches VolumeSnapshots only from the first claim that restores from one, so a cluster without
// the snapshot API (no snapshot CRDs) is never asked to list them.
import { K } from '../api/kinds.js';
import type { VolumeSnapshot } from '../api/snapshot-types.js';
import type { PersistentVolumeClaim } from '../api/types.js';
import { claimsBySnapshotSource } from '../machinery/indexes.js';
import type { Informer } from '../machinery/informer.js';
import { keyOf } from '../machinery/informer.js';
import type { ControllerInformers } from '../machinery/shared-cache.js';
import { claimDataSource } from '../volume/data-source.js';

/** The claims a snapshot event wakes: those still restoring from it, when it has just become ready. */
export function claimsToWake(
  old: VolumeSnapshot | undefined,
  snapshot: VolumeSnapshot,
  restoringFrom: (snapshotKey: string) => readonly PersistentVolumeClaim[],
): string[] {
  if (snapshot.status?.readyToUse !== true || old?.status?.readyToUse === true) return [];
  if (snapshot.metadata.deletionTimestamp) return [];
  return restoringFrom(keyOf(snapshot))
    .filter((c) => c.status?.phase !== 'Bound' && !c.metadata.deletionTimestamp)
    .map(keyOf);
}

export class SnapshotWakeup {
  private readonly informers: ControllerInformers;
  private readonly claims: Informer<PersistentVolumeClaim>;
  private readonly wake: (claimKey: string) => void;
  private watching = false;

  /** `claims` must carry the claimsBySnapshotSource index. */
  constructor(
    informers: ControllerInformers,
    claims: Informer<PersistentVolumeClaim>,
    wake: (claimKey: string) => void,
  ) {
    this.informers = informers;
    this.claims = claims;
    this.wake = wake;
  }

  /** Told of every claim the provisioner sees; the first that restores from a snapshot starts the watch. */
  claimSeen(claim: PersistentVolumeClaim): void {
    if (this.watching || claimDataSource(claim)?.kind !== 'VolumeSnapshot') return;
    this.watching = true;
    const snapshots = this.informers.informer<VolumeSnapshot>(K.vs);
    const changed = (old: VolumeSnapshot | undefined, snapshot: VolumeSnapshot) => {
      for (const key of claimsToWake(old, snapshot, (k) => this.claims.byIndex(claimsBySnapshotSource, k)))
        this.wake(key);
    };
    this.informers.on(snapshots, {
      onAdd: (s) => changed(undefined, s),
      onUpdate: (old, s) => changed(old, s),
    });
    snapshots.start();
  }
}
