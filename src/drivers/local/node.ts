// Node service of the local driver. Nothing is remembered in memory: which loop device serves a
// volume comes from sysfs and what is mounted where from mountinfo, so a restarted driver carries on.
import { promises as fs } from 'node:fs';
import { csiError, status } from '../../csi/errors.js';
import type { ServiceHandlers } from '../../csi/server.js';
import type { VolumeCapability } from '../../csi/types.js';
import { isFilesystemMountOf } from '../../host/device-mounts.js';
import { isSupportedFsType } from '../../host/filesystem.js';
import type { LoopDevice } from '../../host/loop.js';
import { canonicalPath } from '../../host/mounter.js';
import { bindPublish, removeTarget, requireStagingPath, requireUnpublished } from '../common/bind-publish.js';
import { DEFAULT_FS_TYPE, isReadOnlyMode } from '../common/capability.js';
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
import type { LocalDriverContext } from './context.js';
import { findVolume } from './controller.js';
import { capabilityFits, checkCapability } from './decide.js';
import { loopMountView } from './device-mounts.js';
import { keyOfVolumeId, nodeSegments } from './names.js';
import type { LocalVolume } from './volume-store.js';

function requireFits(volume: LocalVolume, capability: VolumeCapability, id: string): void {
  if (!capabilityFits(volume, capability)) {
    throw csiError(
      status.FAILED_PRECONDITION,
      `volume ${id} is a ${volume.accessType} volume; the capability asks otherwise`,
    );
  }
}

async function exists(target: string): Promise<boolean> {
  return fs.lstat(target).then(
    () => true,
    () => false,
  );
}

export function nodeHandlers(ctx: LocalDriverContext): ServiceHandlers<'Node'> {
  const attachedLoop = async (volume: LocalVolume): Promise<LoopDevice | undefined> =>
    (await ctx.loops.findByFile(ctx.store.imagePath(volume.key)))[0];

  /**
   * A volume grown while unstaged (or whose online grow was refused), or restored or cloned into a
   * larger size, is grown to fill it: ext before it is mounted, xfs (which grows only mounted) after.
   */
  const growIfSmaller = async (fsType: string, source: string, staging: string, sourceBytes: bigint) => {
    const fsBytes =
      fsType === 'xfs'
        ? await growXfsIfSmaller(ctx.filesystems, source, staging, sourceBytes)
        : await growExtIfSmaller(ctx.filesystems, source, sourceBytes);
    if (fsBytes === undefined) return;
    ctx.log.info('filesystem grown to fill its volume', {
      source,
      fsType,
      from: fsBytes.toString(),
      to: sourceBytes.toString(),
    });
  };

  return {
    NodeGetInfo: async () => ({
      node_id: ctx.nodeId,
      max_volumes_per_node: '0',
      accessible_topology: { segments: nodeSegments(ctx.nodeId) },
    }),

    NodeGetCapabilities: async () =>
      rpcCapabilities('STAGE_UNSTAGE_VOLUME', 'EXPAND_VOLUME', 'GET_VOLUME_STATS'),

    NodeStageVolume: async (req) => {
      const id = requireField(req.volume_id, 'volume_id');
      const staging = requireField(req.staging_target_path, 'staging_target_path');
      checkCapability(req.volume_capability, 'volume_capability');
      const capability = req.volume_capability!;
      const volume = await findVolume(ctx, id);
      requireFits(volume, capability, id);
      return ctx.locks.with(volume.key, async () => {
        const image = await ctx.store.backingFile(volume.key); // made here on first use
        const loop = await attachedLoop(volume);
        await fs.mkdir(staging, { recursive: true });
        if (volume.accessType === 'block') {
          // The loop device is the staged volume; publish binds it.
          if (!loop)
            ctx.log.info('volume staged', { volumeId: id, device: (await ctx.loops.attach(image)).device });
          return {};
        }
        const current = await ctx.mounter.mountAt(staging);
        if (current) {
          if (loop && current.majorMinor === loop.majorMinor) return {};
          throw csiError(status.ALREADY_EXISTS, `${staging} already holds another mount (${current.source})`);
        }
        // Until it is mounted, the filesystem is made and checked on the backing file itself; then
        // "mount -o loop" attaches the loop device and mounts it in one step, with autoclear set so
        // the last unmount also detaches it. A device that is still attached is reused as it is.
        const source = loop?.device ?? image;
        const sourceBytes = async () => (loop ? ctx.loops.sizeBytes(loop.device) : volume.capacityBytes);
        // A fresh backing file is a hole: a zeroed first MiB (where ext4 and xfs keep their
        // superblocks) means never formatted, which spares a blkid run on every first stage.
        const blank = !loop && (await ctx.filesystems.startsZeroed(image));
        let fsType = blank ? undefined : await ctx.filesystems.probe(source);
        if (!fsType) {
          const wanted = capability.mount?.fs_type || volume.fsType || DEFAULT_FS_TYPE;
          if (!isSupportedFsType(wanted))
            throw csiError(status.INVALID_ARGUMENT, `fs type ${wanted} unsupported`);
          await ctx.filesystems.format(source, wanted);
          fsType = wanted;
        } else if (capability.mount?.fs_type && fsType !== capability.mount.fs_type) {
          throw csiError(
            status.FAILED_PRECONDITION,
            `volume ${id} holds ${fsType}, not ${capability.mount.fs_type}`,
          );
        } else if (EXT_TYPES.has(fsType)) {
          await growIfSmaller(fsType, source, staging, await sourceBytes());
        }
        // Restores and clones of an xfs volume carry its UUID: nouuid lets both be mounted at once.
        const flags = [...(fsType === 'xfs' ? ['nouuid'] : []), ...(capability.mount?.mount_flags ?? [])];
        await ctx.mounter.mount(source, staging, { fsType, flags: loop ? flags : ['loop', ...flags] });
        if (fsType === 'xfs' && !flags.includes('ro')) {
          // unmounted again on failure, so the next NodeStageVolume grows it instead of finding it staged
          await growIfSmaller(fsType, source, staging, await sourceBytes()).catch(async (err: unknown) => {
            await ctx.mounter.unmount(staging);
            throw err;
          });
        }
        ctx.log.info('volume staged', { volumeId: id, staging, fsType });
        return {};
      });
    },

    NodeUnstageVolume: async (req) => {
      const id = requireField(req.volume_id, 'volume_id');
      const staging = requireField(req.staging_target_path, 'staging_target_path');
      const key = keyOfVolumeId(ctx.nodeId, id);
      const volume = key === undefined ? undefined : await ctx.store.get(key);
      if (!volume) {
        if (!(await ctx.mounter.isMountPoint(staging)))
          throw csiError(status.NOT_FOUND, `volume ${id} not found`);
        await ctx.mounter.unmount(staging);
        return {};
      }
      return ctx.locks.with(volume.key, async () => {
        const stagingPath = await canonicalPath(staging);
        const loops = await ctx.loops.findByFile(ctx.store.imagePath(volume.key));
        const mounts = await ctx.mounter.list();
        for (const loop of loops) requireUnpublished(id, mounts, await loopMountView(loop), stagingPath);
        await ctx.mounter.unmount(staging);
        // Devices attached by "mount -o loop" detach themselves on that unmount (autoclear); the rest
        // (block volumes, devices found attached) are detached here, if still bound to this file.
        for (const loop of await ctx.loops.findByFile(ctx.store.imagePath(volume.key))) {
          await ctx.loops.detach(loop.device).catch(async (err: unknown) => {
            if ((await ctx.loops.get(loop.device))?.backingFile === loop.backingFile) throw err;
          });
        }
        if (loops.length > 0) ctx.log.info('volume unstaged', { volumeId: id, staging });
        return {};
      });
    },

    NodePublishVolume: async (req) => {
      const id = requireField(req.volume_id, 'volume_id');
      const target = requireField(req.target_path, 'target_path');
      checkCapability(req.volume_capability, 'volume_capability');
      const capability = req.volume_capability!;
      const staging = requireStagingPath(req.staging_target_path);
      const volume = await findVolume(ctx, id);
      requireFits(volume, capability, id);
      const readonly = (req.readonly ?? false) || isReadOnlyMode(capability);
      return ctx.locks.with(volume.key, async () => {
        const loop = await attachedLoop(volume);
        if (!loop) throw csiError(status.FAILED_PRECONDITION, `volume ${id} is not staged`);
        const published = await bindPublish(ctx.mounter, {
          id,
          accessType: volume.accessType,
          view: await loopMountView(loop),
          staging,
          target,
          readonly,
          singleWriter: capability.access_mode?.mode === 'SINGLE_NODE_SINGLE_WRITER',
        });
        if (published) ctx.log.info('volume published', { volumeId: id, target, readonly });
        return {};
      });
    },

    NodeUnpublishVolume: async (req) => {
      const id = requireField(req.volume_id, 'volume_id');
      const target = requireField(req.target_path, 'target_path');
      const key = keyOfVolumeId(ctx.nodeId, id);
      const volume = key === undefined ? undefined : await ctx.store.get(key);
      if (!volume && !(await exists(target))) throw csiError(status.NOT_FOUND, `volume ${id} not found`);
      const work = async () => {
        const wasMounted = await ctx.mounter.isMountPoint(target);
        await ctx.mounter.unmount(target);
        await removeTarget(target);
        if (wasMounted) ctx.log.info('volume unpublished', { volumeId: id, target });
        return {};
      };
      return volume ? ctx.locks.with(volume.key, work) : work();
    },

    NodeGetVolumeStats: async (req) => {
      const id = requireField(req.volume_id, 'volume_id');
      const volumePath = requireField(req.volume_path, 'volume_path');
      const volume = await findVolume(ctx, id);
      const loop = await attachedLoop(volume);
      const entry = await ctx.mounter.mountAt(volumePath);
      const view = loop && (await loopMountView(loop));
      if (!view || !entry) throw csiError(status.NOT_FOUND, `volume ${id} is not available at ${volumePath}`);
      return deviceVolumeStats({
        id,
        volumePath,
        accessType: volume.accessType,
        entry,
        view,
        deviceBytes: () => ctx.loops.sizeBytes(view.device),
      });
    },

    NodeExpandVolume: async (req) => {
      const id = requireField(req.volume_id, 'volume_id');
      const volumePath = requireField(req.volume_path, 'volume_path');
      if (req.volume_capability) checkCapability(req.volume_capability, 'volume_capability');
      const volume = await findVolume(ctx, id);
      if (!(await exists(volumePath))) throw csiError(status.NOT_FOUND, `${volumePath} does not exist`);
      return ctx.locks.with(volume.key, async () => {
        const loop = await attachedLoop(volume);
        if (!loop) throw csiError(status.FAILED_PRECONDITION, `volume ${id} is not staged on this node`);
        await ctx.loops.refreshSize(loop.device);
        const size = await ctx.loops.sizeBytes(loop.device);
        requireGrownTo(id, size, req.capacity_range);
        if (volume.accessType === 'block') return { capacity_bytes: size.toString() };
        const view = await loopMountView(loop);
        const atPath = await ctx.mounter.mountAt(volumePath);
        const mountPoint =
          atPath && isFilesystemMountOf(atPath, view) ? volumePath : req.staging_target_path || volumePath;
        const fsType = await growFilesystemOnline(ctx.filesystems, id, loop.device, mountPoint);
        ctx.log.info('volume filesystem expanded', { volumeId: id, bytes: size.toString(), fsType });
        return { capacity_bytes: size.toString() };
      });
    },
  };
}
