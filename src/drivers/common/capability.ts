// Volume capability checks and answers the drivers share; each driver adds only which access modes
// it serves.
import { csiError, status } from '../../csi/errors.js';
import type {
  PartialMessage,
  ValidateVolumeCapabilitiesRequest,
  ValidateVolumeCapabilitiesResponse,
  VolumeCapability,
} from '../../csi/types.js';
import { isSupportedFsType } from '../../host/filesystem.js';
import type { SupportedFsType } from '../../host/filesystem.js';

export type AccessType = 'block' | 'mount';

/** The fs type a StorageClass passes through external-provisioner. */
export const FS_TYPE_PARAMETER = 'csi.storage.k8s.io/fstype';
export const DEFAULT_FS_TYPE: SupportedFsType = 'ext4';

export const SINGLE_NODE_MODES: ReadonlySet<string> = new Set([
  'SINGLE_NODE_WRITER',
  'SINGLE_NODE_READER_ONLY',
  'SINGLE_NODE_SINGLE_WRITER',
  'SINGLE_NODE_MULTI_WRITER',
]);

/** Why a driver refuses an access mode (the INVALID_ARGUMENT message), or undefined when it serves it. */
export type AccessModeRefusal = (mode: string, accessType: AccessType) => string | undefined;

export function accessTypeOf(capability: VolumeCapability): AccessType | undefined {
  if (capability.access_type) return capability.access_type;
  if (capability.block) return 'block';
  if (capability.mount) return 'mount';
  return undefined;
}

/** Checks one capability (present, access type, access mode, fs type); returns its access type. */
export function checkCapabilityWith(
  capability: VolumeCapability | null | undefined,
  field: string,
  refuseMode: AccessModeRefusal,
): AccessType {
  if (!capability) throw csiError(status.INVALID_ARGUMENT, `${field} is required`);
  const accessType = accessTypeOf(capability);
  if (!accessType) throw csiError(status.INVALID_ARGUMENT, `${field} needs an access type (block or mount)`);
  const mode = capability.access_mode?.mode;
  if (!mode || mode === 'UNKNOWN') throw csiError(status.INVALID_ARGUMENT, `${field} needs an access mode`);
  const refusal = refuseMode(mode, accessType);
  if (refusal !== undefined) throw csiError(status.INVALID_ARGUMENT, refusal);
  const fsType = capability.mount?.fs_type ?? '';
  if (accessType === 'mount' && fsType !== '' && !isSupportedFsType(fsType)) {
    throw csiError(status.INVALID_ARGUMENT, `fs_type ${fsType} is not supported`);
  }
  return accessType;
}

/** The capability list of a request, which must not be empty. */
export function requireCapabilities<T extends readonly VolumeCapability[]>(
  capabilities: T | null | undefined,
): T {
  if (!capabilities || capabilities.length === 0) {
    throw csiError(status.INVALID_ARGUMENT, 'volume_capabilities are required');
  }
  return capabilities;
}

/** Checks every capability of a new volume with `check`; they must agree on one access type. */
export function checkCapabilities(
  capabilities: readonly VolumeCapability[] | null | undefined,
  check: (capability: VolumeCapability, field: string) => AccessType,
): AccessType {
  const list = requireCapabilities(capabilities);
  const types = new Set(list.map((cap, i) => check(cap, `volume_capabilities[${i}]`)));
  if (types.size > 1) throw csiError(status.INVALID_ARGUMENT, 'a volume cannot be both block and mount');
  return [...types][0]!;
}

export function isReadOnlyMode(capability: VolumeCapability): boolean {
  const mode = capability.access_mode?.mode;
  return mode === 'SINGLE_NODE_READER_ONLY' || mode === 'MULTI_NODE_READER_ONLY';
}

/** The answer of ValidateVolumeCapabilities when every capability fits: the request, confirmed. */
export function confirmedCapabilities(
  req: Pick<ValidateVolumeCapabilitiesRequest, 'volume_context' | 'parameters'>,
  capabilities: VolumeCapability[],
): PartialMessage<ValidateVolumeCapabilitiesResponse> {
  return {
    confirmed: {
      volume_context: req.volume_context ?? {},
      volume_capabilities: capabilities,
      parameters: req.parameters ?? {},
      mutable_parameters: {},
    },
  };
}
