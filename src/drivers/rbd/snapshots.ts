// Snapshot RPCs of the RBD driver. A snapshot is a protected RBD snapshot `csi-snap-<uuid>` of the
// source image (`rbd snap create` + `rbd snap protect`), so taking one copies nothing; restores
// are `rbd clone`s of it. Deleting a snapshot that clones still hang on flattens them first.
import { randomUUID } from 'node:crypto';
import { csiError, status } from '../../csi/errors.js';
import type { ServiceHandlers } from '../../csi/server.js';
import type { Snapshot } from '../../csi/types.js';
import { snapshotPage } from '../common/paging.js';
import { requireField } from '../common/require-field.js';
import type { CephTarget } from './ceph-cli.js';
import { isPoolMissing } from './ceph-cli.js';
import type { RbdDriverContext } from './context.js';
import { cephCall, clusterOf, targetFor, volumeRefOrNotFound } from './context.js';
import type { ImageSpec } from './images.js';
import { composeVolumeId, imageName, nameKey, parseVolumeId, snapshotName } from './names.js';
import type { SnapshotRecord } from './snapshot-journal.js';
import { isReady } from './snapshot-journal.js';
import { locateVolumeImage } from './source-image.js';

type SnapshotHandlers = Pick<
  ServiceHandlers<'Controller'>,
  'CreateSnapshot' | 'DeleteSnapshot' | 'ListSnapshots'
>;

function toSnapshot(clusterID: string, pool: string, record: SnapshotRecord): Snapshot {
  return {
    snapshot_id: composeVolumeId({ clusterID, pool, uuid: record.uuid }),
    source_volume_id: record.source,
    size_bytes: record.sizeBytes ?? '0',
    creation_time: { seconds: String(record.createdSeconds ?? 0), nanos: record.createdNanos ?? 0 },
    ready_to_use: isReady(record),
    group_snapshot_id: '',
  };
}

export function snapshotHandlers(ctx: RbdDriverContext): SnapshotHandlers {
  /** Clones of `snap` are flattened in the background; until they are, the snapshot stays. */
  const requireNoClones = async (
    target: CephTarget,
    snap: ImageSpec & { snapshot: string },
    what: string,
  ) => {
    const children = await ctx.images.children(target, snap);
    if (children.length === 0) return;
    const notes = children.map((child) => {
      ctx.flattener.start(target, child);
      const state = ctx.flattener.state(child);
      const name = `${child.pool}/${child.image}`;
      return state.state === 'failed' ? `${name} (last flatten failed: ${state.error})` : name;
    });
    throw csiError(
      status.FAILED_PRECONDITION,
      `${what}: clones depend on it and are being flattened first: ${notes.join(', ')}`,
    );
  };

  /** Records from one pool, or none when the pool is gone. */
  const poolRecords = async (target: CephTarget, pool: string) => {
    try {
      return await ctx.snapJournal.list(target, pool);
    } catch (err) {
      if (isPoolMissing(err)) return [];
      throw err;
    }
  };

  return {
    CreateSnapshot: async (req) => {
      const name = requireField(req.name, 'name');
      const sourceId = requireField(req.source_volume_id, 'source_volume_id');
      const ref = volumeRefOrNotFound(sourceId);
      const cluster = clusterOf(ctx, ref.clusterID, status.NOT_FOUND);
      const key = nameKey(name);
      const target = await targetFor(cluster, req.secrets, 'snapshotter');
      return ctx.locks.with(`snap:${key}`, () =>
        cephCall(`CreateSnapshot ${name}`, target.credentials.userID, async () => {
          const { pool } = ref;
          let record = await ctx.snapJournal.lookup(target, pool, key);
          if (record && record.source !== sourceId) {
            throw csiError(
              status.ALREADY_EXISTS,
              `snapshot ${name} exists with another source volume (${record.source})`,
            );
          }
          if (record && isReady(record)) return { snapshot: toSnapshot(ref.clusterID, pool, record) };
          const source = { pool, image: imageName(ref.uuid) };
          if (!(await ctx.images.info(target, source))) {
            throw csiError(status.NOT_FOUND, `source volume ${sourceId} does not exist`);
          }
          if (!record) {
            record = { uuid: randomUUID(), source: sourceId, sourceUuid: ref.uuid };
            await ctx.snapJournal.put(target, pool, key, record);
          }
          const snap = await ctx.images.snapshotProtected(target, {
            ...source,
            snapshot: snapshotName(record.uuid),
          });
          const now = Date.now();
          record = {
            ...record,
            sizeBytes: snap.sizeBytes.toString(),
            createdSeconds: Math.floor(now / 1000),
            createdNanos: (now % 1000) * 1_000_000,
          };
          await ctx.snapJournal.put(target, pool, key, record);
          ctx.log.info('snapshot created', { name, source: sourceId, snapshot: snap.name });
          return { snapshot: toSnapshot(ref.clusterID, pool, record) };
        }),
      );
    },

    DeleteSnapshot: async (req) => {
      const id = requireField(req.snapshot_id, 'snapshot_id');
      const ref = parseVolumeId(id);
      if (!ref) return {}; // not a snapshot of this driver: nothing to delete
      const cluster = clusterOf(ctx, ref.clusterID, status.INVALID_ARGUMENT);
      const target = await targetFor(cluster, req.secrets, 'snapshotter');
      const { pool } = ref;
      return cephCall(`DeleteSnapshot ${id}`, target.credentials.userID, async () => {
        let found;
        try {
          found = await ctx.snapJournal.byUuid(target, pool, ref.uuid);
        } catch (err) {
          if (isPoolMissing(err)) return {}; // the pool went, and the snapshot with it
          throw err;
        }
        if (!found) return {};
        const { key, record } = found;
        return ctx.locks.with(`snap:${key}`, async () => {
          const source = await locateVolumeImage(ctx.images, target, pool, record.sourceUuid);
          if (source) {
            const snap = { pool, image: source.image, snapshot: snapshotName(record.uuid) };
            const snaps = (await ctx.images.snapshots(target, source)) ?? [];
            if (snaps.some((s) => s.name === snap.snapshot)) {
              await requireNoClones(target, snap, `snapshot ${id}`);
              await ctx.images.removeSnapshot(target, snap);
            }
            // A deleted volume's image waited only for its snapshots.
            if (source.deleted && ((await ctx.images.snapshots(target, source)) ?? []).length === 0) {
              await ctx.images.remove(target, source);
              await ctx.journal.release(target, pool, undefined, record.sourceUuid);
              ctx.log.info('deleted volume image removed', { image: source.image });
            }
          }
          await ctx.snapJournal.release(target, pool, key, record.uuid);
          ctx.log.info('snapshot deleted', { snapshotId: id });
          return {};
        });
      });
    },

    ListSnapshots: async (req) => {
      const bySnapshot = req.snapshot_id ? parseVolumeId(req.snapshot_id) : undefined;
      const bySource = req.source_volume_id ? parseVolumeId(req.source_volume_id) : undefined;
      // An id this driver never made names nothing: an empty list, as the spec asks.
      if ((req.snapshot_id && !bySnapshot) || (req.source_volume_id && !bySource)) {
        return snapshotPage([], req);
      }
      const wanted = bySnapshot ?? bySource;
      const clusterIDs = wanted ? [wanted.clusterID] : ctx.clusters.ids();
      const entries: Snapshot[] = [];
      for (const clusterID of clusterIDs) {
        const cluster = ctx.clusters.get(clusterID);
        if (!cluster) continue;
        const target = await targetFor(cluster, req.secrets, 'snapshotter');
        await cephCall('ListSnapshots', target.credentials.userID, async () => {
          const pools = wanted ? [wanted.pool] : await ctx.images.pools(target);
          for (const pool of pools) {
            for (const record of await poolRecords(target, pool)) {
              if (!isReady(record)) continue;
              if (bySnapshot && record.uuid !== bySnapshot.uuid) continue;
              if (req.source_volume_id && record.source !== req.source_volume_id) continue;
              entries.push(toSnapshot(clusterID, pool, record));
            }
          }
        });
      }
      return snapshotPage(entries, req);
    },
  };
}
