// Pure request checks of the local driver: sizes, capabilities, topology, compatibility. Each
// returns a value or throws a CsiError with the code the CSI spec gives for that case.
import { csiError, status } from '../../csi/errors.js';
import type { CapacityRange, Topology, TopologyRequirement, VolumeCapability } from '../../csi/types.js';
import { toBigInt } from '../../csi/types.js';
import { isSupportedFsType } from '../../node/mount/filesystem.js';
import type { SupportedFsType } from '../../node/mount/filesystem.js';
import { DEFAULT_VOLUME_BYTES, MIB } from './names.js';

export type AccessType = 'block' | 'mount';

export interface VolumeShape {
  accessType: AccessType;
  /** Empty for block volumes. */
  fsType: SupportedFsType | '';
}

/** The fs type a StorageClass passes through external-provisioner. */
export const FS_TYPE_PARAMETER = 'csi.storage.k8s.io/fstype';
export const DEFAULT_FS_TYPE: SupportedFsType = 'ext4';

const SINGLE_NODE_MODES = new Set([
  'SINGLE_NODE_WRITER',
  'SINGLE_NODE_READER_ONLY',
  'SINGLE_NODE_SINGLE_WRITER',
  'SINGLE_NODE_MULTI_WRITER',
]);

function roundUpToMiB(bytes: bigint): bigint {
  return ((bytes + MIB - 1n) / MIB) * MIB;
}

/** Size of a new (or grown) volume: required rounded up to MiB, within limit; default when no range. */
export function decideSize(range: CapacityRange | null | undefined, fallback = DEFAULT_VOLUME_BYTES): bigint {
  const required = toBigInt(range?.required_bytes);
  const limit = toBigInt(range?.limit_bytes);
  if (required < 0n || limit < 0n)
    throw csiError(status.INVALID_ARGUMENT, 'capacity_range must not be negative');
  if (limit > 0n && required > limit) {
    throw csiError(status.OUT_OF_RANGE, `required_bytes ${required} exceeds limit_bytes ${limit}`);
  }
  if (required === 0n && limit === 0n) return fallback;
  if (required === 0n) {
    const size = limit < fallback ? (limit / MIB) * MIB : fallback;
    if (size === 0n)
      throw csiError(status.OUT_OF_RANGE, `limit_bytes ${limit} is below the 1 MiB granularity`);
    return size;
  }
  const size = roundUpToMiB(required);
  if (limit > 0n && size > limit) {
    throw csiError(status.OUT_OF_RANGE, `no multiple of 1 MiB lies between ${required} and ${limit} bytes`);
  }
  return size;
}

/** Does an existing volume of `capacity` satisfy `range`? */
export function sizeSatisfies(capacity: bigint, range: CapacityRange | null | undefined): boolean {
  const required = toBigInt(range?.required_bytes);
  const limit = toBigInt(range?.limit_bytes);
  if (required === 0n && limit === 0n) return true;
  return capacity >= required && (limit === 0n || capacity <= limit);
}

export function accessTypeOf(capability: VolumeCapability): AccessType | undefined {
  if (capability.access_type) return capability.access_type;
  if (capability.block) return 'block';
  if (capability.mount) return 'mount';
  return undefined;
}

/** Checks one capability; returns its access type. */
export function checkCapability(capability: VolumeCapability | null | undefined, field: string): AccessType {
  if (!capability) throw csiError(status.INVALID_ARGUMENT, `${field} is required`);
  const accessType = accessTypeOf(capability);
  if (!accessType) throw csiError(status.INVALID_ARGUMENT, `${field} needs an access type (block or mount)`);
  const mode = capability.access_mode?.mode;
  if (!mode || mode === 'UNKNOWN') throw csiError(status.INVALID_ARGUMENT, `${field} needs an access mode`);
  if (!SINGLE_NODE_MODES.has(mode)) {
    throw csiError(
      status.INVALID_ARGUMENT,
      `access mode ${mode} is not supported: local volumes live on one node`,
    );
  }
  const fsType = capability.mount?.fs_type ?? '';
  if (accessType === 'mount' && fsType !== '' && !isSupportedFsType(fsType)) {
    throw csiError(status.INVALID_ARGUMENT, `fs_type ${fsType} is not supported`);
  }
  return accessType;
}

/** The shape of a new volume from its capabilities and parameters. */
export function decideShape(
  capabilities: readonly VolumeCapability[] | undefined,
  parameters: Record<string, string>,
): VolumeShape {
  if (!capabilities || capabilities.length === 0) {
    throw csiError(status.INVALID_ARGUMENT, 'volume_capabilities are required');
  }
  const types = new Set(capabilities.map((cap, i) => checkCapability(cap, `volume_capabilities[${i}]`)));
  if (types.size > 1) throw csiError(status.INVALID_ARGUMENT, 'a volume cannot be both block and mount');
  if (types.has('block')) return { accessType: 'block', fsType: '' };
  const requested = new Set(capabilities.map((cap) => cap.mount?.fs_type ?? '').filter((t) => t !== ''));
  const fromParameter = parameters[FS_TYPE_PARAMETER] ?? '';
  if (fromParameter !== '') requested.add(fromParameter);
  if (requested.size > 1)
    throw csiError(status.INVALID_ARGUMENT, `conflicting fs types: ${[...requested].join(', ')}`);
  const fsType = [...requested][0] ?? DEFAULT_FS_TYPE;
  if (!isSupportedFsType(fsType))
    throw csiError(status.INVALID_ARGUMENT, `fs type ${fsType} is not supported`);
  return { accessType: 'mount', fsType };
}

/** Can a volume of `shape` serve `capability`? (the fs type must match when the CO names one) */
export function capabilityFits(shape: VolumeShape, capability: VolumeCapability): boolean {
  if (accessTypeOf(capability) !== shape.accessType) return false;
  const fsType = capability.mount?.fs_type ?? '';
  return shape.accessType === 'block' || fsType === '' || fsType === shape.fsType;
}

function topologyMatches(topology: Topology, segments: Record<string, string>): boolean {
  return Object.entries(topology.segments ?? {}).every(([key, value]) => segments[key] === value);
}

/** Requisite topologies must include this node; preferred ones only order choices, so they never refuse. */
export function topologyAllows(
  requirement: TopologyRequirement | null | undefined,
  segments: Record<string, string>,
) {
  const requisite = requirement?.requisite ?? [];
  return requisite.length === 0 || requisite.some((topology) => topologyMatches(topology, segments));
}

export function topologyIsThisNode(
  topology: Topology | null | undefined,
  segments: Record<string, string>,
): boolean {
  return !topology || topologyMatches(topology, segments);
}
