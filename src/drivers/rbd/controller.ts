// Controller service of the RBD driver: images `csi-vol-<uuid>` in the class's pool, made
// idempotent by the journal in that pool, removed only when nobody has them open.
import { randomUUID } from 'node:crypto';
import { csiError, status } from '../../csi/errors.js';
import type { ServiceHandlers } from '../../csi/server.js';
import {
  FS_TYPE_PARAMETER,
  accessTypeOf,
  checkCapabilities,
  confirmedCapabilities,
  requireCapabilities,
} from '../common/capability.js';
import { requireField } from '../common/require-field.js';
import { rpcCapabilities } from '../common/rpc-capabilities.js';
import { isBusy, isPoolMissing } from './ceph-cli.js';
import {
  cloneFromSource,
  enforceCloneDepth,
  resolveContentSource,
  sizeFromSource,
} from './content-source.js';
import type { CephTarget } from './ceph-cli.js';
import type { RbdDriverContext } from './context.js';
import type { ImageSpec } from './images.js';
import { cephCall, clusterOf, targetFor, volumeRefOrNotFound } from './context.js';
import { checkCapability, decideSize, parseClassParameters, sizeSatisfies } from './decide.js';
import {
  CLONE_SNAPSHOT_PREFIX,
  MAX_VOLUME_ID_LENGTH,
  composeVolumeId,
  deletedImageName,
  imageName,
  nameKey,
  parseVolumeId,
} from './names.js';
import { snapshotHandlers } from './snapshots.js';

export function controllerHandlers(ctx: RbdDriverContext): ServiceHandlers<'Controller'> {
  /**
   * Before a volume's image goes: clones made from it are flattened first (FAILED_PRECONDITION until
   * then), and if snapshots of it remain the image is renamed aside instead (true), to be removed
   * with its last snapshot.
   */
  const keptForSnapshots = async (target: CephTarget, image: ImageSpec, id: string, uuid: string) => {
    const snaps = await ctx.images.snapshots(target, image);
    if (!snaps || snaps.length === 0) return false;
    const waiting: string[] = [];
    for (const snap of snaps.filter((s) => s.name.startsWith(CLONE_SNAPSHOT_PREFIX))) {
      const spec = { ...image, snapshot: snap.name };
      const children = await ctx.images.children(target, spec);
      if (children.length === 0) {
        await ctx.images.removeSnapshot(target, spec);
        continue;
      }
      for (const child of children) {
        ctx.flattener.start(target, child);
        waiting.push(`${child.pool}/${child.image}`);
      }
    }
    if (waiting.length > 0) {
      throw csiError(
        status.FAILED_PRECONDITION,
        `volume ${id} has clones that are being flattened first: ${waiting.join(', ')}`,
      );
    }
    if (((await ctx.images.snapshots(target, image)) ?? []).length === 0) return false;
    const watchers = await ctx.images.watchers(target, image);
    if (watchers.length > 0) {
      throw csiError(status.FAILED_PRECONDITION, `volume ${id} is still in use: image has watchers`);
    }
    await ctx.images.rename(target, image, deletedImageName(uuid));
    return true;
  };

  return {
    ControllerGetCapabilities: async () =>
      rpcCapabilities(
        'CREATE_DELETE_VOLUME',
        'EXPAND_VOLUME',
        'CREATE_DELETE_SNAPSHOT',
        'LIST_SNAPSHOTS',
        'CLONE_VOLUME',
      ),

    ...snapshotHandlers(ctx),

    CreateVolume: async (req) => {
      const name = requireField(req.name, 'name');
      checkCapabilities(req.volume_capabilities, checkCapability);
      const parameters = req.parameters ?? {};
      const params = parseClassParameters(parameters);
      const cluster = clusterOf(ctx, params.clusterID, status.INVALID_ARGUMENT);
      const probeId = composeVolumeId({ clusterID: params.clusterID, pool: params.pool, uuid: randomUUID() });
      if (probeId.length > MAX_VOLUME_ID_LENGTH) {
        throw csiError(
          status.INVALID_ARGUMENT,
          `clusterID and pool are too long for a ${MAX_VOLUME_ID_LENGTH}-byte volume id`,
        );
      }
      const key = nameKey(name);
      return ctx.locks.with(`name:${key}`, async () => {
        const target = await targetFor(cluster, req.secrets, 'provisioner');
        const { pool } = params;
        const source = await cephCall(`CreateVolume ${name}`, target.credentials.userID, () =>
          resolveContentSource(ctx, req.volume_content_source, target, params.clusterID),
        );
        const size = source
          ? sizeFromSource(req.capacity_range, source.sizeBytes)
          : decideSize(req.capacity_range);
        const volume = (uuid: string, bytes: bigint) => {
          const context: Record<string, string> = {
            clusterID: params.clusterID,
            pool,
            imageName: imageName(uuid),
            imageFeatures: params.imageFeatures.join(','),
          };
          if (params.mounter) context['mounter'] = params.mounter;
          const fsType = parameters[FS_TYPE_PARAMETER];
          if (fsType) context[FS_TYPE_PARAMETER] = fsType;
          return {
            volume: {
              volume_id: composeVolumeId({ clusterID: params.clusterID, pool, uuid }),
              capacity_bytes: bytes.toString(),
              volume_context: context,
              ...(source ? { content_source: source.contentSource } : {}),
            },
          };
        };
        return cephCall(`CreateVolume ${name}`, target.credentials.userID, async () => {
          let uuid = await ctx.journal.lookup(target, pool, key);
          if (uuid) {
            const existing = await ctx.images.info(target, { pool, image: imageName(uuid) });
            if (existing) {
              if (!sizeSatisfies(existing.sizeBytes, req.capacity_range)) {
                throw csiError(
                  status.ALREADY_EXISTS,
                  `volume ${name} exists with ${existing.sizeBytes} bytes, which does not fit the request`,
                );
              }
              if (source) await enforceCloneDepth(ctx, target, { pool, image: imageName(uuid) }, name);
              return volume(uuid, existing.sizeBytes);
            }
            // Reserved by an earlier call that never made the image: finish its work.
          } else {
            uuid = randomUUID();
            await ctx.journal.reserve(target, pool, key, uuid);
          }
          const image = { pool, image: imageName(uuid) };
          const options = { sizeBytes: size, features: params.imageFeatures, dataPool: params.dataPool };
          try {
            if (source) await cloneFromSource(ctx, target, source, image, uuid, options);
            else await ctx.images.create(target, image, options);
          } catch (err) {
            await ctx.journal.release(target, pool, key, uuid).catch(() => undefined);
            throw err;
          }
          ctx.log.info('volume created', { name, pool, image: image.image, bytes: size.toString() });
          if (source) await enforceCloneDepth(ctx, target, image, name);
          return volume(uuid, size);
        });
      });
    },

    DeleteVolume: async (req) => {
      const id = requireField(req.volume_id, 'volume_id');
      const ref = parseVolumeId(id);
      if (!ref) return {}; // not a volume of this driver: nothing to delete
      const cluster = clusterOf(ctx, ref.clusterID, status.INVALID_ARGUMENT);
      const target = await targetFor(cluster, req.secrets, 'provisioner');
      const image = { pool: ref.pool, image: imageName(ref.uuid) };
      return cephCall(`DeleteVolume ${id}`, target.credentials.userID, async () => {
        let key: string | undefined;
        try {
          key = await ctx.journal.nameKeyOf(target, ref.pool, ref.uuid);
        } catch (err) {
          if (isPoolMissing(err)) return {}; // the pool went, and the image with it
          throw err;
        }
        return ctx.locks.with(key === undefined ? `uuid:${ref.uuid}` : `name:${key}`, async () => {
          if (await keptForSnapshots(target, image, id, ref.uuid)) {
            await ctx.journal.release(target, ref.pool, key, ref.uuid);
            ctx.log.info('volume deleted; its image stays for its snapshots', { volumeId: id });
            return {};
          }
          try {
            await ctx.images.remove(target, image);
          } catch (err) {
            if (isBusy(err)) {
              throw csiError(
                status.FAILED_PRECONDITION,
                `volume ${id} is still in use: image ${image.pool}/${image.image} has watchers`,
              );
            }
            throw err;
          }
          await ctx.journal.release(target, ref.pool, key, ref.uuid);
          ctx.log.info('volume deleted', { volumeId: id, image: image.image });
          return {};
        });
      });
    },

    ValidateVolumeCapabilities: async (req) => {
      const id = requireField(req.volume_id, 'volume_id');
      const capabilities = requireCapabilities(req.volume_capabilities);
      const ref = volumeRefOrNotFound(id);
      const cluster = clusterOf(ctx, ref.clusterID, status.NOT_FOUND);
      const target = await targetFor(cluster, req.secrets, 'controller');
      const info = await cephCall(`ValidateVolumeCapabilities ${id}`, target.credentials.userID, () =>
        ctx.images.info(target, { pool: ref.pool, image: imageName(ref.uuid) }),
      );
      if (!info) throw csiError(status.NOT_FOUND, `volume ${id} does not exist`);
      try {
        checkCapabilities(capabilities, checkCapability);
      } catch (err) {
        return { message: (err as Error).message };
      }
      return confirmedCapabilities(req, capabilities);
    },

    ControllerExpandVolume: async (req) => {
      const id = requireField(req.volume_id, 'volume_id');
      if (!req.capacity_range) throw csiError(status.INVALID_ARGUMENT, 'capacity_range is required');
      if (req.volume_capability) checkCapability(req.volume_capability, 'volume_capability');
      const ref = volumeRefOrNotFound(id);
      const cluster = clusterOf(ctx, ref.clusterID, status.NOT_FOUND);
      const target = await targetFor(cluster, req.secrets, 'controller-expand');
      const image = { pool: ref.pool, image: imageName(ref.uuid) };
      return ctx.locks.with(`uuid:${ref.uuid}`, () =>
        cephCall(`ControllerExpandVolume ${id}`, target.credentials.userID, async () => {
          const info = await ctx.images.info(target, image);
          if (!info) throw csiError(status.NOT_FOUND, `volume ${id} does not exist`);
          const size = decideSize(req.capacity_range, info.sizeBytes);
          if (size > info.sizeBytes) {
            await ctx.images.resize(target, image, size);
            ctx.log.info('volume expanded', { volumeId: id, bytes: size.toString() });
          }
          const block = req.volume_capability ? accessTypeOf(req.volume_capability) === 'block' : false;
          return {
            capacity_bytes: (size > info.sizeBytes ? size : info.sizeBytes).toString(),
            node_expansion_required: !block,
          };
        }),
      );
    },
  };
}
