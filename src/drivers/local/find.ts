// Looking up what an id names: NOT_FOUND when it is not (or no longer) on this node.
import { csiError, status } from '../../csi/errors.js';
import type { LocalDriverContext } from './context.js';
import { keyOfSnapshotId, keyOfVolumeId } from './names.js';
import type { LocalSnapshot } from './snapshot-store.js';
import type { LocalVolume } from './volume-store.js';

/** The volume behind an id, or NOT_FOUND. */
export async function findVolume(ctx: LocalDriverContext, id: string): Promise<LocalVolume> {
  const key = keyOfVolumeId(ctx.nodeId, id);
  const volume = key === undefined ? undefined : await ctx.store.get(key);
  if (!volume) throw csiError(status.NOT_FOUND, `volume ${id} does not exist on node ${ctx.nodeId}`);
  return volume;
}

/** The snapshot behind an id, or NOT_FOUND. */
export async function findSnapshot(ctx: LocalDriverContext, id: string): Promise<LocalSnapshot> {
  const key = keyOfSnapshotId(ctx.nodeId, id);
  const snapshot = key === undefined ? undefined : await ctx.snapshots.get(key);
  if (!snapshot) throw csiError(status.NOT_FOUND, `snapshot ${id} does not exist on node ${ctx.nodeId}`);
  return snapshot;
}
