// Controller service of the local driver: volumes are sparse files in the data directory of the
// node the driver runs on (node-deployment mode: every node provisions for itself).
import { csiError, status } from '../../csi/errors.js';
import type { ServiceHandlers } from '../../csi/server.js';
import type { ListVolumesResponse, PartialMessage, Volume, VolumeContentSource } from '../../csi/types.js';
import { toBigInt } from '../../csi/types.js';
import { confirmedCapabilities, requireCapabilities } from '../common/capability.js';
import { requireField } from '../common/require-field.js';
import { rpcCapabilities } from '../common/rpc-capabilities.js';
import type { LocalDriverContext } from './context.js';
import { snapshotHandlers } from './snapshots.js';
import { contentSourceId, createFromSource } from './volume-sources.js';
import {
  capabilityFits,
  checkCapability,
  decideShape,
  decideSize,
  sizeSatisfies,
  topologyAllows,
  topologyIsThisNode,
} from './decide.js';
import { keyOfSnapshotId, keyOfVolumeId, nodeSegments, volumeId, volumeKey } from './names.js';
import type { LocalVolume } from './volume-store.js';

export function toCsiVolume(nodeId: string, volume: LocalVolume): PartialMessage<Volume> {
  return {
    volume_id: volumeId(nodeId, volume.key),
    capacity_bytes: volume.capacityBytes.toString(),
    volume_context: {},
    content_source: contentSourceOf(nodeId, volume.contentSource),
    accessible_topology: [{ segments: nodeSegments(nodeId) }],
  };
}

import { findVolume } from './find.js';

export { findVolume };

/** The content source a volume reports: the snapshot or volume it was made from. */
function contentSourceOf(nodeId: string, id: string | undefined): PartialMessage<VolumeContentSource> | null {
  if (!id) return null;
  return keyOfSnapshotId(nodeId, id) !== undefined
    ? { snapshot: { snapshot_id: id } }
    : { volume: { volume_id: id } };
}

export function controllerHandlers(ctx: LocalDriverContext): ServiceHandlers<'Controller'> {
  const segments = nodeSegments(ctx.nodeId);
  return {
    ControllerGetCapabilities: async () =>
      rpcCapabilities(
        'CREATE_DELETE_VOLUME',
        'GET_CAPACITY',
        'EXPAND_VOLUME',
        'LIST_VOLUMES',
        'CREATE_DELETE_SNAPSHOT',
        'LIST_SNAPSHOTS',
        'CLONE_VOLUME',
      ),
    ...snapshotHandlers(ctx),

    CreateVolume: async (req) => {
      const name = requireField(req.name, 'name');
      const shape = decideShape(req.volume_capabilities, req.parameters ?? {});
      const source = req.volume_content_source ?? undefined;
      const sourceId = contentSourceId(source);
      if (!topologyAllows(req.accessibility_requirements, segments)) {
        throw csiError(status.RESOURCE_EXHAUSTED, `requisite topology does not include node ${ctx.nodeId}`);
      }
      const size = decideSize(req.capacity_range);
      const key = volumeKey(name);
      return ctx.locks.with(key, async () => {
        const existing = await ctx.store.get(key);
        if (existing) {
          const same =
            existing.name === name &&
            sizeSatisfies(existing.capacityBytes, req.capacity_range) &&
            existing.accessType === shape.accessType &&
            existing.fsType === shape.fsType &&
            // a request without a source (a clean-up looking for its volume) is the same request
            (sourceId === undefined || existing.contentSource === sourceId);
          if (!same) {
            throw csiError(
              status.ALREADY_EXISTS,
              `volume ${name} exists with a different size, access type or content source`,
            );
          }
          return { volume: toCsiVolume(ctx.nodeId, existing) };
        }
        const available = await ctx.store.availableBytes();
        if (size > available) {
          throw csiError(
            status.RESOURCE_EXHAUSTED,
            `${size} bytes requested, ${roughly(available)} available`,
          );
        }
        const created =
          source && sourceId
            ? await createFromSource(ctx, { name, key, shape, size, source })
            : await ctx.store.create({ key, name, capacityBytes: size, ...shape });
        ctx.log.info('volume created', {
          name,
          key,
          bytes: size.toString(),
          accessType: shape.accessType,
          ...(sourceId ? { source: sourceId } : {}),
        });
        return { volume: toCsiVolume(ctx.nodeId, created) };
      });
    },

    DeleteVolume: async (req) => {
      const id = requireField(req.volume_id, 'volume_id');
      const key = keyOfVolumeId(ctx.nodeId, id);
      if (key === undefined) return {}; // not a volume of this node: nothing to delete
      if (ctx.store.isGone(key)) return {}; // a retry of a finished delete
      return ctx.locks.with(key, async () => {
        // a volume never staged has no backing file, so no loop device can serve it
        const attached = ctx.store.hasBackingFile(key)
          ? await ctx.loops.findByFile(ctx.store.imagePath(key))
          : [];
        if (attached.length > 0) {
          const devices = attached.map((loop) => loop.device).join(', ');
          throw csiError(status.FAILED_PRECONDITION, `volume ${id} is in use (staged on ${devices})`);
        }
        await ctx.store.delete(key);
        ctx.log.info('volume deleted', { volumeId: id });
        return {};
      });
    },

    ValidateVolumeCapabilities: async (req) => {
      const id = requireField(req.volume_id, 'volume_id');
      const capabilities = requireCapabilities(req.volume_capabilities);
      const volume = await findVolume(ctx, id);
      for (const [i, capability] of capabilities.entries()) {
        try {
          checkCapability(capability, `volume_capabilities[${i}]`);
        } catch (err) {
          return { message: (err as Error).message };
        }
        if (!capabilityFits(volume, capability)) {
          return { message: `volume_capabilities[${i}] does not fit a ${volume.accessType} volume` };
        }
      }
      return confirmedCapabilities(req, capabilities);
    },

    ListVolumes: async (req) => {
      const maxEntries = req.max_entries ?? 0;
      if (maxEntries < 0) throw csiError(status.INVALID_ARGUMENT, 'max_entries must not be negative');
      const volumes = await ctx.store.list();
      let start = 0;
      if (req.starting_token) {
        start = /^\d+$/.test(req.starting_token) ? Number(req.starting_token) : -1;
        if (start < 0 || start > volumes.length) {
          throw csiError(status.ABORTED, `starting_token ${req.starting_token} is not valid`);
        }
      }
      const end = maxEntries > 0 ? Math.min(volumes.length, start + maxEntries) : volumes.length;
      const response: PartialMessage<ListVolumesResponse> = {
        entries: volumes.slice(start, end).map((volume) => ({ volume: toCsiVolume(ctx.nodeId, volume) })),
      };
      if (end < volumes.length) response.next_token = String(end);
      return response;
    },

    GetCapacity: async (req) => {
      const fits =
        topologyIsThisNode(req.accessible_topology, segments) &&
        (req.volume_capabilities ?? []).every((capability, i) => {
          try {
            checkCapability(capability, `volume_capabilities[${i}]`);
            return true;
          } catch {
            return false;
          }
        });
      if (!fits) return { available_capacity: '0' };
      const available = (await ctx.store.availableBytes()).toString();
      return { available_capacity: available, maximum_volume_size: { value: available } };
    },

    ControllerExpandVolume: async (req) => {
      const id = requireField(req.volume_id, 'volume_id');
      if (!req.capacity_range) throw csiError(status.INVALID_ARGUMENT, 'capacity_range is required');
      if (req.volume_capability) checkCapability(req.volume_capability, 'volume_capability');
      const volume = await findVolume(ctx, id);
      const limit = toBigInt(req.capacity_range.limit_bytes);
      if (limit > 0n && limit < volume.capacityBytes) {
        throw csiError(
          status.OUT_OF_RANGE,
          `volume ${id} has ${volume.capacityBytes} bytes; it cannot shrink`,
        );
      }
      const size = decideSize(req.capacity_range, volume.capacityBytes);
      return ctx.locks.with(volume.key, async () => {
        const grown = await ctx.store.grow(volume, size);
        // A staged volume's loop device learns its new size here, so block volumes need no node step.
        for (const loop of await ctx.loops.findByFile(ctx.store.imagePath(volume.key))) {
          await ctx.loops.refreshSize(loop.device);
        }
        if (grown !== volume) ctx.log.info('volume expanded', { volumeId: id, bytes: size.toString() });
        return {
          capacity_bytes: grown.capacityBytes.toString(),
          node_expansion_required: grown.accessType === 'mount',
        };
      });
    },
  };
}

/**
 * Free space rounded down to whole GiB (MiB below 1 GiB): the exact figure drifts with every write
 * to the host's disk, and a message that changes at each retry would defeat event correlation.
 */
function roughly(bytes: bigint): string {
  const gib = 1n << 30n;
  return bytes >= gib ? `about ${bytes / gib}Gi` : `about ${bytes / (1n << 20n)}Mi`;
}
