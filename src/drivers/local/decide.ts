// Pure request checks of the local driver: sizes, capabilities, topology, compatibility. Each
// returns a value or throws a CsiError with the code the CSI spec gives for that case.
import { csiError, status } from '../../csi/errors.js';
import type { Topology, TopologyRequirement, VolumeCapability } from '../../csi/types.js';
import { isSupportedFsType } from '../../host/filesystem.js';
import type { SupportedFsType } from '../../host/filesystem.js';
import type { AccessType } from '../common/capability.js';
import {
  DEFAULT_FS_TYPE,
  FS_TYPE_PARAMETER,
  SINGLE_NODE_MODES,
  accessTypeOf,
  checkCapabilities,
  checkCapabilityWith,
  requireCapabilities,
} from '../common/capability.js';

export { decideSize, sizeSatisfies } from '../common/capacity.js';

export interface VolumeShape {
  accessType: AccessType;
  /** Empty for block volumes. */
  fsType: SupportedFsType | '';
}

/** Checks one capability; returns its access type. Local volumes serve single-node modes only. */
export function checkCapability(capability: VolumeCapability | null | undefined, field: string): AccessType {
  return checkCapabilityWith(capability, field, (mode) =>
    SINGLE_NODE_MODES.has(mode)
      ? undefined
      : `access mode ${mode} is not supported: local volumes live on one node`,
  );
}

/** The shape of a new volume from its capabilities and parameters. */
export function decideShape(
  capabilities: readonly VolumeCapability[] | undefined,
  parameters: Record<string, string>,
): VolumeShape {
  const list = requireCapabilities(capabilities);
  if (checkCapabilities(list, checkCapability) === 'block') return { accessType: 'block', fsType: '' };
  const requested = new Set(list.map((cap) => cap.mount?.fs_type ?? '').filter((t) => t !== ''));
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
