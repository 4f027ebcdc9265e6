// Local disk discovery configuration: one entry per StorageClass, like local-static-provisioner's
// storageClassMap. Every mount point (Filesystem) or block device (Block) directly under hostDir
// becomes one PersistentVolume of that class, pinned to this node.
import type { ReclaimPolicy, VolumeMode } from '../../api/types.js';

export interface DiscoveryClass {
  className: string;
  /** The directory whose entries are disks. Default /mnt/disks. */
  hostDir?: string;
  /** Filesystem: entries are mount points. Block: entries are block devices (or symlinks to them). */
  volumeMode?: VolumeMode;
  /** Retain or Delete (Delete scrubs the disk and offers it again). Default Delete. */
  reclaimPolicy?: Extract<ReclaimPolicy, 'Retain' | 'Delete'>;
}

export interface ResolvedDiscoveryClass {
  className: string;
  hostDir: string;
  volumeMode: VolumeMode;
  reclaimPolicy: 'Retain' | 'Delete';
}

export const DEFAULT_DISCOVERY_DIR = '/mnt/disks';

export function resolveDiscoveryClass(c: DiscoveryClass): ResolvedDiscoveryClass {
  return {
    className: c.className,
    hostDir: c.hostDir ?? DEFAULT_DISCOVERY_DIR,
    volumeMode: c.volumeMode ?? 'Filesystem',
    reclaimPolicy: c.reclaimPolicy ?? 'Delete',
  };
}
