// Controller service of the NFS driver: a volume is a directory on an NFS export. The controller
// reaches the server itself over NFSv3 (no kernel mount, no privileges); the directory and the
// volume id are the only state, so any replica can serve any call.
import { csiError, status } from '../../csi/errors.js';
import type { ServiceHandlers } from '../../csi/server.js';
import type { VolumeCapability } from '../../csi/types.js';
import { toBigInt } from '../../csi/types.js';
import type { NfsClient } from '../../nfs-client/index.js';
import { NFS3ERR, NfsError } from '../../nfs-client/index.js';
import { checkCapacityRange } from '../common/capacity.js';
import { confirmedCapabilities } from '../common/capability.js';
import { requireField } from '../common/require-field.js';
import { rpcCapabilities } from '../common/rpc-capabilities.js';
import type { NfsDriverContext } from './context.js';
import type { NfsVolumeRef } from './names.js';
import { decodeVolumeId, encodeVolumeId } from './names.js';
import { archiveName, planVolume } from './params.js';
import { populateVolume, resolveContentSource } from './content-source.js';
import { withShare } from './share-session.js';
import { snapshotHandlers } from './snapshots.js';

const DEFAULT_DIR_MODE = 0o777;

/** NFS volumes are filesystems; any access mode works, since the server arbitrates writers. */
export function checkCapabilities(
  capabilities: readonly VolumeCapability[] | undefined,
  field: string,
): void {
  if (!capabilities || capabilities.length === 0)
    throw csiError(status.INVALID_ARGUMENT, `${field} is required`);
  for (const capability of capabilities) {
    if (capability.block)
      throw csiError(status.INVALID_ARGUMENT, 'block access is not supported by NFS volumes');
    if (!capability.access_mode?.mode)
      throw csiError(status.INVALID_ARGUMENT, `${field}: access_mode is required`);
  }
}

/** NOT_FOUND unless the volume id is ours and its directory exists on the server. */
async function requireVolumeDir(ctx: NfsDriverContext, id: string): Promise<void> {
  const ref = decodeVolumeId(id);
  if (!ref) throw csiError(status.NOT_FOUND, `volume ${id} does not exist`);
  const found = await withShare(ctx, ref, `looking up ${ref.subDir || '/'}`, (client) =>
    client.lookupPath(ref.subDir),
  );
  if (!found || found.attributes.type !== 'dir')
    throw csiError(status.NOT_FOUND, `volume ${id} does not exist`);
}

function ignoreStatus(...codes: number[]) {
  return (err: unknown) => {
    if (!(err instanceof NfsError && codes.includes(err.status))) throw err;
  };
}

/** Removes now-empty parents a templated multi-level subDir created ("ns/pvc" leaves "ns" behind). */
async function removeEmptyParents(client: NfsClient, subDir: string): Promise<void> {
  const names = subDir.split('/');
  for (let depth = names.length - 1; depth > 0; depth--) {
    const parentPath = names.slice(0, depth - 1).join('/');
    const parent = await client.lookupPath(parentPath);
    if (!parent) return;
    const name = names[depth - 1] ?? '';
    try {
      await client.rmdir(parent.handle, name, names.slice(0, depth).join('/'));
    } catch (err) {
      if (
        err instanceof NfsError &&
        (err.status === NFS3ERR.NOTEMPTY || err.status === NFS3ERR.EXIST || err.status === NFS3ERR.NOENT)
      )
        return;
      throw err;
    }
  }
}

export function controllerHandlers(ctx: NfsDriverContext): ServiceHandlers<'Controller'> {
  return {
    ControllerGetCapabilities: async () =>
      rpcCapabilities(
        'CREATE_DELETE_VOLUME',
        'SINGLE_NODE_MULTI_WRITER',
        'EXPAND_VOLUME',
        'CREATE_DELETE_SNAPSHOT',
        'LIST_SNAPSHOTS',
        'CLONE_VOLUME',
      ),

    ...snapshotHandlers(ctx),

    CreateVolume: async (req) => {
      const name = requireField(req.name, 'name');
      checkCapabilities(req.volume_capabilities, 'volume_capabilities');
      const plan = planVolume(name, req.parameters ?? {});
      const ref: NfsVolumeRef = plan;
      const volumeId = encodeVolumeId(ref);
      const required = toBigInt(req.capacity_range?.required_bytes);
      const limit = toBigInt(req.capacity_range?.limit_bytes);
      ctx.shares.add(`${plan.server}#${plan.share}`);
      return ctx.locks.with(`create/${name}`, async () => {
        const source = await resolveContentSource(ctx, req.volume_content_source);
        const earlier = ctx.requested.get(name);
        if (earlier) {
          const fits = required <= earlier.capacityBytes && (limit === 0n || limit >= earlier.capacityBytes);
          if (earlier.volumeId !== volumeId || !fits) {
            throw csiError(status.ALREADY_EXISTS, `volume ${name} exists with other parameters or size`);
          }
        }
        const mode = plan.mountPermissions ?? DEFAULT_DIR_MODE;
        const filled = source ? await populateVolume(ctx, plan, mode, source) : false;
        const made =
          filled ||
          (await withShare(ctx, ref, `creating ${plan.subDir}`, async (client) => {
            const dir = await client.mkdirAll(plan.subDir, mode);
            if (dir.attributes.type !== 'dir')
              throw csiError(status.ALREADY_EXISTS, `${plan.subDir} exists and is not a directory`);
            // The server may apply its own umask to MKDIR; an explicit mode is set exactly.
            if (
              plan.mountPermissions !== undefined &&
              (dir.attributes.mode & 0o7777) !== plan.mountPermissions
            ) {
              await client.setattr(dir.handle, { mode: plan.mountPermissions }, plan.subDir);
            }
            return dir.created;
          }));
        const fromSource = source?.kind === 'snapshot' ? source.sizeBytes : 0n;
        const capacityBytes = earlier?.capacityBytes ?? (required > fromSource ? required : fromSource);
        ctx.requested.set(name, { volumeId, capacityBytes });
        if (made) ctx.log.info('volume created', { name, volumeId });
        const context: Record<string, string> = {
          server: plan.server,
          share: plan.share,
          subdir: plan.subDir,
        };
        if (plan.mountPermissions !== undefined)
          context['mountpermissions'] = plan.mountPermissions.toString(8).padStart(4, '0');
        if (plan.mountOptions) context['mountoptions'] = plan.mountOptions;
        return {
          volume: {
            volume_id: volumeId,
            capacity_bytes: capacityBytes.toString(),
            volume_context: context,
            ...(source ? { content_source: source.contentSource } : {}),
          },
        };
      });
    },

    DeleteVolume: async (req) => {
      const id = requireField(req.volume_id, 'volume_id');
      const ref = decodeVolumeId(id);
      if (!ref || !ref.subDir) return {}; // not ours, or a static share: nothing to delete
      return ctx.locks.with(id, async () => {
        if (ref.onDelete === 'retain') {
          ctx.log.info('volume retained', { volumeId: id });
        } else {
          await withShare(ctx, ref, `deleting ${ref.subDir}`, async (client) => {
            if (ref.onDelete === 'archive') {
              const { parent, name, archived } = archiveName(ref.subDir);
              const parentDir = await client.lookupPath(parent);
              const current = parentDir && (await client.lookup(parentDir.handle, name, ref.subDir));
              if (!parentDir || !current) return;
              const taken = await client.lookup(parentDir.handle, archived);
              const target = taken ? `${archived}-${Date.now()}` : archived;
              await client
                .rename(parentDir.handle, name, parentDir.handle, target)
                .catch(ignoreStatus(NFS3ERR.NOENT));
              ctx.log.info('volume archived', {
                volumeId: id,
                archivedAs: parent ? `${parent}/${target}` : target,
              });
              return;
            }
            const { parent, name } = archiveName(ref.subDir);
            const parentDir = await client.lookupPath(parent);
            if (!parentDir) return;
            if (await client.removeAll(parentDir.handle, name, ref.subDir)) {
              ctx.log.info('volume deleted', { volumeId: id });
            }
            await removeEmptyParents(client, ref.subDir);
          });
        }
        for (const [name, entry] of ctx.requested) if (entry.volumeId === id) ctx.requested.delete(name);
        return {};
      });
    },

    // A directory has no size of its own: growing is accounting only (as csi-driver-nfs does it),
    // so claims can follow what an NFS quota outside berth allows.
    ControllerExpandVolume: async (req) => {
      const id = requireField(req.volume_id, 'volume_id');
      if (!req.capacity_range) throw csiError(status.INVALID_ARGUMENT, 'capacity_range is required');
      const { required, limit } = checkCapacityRange(req.capacity_range);
      if (req.volume_capability?.block)
        throw csiError(status.INVALID_ARGUMENT, 'block access is not supported by NFS volumes');
      await requireVolumeDir(ctx, id);
      const capacityBytes = required > 0n ? required : limit;
      for (const entry of ctx.requested.values())
        if (entry.volumeId === id && entry.capacityBytes < capacityBytes) entry.capacityBytes = capacityBytes;
      return { capacity_bytes: capacityBytes.toString(), node_expansion_required: false };
    },

    ValidateVolumeCapabilities: async (req) => {
      const id = requireField(req.volume_id, 'volume_id');
      if (!req.volume_capabilities || req.volume_capabilities.length === 0) {
        throw csiError(status.INVALID_ARGUMENT, 'volume_capabilities is required');
      }
      await requireVolumeDir(ctx, id);
      if (req.volume_capabilities.some((capability) => capability.block)) {
        return { message: 'NFS volumes support filesystem access only' };
      }
      return confirmedCapabilities(req, req.volume_capabilities);
    },
  };
}
