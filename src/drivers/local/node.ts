// Node service of the local driver. Nothing is remembered in memory: which loop device serves a
// volume comes from sysfs and what is mounted where from mountinfo, so a restarted driver carries on.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { csiError, status } from '../../csi/errors.js';
import type { ServiceHandlers } from '../../csi/server.js';
import type { VolumeCapability } from '../../csi/types.js';
import { toBigInt } from '../../csi/types.js';
import { ExecError } from '../../node/mount/exec.js';
import { isSupportedFsType } from '../../node/mount/filesystem.js';
import type { LoopDevice } from '../../node/mount/loop.js';
import { canonicalPath } from '../../node/mount/mounter.js';
import { isReadOnly, topMountAt } from '../../node/mount/mountinfo.js';
import type { LocalDriverContext } from './context.js';
import { findVolume } from './controller.js';
import { DEFAULT_FS_TYPE, capabilityFits, checkCapability } from './decide.js';
import { isDeviceBindOf, isFilesystemMountOf, loopMountView, mountPointsUsing } from './device-mounts.js';
import { MIB, keyOfVolumeId, nodeSegments } from './names.js';
import type { LocalVolume } from './volume-store.js';

function requireField(value: string | undefined, field: string): string {
  if (!value) throw csiError(status.INVALID_ARGUMENT, `${field} is required`);
  return value;
}

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

/** Removes a publish target that is no longer mounted; a non-empty directory is an error, never deleted. */
async function removeTarget(target: string): Promise<void> {
  let stat;
  try {
    stat = await fs.lstat(target);
  } catch {
    return;
  }
  if (stat.isDirectory()) await fs.rmdir(target);
  else await fs.unlink(target);
}

const EXT_TYPES: ReadonlySet<string> = new Set(['ext2', 'ext3', 'ext4']);

/** resize2fs fails this way when the host withholds CAP_SYS_RESOURCE, which online ext growth needs. */
function isOnlineResizeRefused(err: unknown): boolean {
  return err instanceof ExecError && err.command === 'resize2fs' && /Permission denied/.test(err.stderr);
}

export function nodeHandlers(ctx: LocalDriverContext): ServiceHandlers<'Node'> {
  const attachedLoop = async (volume: LocalVolume): Promise<LoopDevice | undefined> =>
    (await ctx.loops.findByFile(ctx.store.imagePath(volume.key)))[0];

  /** A volume grown while unstaged (or whose online grow was refused) is grown before it is mounted. */
  const growExtIfSmaller = async (source: string, sourceBytes: bigint): Promise<void> => {
    const fsBytes = await ctx.filesystems.extSizeBytes(source);
    if (sourceBytes - fsBytes < MIB) return;
    await ctx.filesystems.growExtOffline(source);
    ctx.log.info('filesystem grown before mount', {
      source,
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

    NodeGetCapabilities: async () => ({
      capabilities: (['STAGE_UNSTAGE_VOLUME', 'EXPAND_VOLUME', 'GET_VOLUME_STATS'] as const).map((type) => ({
        rpc: { type },
      })),
    }),

    NodeStageVolume: async (req) => {
      const id = requireField(req.volume_id, 'volume_id');
      const staging = requireField(req.staging_target_path, 'staging_target_path');
      checkCapability(req.volume_capability, 'volume_capability');
      const capability = req.volume_capability!;
      const volume = await findVolume(ctx, id);
      requireFits(volume, capability, id);
      return ctx.locks.with(volume.key, async () => {
        const image = ctx.store.imagePath(volume.key);
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
          await growExtIfSmaller(
            source,
            loop ? await ctx.loops.sizeBytes(loop.device) : volume.capacityBytes,
          );
        }
        const flags = capability.mount?.mount_flags ?? [];
        await ctx.mounter.mount(source, staging, { fsType, flags: loop ? flags : ['loop', ...flags] });
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
        for (const loop of loops) {
          const users = mountPointsUsing(mounts, await loopMountView(loop)).filter((p) => p !== stagingPath);
          if (users.length > 0) {
            throw csiError(
              status.FAILED_PRECONDITION,
              `volume ${id} is still published at ${users.join(', ')}`,
            );
          }
        }
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
      if (!req.staging_target_path) {
        throw csiError(
          status.FAILED_PRECONDITION,
          'staging_target_path is required: this driver stages volumes',
        );
      }
      const staging = req.staging_target_path;
      const volume = await findVolume(ctx, id);
      requireFits(volume, capability, id);
      const mode = capability.access_mode?.mode;
      const readonly = (req.readonly ?? false) || mode === 'SINGLE_NODE_READER_ONLY';
      return ctx.locks.with(volume.key, async () => {
        const loop = await attachedLoop(volume);
        if (!loop) throw csiError(status.FAILED_PRECONDITION, `volume ${id} is not staged`);
        const view = await loopMountView(loop);
        const mounts = await ctx.mounter.list();
        const targetPath = await canonicalPath(target);
        const current = topMountAt(mounts, targetPath);
        if (current) {
          const ours =
            volume.accessType === 'block'
              ? isDeviceBindOf(current, view)
              : isFilesystemMountOf(current, view);
          if (ours && isReadOnly(current) === readonly) return {};
          throw csiError(status.ALREADY_EXISTS, `${target} is already published with other arguments`);
        }
        const stagingPath = await canonicalPath(staging);
        if (mode === 'SINGLE_NODE_SINGLE_WRITER') {
          const others = mountPointsUsing(mounts, view).filter((p) => p !== stagingPath && p !== targetPath);
          if (others.length > 0) {
            throw csiError(
              status.FAILED_PRECONDITION,
              `volume ${id} is single-writer and published at ${others[0]}`,
            );
          }
        }
        if (volume.accessType === 'block') {
          await fs.mkdir(path.dirname(target), { recursive: true });
          await (await fs.open(target, 'a')).close();
          await ctx.mounter.bindMount(loop.device, target, { readonly });
        } else {
          const staged = topMountAt(mounts, stagingPath);
          if (!staged || !isFilesystemMountOf(staged, view)) {
            throw csiError(status.FAILED_PRECONDITION, `volume ${id} is not staged at ${staging}`);
          }
          await fs.mkdir(target, { recursive: true });
          try {
            await ctx.mounter.bindMount(stagingPath, target, { readonly });
          } catch (err) {
            await fs.rmdir(target).catch(() => undefined);
            throw err;
          }
        }
        ctx.log.info('volume published', { volumeId: id, target, readonly });
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
      if (volume.accessType === 'block') {
        if (!isDeviceBindOf(entry, view))
          throw csiError(status.NOT_FOUND, `volume ${id} is not at ${volumePath}`);
        const total = (await ctx.loops.sizeBytes(view.loop.device)).toString();
        return { usage: [{ total, unit: 'BYTES' }] };
      }
      if (!isFilesystemMountOf(entry, view))
        throw csiError(status.NOT_FOUND, `volume ${id} is not at ${volumePath}`);
      const stats = await fs.statfs(volumePath, { bigint: true });
      return {
        usage: [
          {
            unit: 'BYTES',
            total: (stats.blocks * stats.bsize).toString(),
            available: (stats.bavail * stats.bsize).toString(),
            used: ((stats.blocks - stats.bfree) * stats.bsize).toString(),
          },
          {
            unit: 'INODES',
            total: stats.files.toString(),
            available: stats.ffree.toString(),
            used: (stats.files - stats.ffree).toString(),
          },
        ],
      };
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
        const required = toBigInt(req.capacity_range?.required_bytes);
        if (required > size) {
          throw csiError(status.OUT_OF_RANGE, `volume ${id} has ${size} bytes, ${required} were asked for`);
        }
        if (volume.accessType === 'block') return { capacity_bytes: size.toString() };
        const view = await loopMountView(loop);
        const atPath = await ctx.mounter.mountAt(volumePath);
        const mountPoint =
          atPath && isFilesystemMountOf(atPath, view) ? volumePath : req.staging_target_path || volumePath;
        const fsType = await ctx.filesystems.probe(loop.device);
        if (!fsType) throw csiError(status.FAILED_PRECONDITION, `volume ${id} has no filesystem to grow`);
        try {
          await ctx.filesystems.grow(loop.device, fsType, mountPoint);
        } catch (err) {
          if (!isOnlineResizeRefused(err)) throw err;
          throw csiError(
            status.FAILED_PRECONDITION,
            `this host refuses online ${fsType} growth (no CAP_SYS_RESOURCE); the filesystem grows at the next NodeStageVolume`,
          );
        }
        ctx.log.info('volume filesystem expanded', { volumeId: id, bytes: size.toString(), fsType });
        return { capacity_bytes: size.toString() };
      });
    },
  };
}
