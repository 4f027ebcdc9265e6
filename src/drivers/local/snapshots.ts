// Snapshots of the local driver: a snapshot is a sparse (reflinked where the host filesystem can)
// copy of the volume's backing file, taken with the volume's filesystem frozen while it is mounted,
// so the copy is consistent. Restores and clones are copies too (see volume-sources.ts).
import { csiError, status } from '../../csi/errors.js';
import type { ServiceHandlers } from '../../csi/server.js';
import type { ListSnapshotsResponse, PartialMessage, Snapshot } from '../../csi/types.js';
import { deviceView, isFilesystemMountOf } from '../../host/device-mounts.js';
import { requireField } from '../common/require-field.js';
import type { LocalDriverContext } from './context.js';
import { findVolume } from './find.js';
import { keyOfSnapshotId, snapshotId, volumeId, volumeKey } from './names.js';
import type { LocalSnapshot } from './snapshot-store.js';
import type { LocalVolume } from './volume-store.js';

type SnapshotHandlers = Pick<
  ServiceHandlers<'Controller'>,
  'CreateSnapshot' | 'DeleteSnapshot' | 'ListSnapshots'
>;

/** Locks of snapshots share the table with volumes; the prefix keeps the keys apart. */
export const snapshotLockKey = (key: string) => `snapshot:${key}`;

export function toCsiSnapshot(nodeId: string, snapshot: LocalSnapshot): PartialMessage<Snapshot> {
  const ms = Date.parse(snapshot.createdAt);
  return {
    snapshot_id: snapshotId(nodeId, snapshot.key),
    source_volume_id: volumeId(nodeId, snapshot.sourceKey),
    size_bytes: snapshot.sizeBytes.toString(),
    creation_time: { seconds: Math.floor(ms / 1000).toString(), nanos: (ms % 1000) * 1_000_000 },
    ready_to_use: true,
  };
}

/**
 * Copies a volume's backing file to `target` consistently: while the volume's filesystem is
 * mounted (staged) it is frozen for the copy; an unmounted or block volume is copied as it is.
 */
export async function copyVolume(
  ctx: LocalDriverContext,
  volume: LocalVolume,
  target: string,
): Promise<void> {
  const source = await ctx.store.backingFile(volume.key);
  const mountPoint = await filesystemMountOf(ctx, source);
  if (mountPoint === undefined) {
    await ctx.copies.copySparse(source, target);
    return;
  }
  await ctx.copies.whileFrozen(mountPoint, () => ctx.copies.copySparse(source, target));
}

/** A mount point of the filesystem on the loop device of `image`, if it is mounted. */
async function filesystemMountOf(ctx: LocalDriverContext, image: string): Promise<string | undefined> {
  const loops = await ctx.loops.findByFile(image);
  if (loops.length === 0) return undefined;
  const entries = await ctx.mounter.list();
  for (const loop of loops) {
    const view = deviceView(loop.device, loop.majorMinor);
    const entry = entries.find((e) => isFilesystemMountOf(e, view));
    if (entry) return entry.mountPoint;
  }
  return undefined;
}

export function snapshotHandlers(ctx: LocalDriverContext): SnapshotHandlers {
  return {
    CreateSnapshot: async (req) => {
      const name = requireField(req.name, 'name');
      const sourceId = requireField(req.source_volume_id, 'source_volume_id');
      const key = volumeKey(name);
      return ctx.locks.with(snapshotLockKey(key), async () => {
        const existing = await ctx.snapshots.get(key);
        if (existing) {
          if (volumeId(ctx.nodeId, existing.sourceKey) !== sourceId || existing.name !== name) {
            throw csiError(status.ALREADY_EXISTS, `snapshot ${name} exists for another source volume`);
          }
          return { snapshot: toCsiSnapshot(ctx.nodeId, existing) };
        }
        const volume = await findVolume(ctx, sourceId);
        const started = Date.now();
        // The source is held so that it is neither deleted nor grown while it is copied.
        await ctx.locks.with(volume.key, () => copyVolume(ctx, volume, ctx.snapshots.partialPath(key)));
        const snapshot: LocalSnapshot = {
          key,
          name,
          sourceKey: volume.key,
          sizeBytes: volume.capacityBytes,
          accessType: volume.accessType,
          fsType: volume.fsType,
          createdAt: new Date().toISOString(),
        };
        await ctx.snapshots.commit(snapshot);
        ctx.log.info('snapshot created', { name, source: sourceId, ms: Date.now() - started });
        return { snapshot: toCsiSnapshot(ctx.nodeId, snapshot) };
      });
    },

    DeleteSnapshot: async (req) => {
      const id = requireField(req.snapshot_id, 'snapshot_id');
      const key = keyOfSnapshotId(ctx.nodeId, id);
      if (key === undefined) return {}; // not a snapshot of this node: nothing to delete
      return ctx.locks.with(snapshotLockKey(key), async () => {
        await ctx.snapshots.delete(key);
        ctx.log.info('snapshot deleted', { snapshotId: id });
        return {};
      });
    },

    ListSnapshots: async (req) => {
      const maxEntries = req.max_entries ?? 0;
      if (maxEntries < 0) throw csiError(status.INVALID_ARGUMENT, 'max_entries must not be negative');
      let snapshots = await ctx.snapshots.list();
      if (req.snapshot_id) {
        const key = keyOfSnapshotId(ctx.nodeId, req.snapshot_id);
        snapshots = snapshots.filter((s) => s.key === key);
      }
      if (req.source_volume_id) {
        snapshots = snapshots.filter((s) => volumeId(ctx.nodeId, s.sourceKey) === req.source_volume_id);
      }
      let start = 0;
      if (req.starting_token) {
        start = /^\d+$/.test(req.starting_token) ? Number(req.starting_token) : -1;
        if (start < 0 || start > snapshots.length) {
          throw csiError(status.ABORTED, `starting_token ${req.starting_token} is not valid`);
        }
      }
      const end = maxEntries > 0 ? Math.min(snapshots.length, start + maxEntries) : snapshots.length;
      const response: PartialMessage<ListSnapshotsResponse> = {
        entries: snapshots.slice(start, end).map((s) => ({ snapshot: toCsiSnapshot(ctx.nodeId, s) })),
      };
      if (end < snapshots.length) response.next_token = String(end);
      return response;
    },
  };
}
