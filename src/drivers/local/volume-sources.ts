// CreateVolume with a content source: the new volume's backing file is a copy of a snapshot's
// (restore) or of another volume's, taken consistently (clone). The volume must have the source's
// access type and filesystem, and at least its size.
import { csiError, status } from '../../csi/errors.js';
import type { VolumeContentSource } from '../../csi/types.js';
import type { LocalDriverContext } from './context.js';
import { findSnapshot, findVolume } from './find.js';
import type { VolumeShape } from './decide.js';
import { copyVolume, snapshotLockKey } from './snapshots.js';
import type { LocalVolume } from './volume-store.js';

/** The id of the snapshot or volume a request names as its source, or undefined. */
export function contentSourceId(source: VolumeContentSource | null | undefined): string | undefined {
  return source?.snapshot?.snapshot_id || source?.volume?.volume_id || undefined;
}

function checkFits(what: string, source: VolumeShape & { bytes: bigint }, shape: VolumeShape, size: bigint) {
  if (source.accessType !== shape.accessType || source.fsType !== shape.fsType) {
    const describe = (s: VolumeShape) => (s.accessType === 'block' ? 'block' : `${s.fsType} filesystem`);
    throw csiError(
      status.INVALID_ARGUMENT,
      `${what} holds a ${describe(source)}; a ${describe(shape)} volume cannot be made from it`,
    );
  }
  if (size < source.bytes) {
    throw csiError(
      status.OUT_OF_RANGE,
      `requested size ${size} is smaller than the ${source.bytes} bytes of ${what}`,
    );
  }
}

/** Copies the source to the new volume's backing file and records the volume. The caller holds `key`. */
export async function createFromSource(
  ctx: LocalDriverContext,
  request: { name: string; key: string; shape: VolumeShape; size: bigint; source: VolumeContentSource },
): Promise<LocalVolume> {
  const { name, key, shape, size, source } = request;
  const target = ctx.store.copyTarget(key);
  const volume = { key, name, capacityBytes: size, ...shape };
  if (source.snapshot?.snapshot_id) {
    const id = source.snapshot.snapshot_id;
    const snapshot = await findSnapshot(ctx, id);
    checkFits(`snapshot ${id}`, { ...snapshot, bytes: snapshot.sizeBytes }, shape, size);
    await ctx.locks.with(snapshotLockKey(snapshot.key), () =>
      ctx.copies.copySparse(ctx.snapshots.imagePath(snapshot.key), target),
    );
    return ctx.store.recordCopy({ ...volume, contentSource: id });
  }
  const id = source.volume?.volume_id ?? '';
  if (!id)
    throw csiError(status.INVALID_ARGUMENT, 'volume_content_source names neither a snapshot nor a volume');
  const sourceVolume = await findVolume(ctx, id);
  checkFits(`volume ${id}`, { ...sourceVolume, bytes: sourceVolume.capacityBytes }, shape, size);
  await ctx.locks.with(sourceVolume.key, () => copyVolume(ctx, sourceVolume, target));
  return ctx.store.recordCopy({ ...volume, contentSource: id });
}
