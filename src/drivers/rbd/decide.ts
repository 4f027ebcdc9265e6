// Pure request checks of the RBD driver: class parameters, capabilities and sizes. Each returns a
// value or throws a CsiError with the code the CSI spec gives for that case.
import { csiError, status } from '../../csi/errors.js';
import type { CapacityRange, VolumeCapability } from '../../csi/types.js';
import { toBigInt } from '../../csi/types.js';
import type { MounterName } from './config.js';
import { MOUNTERS } from './config.js';

export const MIB = 1024n * 1024n;
export const DEFAULT_VOLUME_BYTES = 1024n * MIB;
export const FS_TYPE_PARAMETER = 'csi.storage.k8s.io/fstype';
export const DEFAULT_FS_TYPE = 'ext4';
export const FS_TYPES: readonly string[] = ['ext4', 'ext3', 'xfs'];
export const DEFAULT_IMAGE_FEATURES = ['layering'];
/** Features `rbd create --image-feature` accepts for a new image. */
export const IMAGE_FEATURES: readonly string[] = [
  'layering',
  'exclusive-lock',
  'object-map',
  'fast-diff',
  'deep-flatten',
  'journaling',
];

export type AccessType = 'block' | 'mount';

export interface ClassParameters {
  clusterID: string;
  pool: string;
  dataPool: string | undefined;
  imageFeatures: string[];
  mounter: MounterName | undefined;
}

const SINGLE_NODE_MODES: ReadonlySet<string> = new Set([
  'SINGLE_NODE_WRITER',
  'SINGLE_NODE_READER_ONLY',
  'SINGLE_NODE_SINGLE_WRITER',
  'SINGLE_NODE_MULTI_WRITER',
]);
const MULTI_NODE_MODES: ReadonlySet<string> = new Set([
  'MULTI_NODE_READER_ONLY',
  'MULTI_NODE_SINGLE_WRITER',
  'MULTI_NODE_MULTI_WRITER',
]);
const POOL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function parseMounter(value: string | undefined): MounterName | undefined {
  if (value === undefined || value === '') return undefined;
  if (!(MOUNTERS as readonly string[]).includes(value)) {
    throw csiError(status.INVALID_ARGUMENT, `mounter ${value} is not one of ${MOUNTERS.join(', ')}`);
  }
  return value as MounterName;
}

/** The StorageClass parameters the driver reads (the provisioner strips its own csi.storage.k8s.io/ keys). */
export function parseClassParameters(parameters: Record<string, string>): ClassParameters {
  const clusterID = parameters['clusterID'] ?? '';
  if (!clusterID) throw csiError(status.INVALID_ARGUMENT, 'empty cluster ID to provision volume from');
  const pool = parameters['pool'] ?? '';
  if (!pool) throw csiError(status.INVALID_ARGUMENT, 'missing required parameter pool');
  for (const [key, value] of [
    ['pool', pool],
    ['dataPool', parameters['dataPool']],
  ] as const) {
    if (value !== undefined && value !== '' && !POOL_NAME.test(value)) {
      throw csiError(status.INVALID_ARGUMENT, `${key} ${value} is not a valid pool name`);
    }
  }
  const featureText = parameters['imageFeatures'];
  let imageFeatures = DEFAULT_IMAGE_FEATURES;
  if (featureText !== undefined) {
    imageFeatures = featureText
      .split(',')
      .map((feature) => feature.trim())
      .filter((feature) => feature !== '');
    if (imageFeatures.length === 0) throw csiError(status.INVALID_ARGUMENT, 'imageFeatures is empty');
    const unknown = imageFeatures.filter((feature) => !IMAGE_FEATURES.includes(feature));
    if (unknown.length > 0) {
      throw csiError(status.INVALID_ARGUMENT, `unknown image features: ${unknown.join(', ')}`);
    }
  }
  return {
    clusterID,
    pool,
    dataPool: parameters['dataPool'] || undefined,
    imageFeatures,
    mounter: parseMounter(parameters['mounter']),
  };
}

export function accessTypeOf(capability: VolumeCapability): AccessType | undefined {
  if (capability.access_type) return capability.access_type;
  if (capability.block) return 'block';
  if (capability.mount) return 'mount';
  return undefined;
}

/** Checks one capability; returns its access type. Filesystems live on one node; blocks may be shared. */
export function checkCapability(capability: VolumeCapability | null | undefined, field: string): AccessType {
  if (!capability) throw csiError(status.INVALID_ARGUMENT, `${field} is required`);
  const accessType = accessTypeOf(capability);
  if (!accessType) throw csiError(status.INVALID_ARGUMENT, `${field} needs an access type (block or mount)`);
  const mode = capability.access_mode?.mode;
  if (!mode || mode === 'UNKNOWN') throw csiError(status.INVALID_ARGUMENT, `${field} needs an access mode`);
  if (MULTI_NODE_MODES.has(mode) && accessType === 'mount') {
    throw csiError(
      status.INVALID_ARGUMENT,
      `access mode ${mode} is only supported on block volumes: a filesystem on RBD is single-node`,
    );
  }
  if (!SINGLE_NODE_MODES.has(mode) && !MULTI_NODE_MODES.has(mode)) {
    throw csiError(status.INVALID_ARGUMENT, `access mode ${mode} is not supported`);
  }
  const fsType = capability.mount?.fs_type ?? '';
  if (accessType === 'mount' && fsType !== '' && !FS_TYPES.includes(fsType)) {
    throw csiError(status.INVALID_ARGUMENT, `fs_type ${fsType} is not supported`);
  }
  return accessType;
}

export function checkCapabilities(capabilities: readonly VolumeCapability[] | undefined): AccessType {
  if (!capabilities || capabilities.length === 0) {
    throw csiError(status.INVALID_ARGUMENT, 'volume_capabilities are required');
  }
  const types = new Set(capabilities.map((cap, i) => checkCapability(cap, `volume_capabilities[${i}]`)));
  if (types.size > 1) throw csiError(status.INVALID_ARGUMENT, 'a volume cannot be both block and mount');
  return [...types][0]!;
}

/** Multi-node block volumes are opened from several places at once; the in-use check does not apply. */
export function isShared(capability: VolumeCapability): boolean {
  return MULTI_NODE_MODES.has(capability.access_mode?.mode ?? '');
}

export function isReadOnlyMode(capability: VolumeCapability): boolean {
  const mode = capability.access_mode?.mode;
  return mode === 'SINGLE_NODE_READER_ONLY' || mode === 'MULTI_NODE_READER_ONLY';
}

/** Size of a new (or grown) image: required rounded up to MiB, within limit; `fallback` when no range. */
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
  const size = ((required + MIB - 1n) / MIB) * MIB;
  if (limit > 0n && size > limit) {
    throw csiError(status.OUT_OF_RANGE, `no multiple of 1 MiB lies between ${required} and ${limit} bytes`);
  }
  return size;
}

/** Does an existing image of `capacity` satisfy `range`? */
export function sizeSatisfies(capacity: bigint, range: CapacityRange | null | undefined): boolean {
  const required = toBigInt(range?.required_bytes);
  const limit = toBigInt(range?.limit_bytes);
  if (required === 0n && limit === 0n) return true;
  return capacity >= required && (limit === 0n || capacity <= limit);
}

/** mkfs arguments for a fresh RBD image: no discard pass (a new image is all holes), lazy ext4 init. */
export function mkfsCommand(fsType: string, device: string): [string, string[]] {
  if (fsType === 'xfs') return ['mkfs.xfs', ['-q', '-f', '-K', device]];
  return [
    `mkfs.${fsType}`,
    ['-q', '-F', '-m0', '-E', 'nodiscard,lazy_itable_init=1,lazy_journal_init=1', device],
  ];
}
