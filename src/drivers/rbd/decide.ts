// Pure request checks of the RBD driver: class parameters, capabilities and sizes. Each returns a
// value or throws a CsiError with the code the CSI spec gives for that case.
import { csiError, status } from '../../csi/errors.js';
import type { VolumeCapability } from '../../csi/types.js';
import type { AccessType } from '../common/capability.js';
import { SINGLE_NODE_MODES, checkCapabilityWith } from '../common/capability.js';
import type { MounterName } from './config.js';
import { MOUNTERS } from './config.js';

export { decideSize, sizeSatisfies } from '../common/capacity.js';

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

export interface ClassParameters {
  clusterID: string;
  pool: string;
  dataPool: string | undefined;
  imageFeatures: string[];
  mounter: MounterName | undefined;
}

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

function refuseMode(mode: string, accessType: AccessType): string | undefined {
  if (MULTI_NODE_MODES.has(mode) && accessType === 'mount') {
    return `access mode ${mode} is only supported on block volumes: a filesystem on RBD is single-node`;
  }
  if (!SINGLE_NODE_MODES.has(mode) && !MULTI_NODE_MODES.has(mode))
    return `access mode ${mode} is not supported`;
  return undefined;
}

/** Checks one capability; returns its access type. Filesystems live on one node; blocks may be shared. */
export function checkCapability(capability: VolumeCapability | null | undefined, field: string): AccessType {
  return checkCapabilityWith(capability, field, refuseMode);
}

/** Multi-node block volumes are opened from several places at once; the in-use check does not apply. */
export function isShared(capability: VolumeCapability): boolean {
  return MULTI_NODE_MODES.has(capability.access_mode?.mode ?? '');
}

/** mkfs arguments for a fresh RBD image: no discard pass (a new image is all holes), lazy ext4 init. */
export function mkfsCommand(fsType: string, device: string): [string, string[]] {
  if (fsType === 'xfs') return ['mkfs.xfs', ['-q', '-f', '-K', device]];
  return [
    `mkfs.${fsType}`,
    ['-q', '-F', '-m0', '-E', 'nodiscard,lazy_itable_init=1,lazy_journal_init=1', device],
  ];
}
