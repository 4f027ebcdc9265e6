// CreateVolume from a snapshot or from another volume: both become an `rbd clone` of a protected
// snapshot (the snapshot itself, or `csi-clone-<new uuid>` taken on the source volume for the
// purpose). Clone chains deeper than the soft limit are flattened in the background; at the hard
// limit the call answers ABORTED until the flatten is done, as ceph-csi does.
import { csiError, status } from '../../csi/errors.js';
import type { CapacityRange, VolumeContentSource } from '../../csi/types.js';
import { toBigInt } from '../../csi/types.js';
import { decideSize } from '../common/capacity.js';
import type { CephTarget } from './ceph-cli.js';
import type { RbdDriverContext } from './context.js';
import type { ImageSpec, SnapSpec } from './images.js';
import { cloneSnapshotName, imageName, parseVolumeId, snapshotName } from './names.js';
import { isReady } from './snapshot-journal.js';
import { locateVolumeImage } from './source-image.js';

export interface ResolvedSource {
  /** The protected snapshot a new volume (of this uuid) is cloned from. */
  parentFor(uuid: string): SnapSpec;
  sizeBytes: bigint;
  /** For a volume source: the snapshot on the source volume that the clone is made from. */
  volumeSource: boolean;
  contentSource: VolumeContentSource;
}

/** What the content source names, or NOT_FOUND; INVALID_ARGUMENT when it lives in another cluster. */
export async function resolveContentSource(
  ctx: RbdDriverContext,
  source: VolumeContentSource | null | undefined,
  target: CephTarget,
  clusterID: string,
): Promise<ResolvedSource | undefined> {
  const snapshotId = source?.snapshot?.snapshot_id;
  const volumeId = source?.volume?.volume_id;
  if (source?.snapshot && !snapshotId) throw csiError(status.INVALID_ARGUMENT, 'snapshot_id is required');
  if (source?.volume && !volumeId) throw csiError(status.INVALID_ARGUMENT, 'volume_id is required');
  const id = snapshotId ?? volumeId;
  if (!id) return undefined;
  const what = snapshotId ? `source snapshot ${id}` : `source volume ${id}`;
  const ref = parseVolumeId(id);
  if (!ref) throw csiError(status.NOT_FOUND, `${what} does not exist`);
  if (ref.clusterID !== clusterID) {
    throw csiError(status.INVALID_ARGUMENT, `${what} is in cluster ${ref.clusterID}, not ${clusterID}`);
  }
  const { pool } = ref;
  if (snapshotId) {
    const found = await ctx.snapJournal.byUuid(target, pool, ref.uuid);
    const located = found && (await locateVolumeImage(ctx.images, target, pool, found.record.sourceUuid));
    const snapshot = snapshotName(ref.uuid);
    const snaps = located ? ((await ctx.images.snapshots(target, located)) ?? []) : [];
    if (!found || !isReady(found.record) || !located || !snaps.some((s) => s.name === snapshot)) {
      throw csiError(status.NOT_FOUND, `${what} does not exist`);
    }
    const parent = { pool, image: located.image, snapshot };
    return {
      parentFor: () => parent,
      sizeBytes: toBigInt(found.record.sizeBytes),
      volumeSource: false,
      contentSource: { snapshot: { snapshot_id: id } },
    };
  }
  const image = { pool, image: imageName(ref.uuid) };
  const info = await ctx.images.info(target, image);
  if (!info) throw csiError(status.NOT_FOUND, `${what} does not exist`);
  return {
    parentFor: (uuid) => ({ ...image, snapshot: cloneSnapshotName(uuid) }),
    sizeBytes: info.sizeBytes,
    volumeSource: true,
    contentSource: { volume: { volume_id: id } },
  };
}

/** The new volume's size: as asked, never below the source (OUT_OF_RANGE when the limit forbids it). */
export function sizeFromSource(range: CapacityRange | null | undefined, sourceBytes: bigint): bigint {
  const size = decideSize(range, sourceBytes);
  if (size >= sourceBytes) return size;
  const limit = toBigInt(range?.limit_bytes);
  if (limit > 0n && limit < sourceBytes) {
    throw csiError(status.OUT_OF_RANGE, `the source holds ${sourceBytes} bytes, above limit_bytes ${limit}`);
  }
  return sourceBytes;
}

/** Clones need layering on the new image, whatever the class lists. */
function cloneFeatures(features: readonly string[]): string[] {
  return features.includes('layering') ? [...features] : ['layering', ...features];
}

/** Makes `image` a clone of the source (each step skipped when done), grown to `size`. */
export async function cloneFromSource(
  ctx: RbdDriverContext,
  target: CephTarget,
  source: ResolvedSource,
  image: ImageSpec,
  uuid: string,
  options: { sizeBytes: bigint; features: readonly string[]; dataPool: string | undefined },
): Promise<void> {
  const parent = source.parentFor(uuid);
  if (source.volumeSource) await ctx.images.snapshotProtected(target, parent);
  try {
    let info = await ctx.images.info(target, image);
    if (!info) {
      await ctx.images.clone(target, parent, image, {
        features: cloneFeatures(options.features),
        dataPool: options.dataPool,
      });
      info = await ctx.images.info(target, image);
    }
    if (info && info.sizeBytes < options.sizeBytes) await ctx.images.resize(target, image, options.sizeBytes);
  } catch (err) {
    // The clone's own snapshot on the source goes with a failed clone.
    if (source.volumeSource && (await ctx.images.children(target, parent)).length === 0) {
      await ctx.images.removeSnapshot(target, parent).catch(() => undefined);
    }
    throw err;
  }
}

/** Soft limit: flatten in the background. Hard limit: ABORTED until the flatten is done. */
export async function enforceCloneDepth(
  ctx: RbdDriverContext,
  target: CephTarget,
  image: ImageSpec,
  volumeName: string,
): Promise<void> {
  const { soft, hard } = ctx.cloneDepth;
  const depth = await ctx.images.depth(target, image, hard);
  if (depth < soft) return;
  ctx.flattener.start(target, image);
  if (depth < hard) return;
  const state = ctx.flattener.state(image);
  const note = state.state === 'failed' ? ` (last attempt failed: ${state.error})` : '';
  throw csiError(
    status.ABORTED,
    `volume ${volumeName} is being flattened: its clone chain is ${depth} deep, at the hard limit ${hard}${note}`,
  );
}
