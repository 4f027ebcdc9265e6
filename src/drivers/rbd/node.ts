// Node service of the RBD driver: map the image (krbd, rbd-nbd or rbd-fuse + loop), format a blank
// device, mount it at the staging path; publish bind-mounts; unstage undoes all of it. What was
// mapped is written down before it is used, so retries and restarts can always undo it.
import { promises as fs } from 'node:fs';
import { CsiError, csiError, status } from '../../csi/errors.js';
import type { ServiceHandlers } from '../../csi/server.js';
import { sleep, systemClock } from '../../machinery/clock.js';
import type { NodeStageVolumeRequest, VolumeCapability } from '../../csi/types.js';
import { deviceSizeBytes, deviceView, isFilesystemMountOf } from '../../host/device-mounts.js';
import { canonicalPath } from '../../host/mounter.js';
import { bindPublish, removeTarget, requireStagingPath, requireUnpublished } from '../common/bind-publish.js';
import type { AccessType } from '../common/capability.js';
import { DEFAULT_FS_TYPE, FS_TYPE_PARAMETER, isReadOnlyMode } from '../common/capability.js';
import { requireGrownTo } from '../common/capacity.js';
import {
  EXT_TYPES,
  growExtIfSmaller,
  growFilesystemOnline,
  growXfsIfSmaller,
} from '../common/grow-filesystem.js';
import { requireField } from '../common/require-field.js';
import { rpcCapabilities } from '../common/rpc-capabilities.js';
import { deviceVolumeStats } from '../common/volume-stats.js';
import { cephCsiError } from './ceph-cli.js';
import type { CephTarget } from './ceph-cli.js';
import type { RbdDriverContext } from './context.js';
import { clusterOf, targetFor, volumeRefOrNotFound } from './context.js';
import { checkCapability, isShared, mkfsCommand, parseMounter } from './decide.js';
import type { ImageSpec } from './images.js';
import { imageName } from './names.js';
import type { VolumeRef } from './names.js';
import type { StagedVolume } from './staged.js';

function imageOf(record: { pool: string; image: string }): ImageSpec {
  return { pool: record.pool, image: record.image };
}

export function nodeHandlers(ctx: RbdDriverContext): ServiceHandlers<'Node'> {
  /** The node's record of a staged volume, and whether its image is still mapped. */
  const lookupStaged = async (id: string): Promise<{ record?: StagedVolume; mapped: boolean }> => {
    const record = await ctx.staged.get(id);
    if (!record) return { mapped: false };
    return { record, mapped: await ctx.mappers[record.mounter].isMapped(record, imageOf(record)) };
  };
  /** A staged volume whose image is mapped; a record left by a lost mapping does not count. */
  const stagedOf = async (id: string): Promise<StagedVolume | undefined> => {
    const { record, mapped } = await lookupStaged(id);
    return mapped ? record : undefined;
  };

  /** Single-node volumes must not be open elsewhere (a crashed client's watch expires in ~30 s). */
  const waitUntilUnused = async (target: CephTarget, image: ImageSpec, id: string) => {
    for (let attempt = 0; ; attempt++) {
      const watchers = await ctx.images.watchers(target, image);
      if (watchers.length === 0) return;
      if (attempt >= 10) {
        throw csiError(
          status.FAILED_PRECONDITION,
          `volume ${id} is still being used: image ${image.pool}/${image.image} has watchers ${watchers.join(', ')}`,
        );
      }
      await sleep(systemClock, 300);
    }
  };

  const unmapRecord = async (record: StagedVolume) => {
    await ctx.mappers[record.mounter].unmap(record, imageOf(record));
    await ctx.staged.remove(record.volumeId);
  };

  const mapVolume = async (
    req: NodeStageVolumeRequest,
    ref: VolumeRef,
    accessType: AccessType,
    capability: VolumeCapability,
  ): Promise<StagedVolume> => {
    const id = req.volume_id;
    const cluster = clusterOf(ctx, ref.clusterID, status.NOT_FOUND);
    const target = await targetFor(cluster, req.secrets, 'node-stage');
    const image = { pool: ref.pool, image: imageName(ref.uuid) };
    const mounterName =
      parseMounter(req.volume_context?.['mounter']) ?? cluster.mounter ?? ctx.defaultMounter;
    try {
      const info = await ctx.images.info(target, image);
      if (!info)
        throw csiError(
          status.NOT_FOUND,
          `volume ${id} does not exist (no image ${image.pool}/${image.image})`,
        );
      if (!isShared(capability)) await waitUntilUnused(target, image, id);
      const mapping = await ctx.mappers[mounterName].map({
        target,
        image,
        readonly: isReadOnlyMode(capability),
        fuseDir: ctx.staged.fuseDir(ctx.fuseRoot, id),
      });
      const record: StagedVolume = {
        ...mapping,
        volumeId: id,
        clusterID: ref.clusterID,
        pool: ref.pool,
        image: image.image,
        mounter: mounterName,
        accessType,
        stagingPath: req.staging_target_path,
      };
      await ctx.staged.put(record);
      ctx.log.info('image mapped', { volumeId: id, mounter: mounterName, device: mapping.device });
      return record;
    } catch (err) {
      if (err instanceof CsiError) throw err;
      throw cephCsiError(err, `NodeStageVolume ${id}`, target.credentials.userID);
    }
  };

  /** Formats a blank device (never one holding data), grows a filesystem left smaller, mounts it. */
  const mountFilesystem = async (
    req: NodeStageVolumeRequest,
    record: StagedVolume,
    capability: VolumeCapability,
  ) => {
    const id = req.volume_id;
    const device = record.device;
    const staging = req.staging_target_path;
    const readonly = isReadOnlyMode(capability);
    const wanted = capability.mount?.fs_type || req.volume_context?.[FS_TYPE_PARAMETER] || DEFAULT_FS_TYPE;
    let fsType = await ctx.filesystems.probe(device);
    if (!fsType) {
      if (readonly)
        throw csiError(status.FAILED_PRECONDITION, `volume ${id} has no filesystem and is read-only`);
      if (!(await ctx.filesystems.startsZeroed(device))) {
        throw csiError(
          status.FAILED_PRECONDITION,
          `volume ${id} holds data but no filesystem blkid knows; it is not formatted over`,
        );
      }
      const [command, args] = mkfsCommand(wanted, device);
      await ctx.exec.run(command, args);
      fsType = wanted;
      ctx.log.info('volume formatted', { volumeId: id, fsType });
    } else if (capability.mount?.fs_type && fsType !== capability.mount.fs_type) {
      throw csiError(
        status.FAILED_PRECONDITION,
        `volume ${id} holds ${fsType}, not ${capability.mount.fs_type}`,
      );
    } else if (EXT_TYPES.has(fsType) && !readonly) {
      await growExtIfSmaller(ctx.filesystems, device, deviceSizeBytes(device));
    }
    const flags = [...(capability.mount?.mount_flags ?? [])];
    if (readonly) flags.push('ro');
    if (fsType === 'xfs') flags.push('nouuid'); // a clone or a second mapping carries the same uuid
    await ctx.mounter.mount(device, staging, { fsType, flags });
    // xfs grows only mounted: a restore or clone into a larger image fills it now (unmounted again
    // on failure, so the next NodeStageVolume tries again instead of finding it staged)
    if (fsType === 'xfs' && !readonly) {
      await growXfsIfSmaller(ctx.filesystems, device, staging, deviceSizeBytes(device)).catch(
        async (err: unknown) => {
          await ctx.mounter.unmount(staging);
          throw err;
        },
      );
    }
  };

  return {
    NodeGetInfo: async () => ({ node_id: ctx.nodeId, max_volumes_per_node: '0' }),

    NodeGetCapabilities: async () =>
      rpcCapabilities('STAGE_UNSTAGE_VOLUME', 'EXPAND_VOLUME', 'GET_VOLUME_STATS'),

    NodeStageVolume: async (req) => {
      const id = requireField(req.volume_id, 'volume_id');
      const staging = requireField(req.staging_target_path, 'staging_target_path');
      const accessType = checkCapability(req.volume_capability, 'volume_capability');
      const capability = req.volume_capability!;
      const ref = volumeRefOrNotFound(id);
      return ctx.locks.with(`volume:${id}`, async () => {
        await fs.mkdir(staging, { recursive: true });
        const known = await lookupStaged(id);
        let record = known.mapped ? known.record : undefined;
        if (record && record.accessType !== accessType) {
          throw csiError(status.ALREADY_EXISTS, `volume ${id} is staged as a ${record.accessType} volume`);
        }
        if (!record) {
          const stale = known.record;
          if (stale) await unmapRecord(stale).catch(() => ctx.staged.remove(id));
          record = await mapVolume(req, ref, accessType, capability);
        }
        if (accessType === 'block') return {};
        const current = await ctx.mounter.mountAt(staging);
        if (current) {
          if (isFilesystemMountOf(current, deviceView(record.device))) return {};
          throw csiError(status.ALREADY_EXISTS, `${staging} already holds another mount (${current.source})`);
        }
        try {
          await mountFilesystem(req, record, capability);
        } catch (err) {
          // Leave nothing half-done: a retry starts from scratch.
          await ctx.mounter.unmount(staging).catch(() => undefined);
          await unmapRecord(record).catch(() => undefined);
          throw err;
        }
        ctx.log.info('volume staged', { volumeId: id, staging, device: record.device });
        return {};
      });
    },

    NodeUnstageVolume: async (req) => {
      const id = requireField(req.volume_id, 'volume_id');
      const staging = requireField(req.staging_target_path, 'staging_target_path');
      return ctx.locks.with(`volume:${id}`, async () => {
        const { record, mapped } = await lookupStaged(id);
        if (!record) return {};
        if (mapped) {
          const view = deviceView(record.device);
          const stagingPath = await canonicalPath(staging);
          requireUnpublished(id, await ctx.mounter.list(), view, stagingPath);
          await ctx.mounter.unmount(staging);
        }
        await unmapRecord(record);
        ctx.log.info('volume unstaged', { volumeId: id, staging });
        return {};
      });
    },

    NodePublishVolume: async (req) => {
      const id = requireField(req.volume_id, 'volume_id');
      const target = requireField(req.target_path, 'target_path');
      checkCapability(req.volume_capability, 'volume_capability');
      const capability = req.volume_capability!;
      volumeRefOrNotFound(id); // NOT_FOUND for an id this driver never made
      const staging = requireStagingPath(req.staging_target_path);
      const readonly = (req.readonly ?? false) || isReadOnlyMode(capability);
      return ctx.locks.with(`volume:${id}`, async () => {
        const record = await stagedOf(id);
        if (!record) throw csiError(status.FAILED_PRECONDITION, `volume ${id} is not staged on this node`);
        const published = await bindPublish(ctx.mounter, {
          id,
          accessType: record.accessType,
          view: deviceView(record.device),
          staging,
          target,
          readonly,
          singleWriter: false,
        });
        if (published) ctx.log.info('volume published', { volumeId: id, target, readonly });
        return {};
      });
    },

    NodeUnpublishVolume: async (req) => {
      const id = requireField(req.volume_id, 'volume_id');
      const target = requireField(req.target_path, 'target_path');
      return ctx.locks.with(`volume:${id}`, async () => {
        await ctx.mounter.unmount(target);
        await removeTarget(target);
        return {};
      });
    },

    NodeGetVolumeStats: async (req) => {
      const id = requireField(req.volume_id, 'volume_id');
      const volumePath = requireField(req.volume_path, 'volume_path');
      volumeRefOrNotFound(id); // NOT_FOUND for an id this driver never made
      const record = await stagedOf(id);
      const entry = await ctx.mounter.mountAt(volumePath);
      if (!record || !entry)
        throw csiError(status.NOT_FOUND, `volume ${id} is not available at ${volumePath}`);
      return deviceVolumeStats({
        id,
        volumePath,
        accessType: record.accessType,
        entry,
        view: deviceView(record.device),
        deviceBytes: async () => deviceSizeBytes(record.device),
      });
    },

    NodeExpandVolume: async (req) => {
      const id = requireField(req.volume_id, 'volume_id');
      const volumePath = requireField(req.volume_path, 'volume_path');
      if (req.volume_capability) checkCapability(req.volume_capability, 'volume_capability');
      volumeRefOrNotFound(id); // NOT_FOUND for an id this driver never made
      return ctx.locks.with(`volume:${id}`, async () => {
        const record = await stagedOf(id);
        if (!record) throw csiError(status.NOT_FOUND, `volume ${id} is not staged on this node`);
        await fs.stat(volumePath).catch(() => {
          throw csiError(status.NOT_FOUND, `${volumePath} does not exist`);
        });
        await ctx.mappers[record.mounter].refreshSize(record);
        const size = deviceSizeBytes(record.device);
        requireGrownTo(id, size, req.capacity_range);
        if (record.accessType === 'block') return { capacity_bytes: size.toString() };
        const fsType = await growFilesystemOnline(ctx.filesystems, id, record.device, record.stagingPath);
        ctx.log.info('volume filesystem expanded', { volumeId: id, bytes: size.toString(), fsType });
        return { capacity_bytes: size.toString() };
      });
    },
  };
}
