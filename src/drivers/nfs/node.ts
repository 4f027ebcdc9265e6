// Node service of the NFS driver: no staging; NodePublishVolume mounts server:/share/subdir straight
// at the target (through --mount-helper when given), NodeUnpublishVolume unmounts and removes it.
import { promises as fs } from 'node:fs';
import { csiError, status } from '../../csi/errors.js';
import type { ServiceHandlers } from '../../csi/server.js';
import { isReadOnlyMode } from '../common/capability.js';
import { requireField } from '../common/require-field.js';
import { rpcCapabilities } from '../common/rpc-capabilities.js';
import { filesystemUsage } from '../common/volume-stats.js';
import type { NfsDriverContext } from './context.js';
import { decodeVolumeId, mountSource } from './names.js';
import { mountAt, mountNfs, mountOptionsFor, unmountNfs } from './node-mounts.js';
import { checkShare, checkSubDir, parseMountPermissions } from './params.js';
import { contextValue } from './static-source.js';

interface PublishSource {
  source: string;
  mountOptions: string;
  mountPermissions: number | undefined;
}

/** Where a volume lives: its volume context (static PVs and CreateVolume both set it), else its id. */
export function resolveSource(volumeId: string, context: Readonly<Record<string, string>>): PublishSource {
  const server = contextValue(context, 'server');
  const share = contextValue(context, 'share');
  const mountOptions = contextValue(context, 'mountOptions') ?? '';
  const mountPermissions = parseMountPermissions(contextValue(context, 'mountPermissions'));
  if (server && share) {
    const subDir = contextValue(context, 'subDir') ?? '';
    const checkedSubDir = subDir ? checkSubDir(subDir) : '';
    return { source: mountSource(server, checkShare(share), checkedSubDir), mountOptions, mountPermissions };
  }
  const ref = decodeVolumeId(volumeId);
  if (!ref)
    throw csiError(
      status.NOT_FOUND,
      `volume ${volumeId} is not an NFS volume of this driver and has no server/share context`,
    );
  return { source: mountSource(ref.server, ref.share, ref.subDir), mountOptions, mountPermissions };
}

async function removeTarget(target: string): Promise<void> {
  await fs.rmdir(target).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

export function nodeHandlers(ctx: NfsDriverContext): ServiceHandlers<'Node'> {
  return {
    NodeGetInfo: async () => ({ node_id: ctx.nodeId, max_volumes_per_node: '0' }),

    NodeGetCapabilities: async () => rpcCapabilities('GET_VOLUME_STATS'),

    NodePublishVolume: async (req) => {
      const id = requireField(req.volume_id, 'volume_id');
      const target = requireField(req.target_path, 'target_path');
      const capability = req.volume_capability;
      if (!capability) throw csiError(status.INVALID_ARGUMENT, 'volume_capability is required');
      if (capability.block)
        throw csiError(status.INVALID_ARGUMENT, 'block access is not supported by NFS volumes');
      const { source, mountOptions, mountPermissions } = resolveSource(id, req.volume_context ?? {});
      const readonly = (req.readonly ?? false) || isReadOnlyMode(capability);
      return ctx.locks.with(`target/${target}`, async () => {
        const current = await mountAt(ctx, target);
        if (current) {
          const sameSource = !current.fsType.startsWith('nfs') || current.source === source;
          if (sameSource && current.mountOptions.includes('ro') === readonly) return {};
          throw csiError(status.ALREADY_EXISTS, `${target} is already published with other arguments`);
        }
        await fs.mkdir(target, { recursive: true, mode: 0o750 });
        const options = mountOptionsFor(capability.mount?.mount_flags ?? [], mountOptions, readonly);
        try {
          await mountNfs(ctx, source, target, options);
        } catch (err) {
          await removeTarget(target).catch(() => undefined);
          throw err;
        }
        if (mountPermissions !== undefined && !readonly) await fs.chmod(target, mountPermissions);
        ctx.log.info('volume published', { volumeId: id, source, target, readonly });
        return {};
      });
    },

    NodeUnpublishVolume: async (req) => {
      const id = requireField(req.volume_id, 'volume_id');
      const target = requireField(req.target_path, 'target_path');
      return ctx.locks.with(`target/${target}`, async () => {
        const wasMounted = (await mountAt(ctx, target)) !== undefined;
        await unmountNfs(ctx, target);
        await removeTarget(target);
        if (wasMounted) ctx.log.info('volume unpublished', { volumeId: id, target });
        return {};
      });
    },

    NodeGetVolumeStats: async (req) => {
      const id = requireField(req.volume_id, 'volume_id');
      const volumePath = requireField(req.volume_path, 'volume_path');
      if (!(await mountAt(ctx, volumePath)))
        throw csiError(status.NOT_FOUND, `volume ${id} is not mounted at ${volumePath}`);
      // The whole export's usage: NFS has no per-directory capacity.
      return filesystemUsage(volumePath);
    },
  };
}
