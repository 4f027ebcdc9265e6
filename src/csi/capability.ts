// Volume capabilities from a PersistentVolume (or claim) the way the CSI sidecars build them:
// access modes map to one CSI access mode, volumeMode to block or mount (fsType, mount flags).
import type { AccessMode as KubeAccessMode } from '../api/types.js';
import type { AccessModeName, VolumeCapability } from './types.js';

export interface CapabilityOptions {
  /** The driver has SINGLE_NODE_MULTI_WRITER: RWO/RWOP use the finer single-node modes. */
  singleNodeMultiWriter?: boolean;
}

/** One CSI access mode for a set of Kubernetes access modes (external-provisioner/attacher rules). */
export function csiAccessMode(
  modes: readonly KubeAccessMode[],
  options: CapabilityOptions = {},
): AccessModeName {
  if (modes.includes('ReadWriteMany')) return 'MULTI_NODE_MULTI_WRITER';
  if (modes.includes('ReadOnlyMany')) return 'MULTI_NODE_READER_ONLY';
  if (modes.includes('ReadWriteOncePod')) {
    return options.singleNodeMultiWriter ? 'SINGLE_NODE_SINGLE_WRITER' : 'SINGLE_NODE_WRITER';
  }
  if (modes.includes('ReadWriteOnce')) {
    return options.singleNodeMultiWriter ? 'SINGLE_NODE_MULTI_WRITER' : 'SINGLE_NODE_WRITER';
  }
  return 'UNKNOWN';
}

export function volumeCapability(
  spec: { accessModes?: readonly KubeAccessMode[]; volumeMode?: string; mountOptions?: readonly string[] },
  fsType: string,
  options: CapabilityOptions = {},
): VolumeCapability {
  const access_mode = { mode: csiAccessMode(spec.accessModes ?? [], options) };
  if (spec.volumeMode === 'Block') return { block: {}, access_mode };
  return {
    mount: { fs_type: fsType, mount_flags: [...(spec.mountOptions ?? [])], volume_mount_group: '' },
    access_mode,
  };
}
