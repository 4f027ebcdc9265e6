// NodeGetVolumeStats answers every driver gives alike: a filesystem's usage from statfs, and the
// checks that a staged device volume really is what is mounted at the asked path.
import { promises as fs } from 'node:fs';
import { csiError, status } from '../../csi/errors.js';
import type { NodeGetVolumeStatsResponse, PartialMessage } from '../../csi/types.js';
import type { DeviceView } from '../../host/device-mounts.js';
import { isDeviceBindOf, isFilesystemMountOf } from '../../host/device-mounts.js';
import type { MountInfoEntry } from '../../host/mountinfo.js';
import type { AccessType } from './capability.js';

type VolumeStats = PartialMessage<NodeGetVolumeStatsResponse>;

/** Bytes and inodes of the filesystem mounted at `volumePath`. */
export async function filesystemUsage(volumePath: string): Promise<VolumeStats> {
  const stats = await fs.statfs(volumePath, { bigint: true });
  return {
    usage: [
      {
        unit: 'BYTES',
        total: (stats.blocks * stats.bsize).toString(),
        available: (stats.bavail * stats.bsize).toString(),
        used: ((stats.blocks - stats.bfree) * stats.bsize).toString(),
      },
      {
        unit: 'INODES',
        total: stats.files.toString(),
        available: stats.ffree.toString(),
        used: (stats.files - stats.ffree).toString(),
      },
    ],
  };
}

export interface DeviceVolumeAt {
  id: string;
  volumePath: string;
  accessType: AccessType;
  /** The topmost mount at volumePath. */
  entry: MountInfoEntry;
  /** The device the volume is staged on. */
  view: DeviceView;
  /** Size of a block volume's device. */
  deviceBytes: () => Promise<bigint>;
}

/** Stats of a device volume: its size for a block volume, its filesystem's usage otherwise. */
export async function deviceVolumeStats(at: DeviceVolumeAt): Promise<VolumeStats> {
  const { id, volumePath, entry, view } = at;
  if (at.accessType === 'block') {
    if (!isDeviceBindOf(entry, view))
      throw csiError(status.NOT_FOUND, `volume ${id} is not at ${volumePath}`);
    return { usage: [{ total: (await at.deviceBytes()).toString(), unit: 'BYTES' }] };
  }
  if (!isFilesystemMountOf(entry, view))
    throw csiError(status.NOT_FOUND, `volume ${id} is not at ${volumePath}`);
  return filesystemUsage(volumePath);
}
