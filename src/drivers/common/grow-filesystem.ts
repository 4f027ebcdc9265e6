// Filesystem growth on a device volume, as the local and RBD drivers do it: at NodeStageVolume for
// a filesystem left smaller than its device (a restore or clone into a larger volume, or a volume
// grown while unstaged) - ext before it is mounted, xfs (which grows only mounted) right after -
// and online in NodeExpandVolume.
import { csiError, status } from '../../csi/errors.js';
import { ExecError } from '../../host/exec.js';
import type { Filesystems } from '../../host/filesystem.js';
import { MIB } from './capacity.js';

export const EXT_TYPES: ReadonlySet<string> = new Set(['ext2', 'ext3', 'ext4']);

/** resize2fs fails this way when the host withholds CAP_SYS_RESOURCE, which online ext growth needs. */
function isOnlineResizeRefused(err: unknown): boolean {
  return err instanceof ExecError && err.command === 'resize2fs' && /Permission denied/.test(err.stderr);
}

/**
 * Grows the unmounted ext filesystem on `device` when it is at least 1 MiB smaller than
 * `deviceBytes` (the volume grew while unstaged); returns the size it had, or undefined when it fit.
 */
export async function growExtIfSmaller(
  filesystems: Filesystems,
  device: string,
  deviceBytes: bigint,
): Promise<bigint | undefined> {
  const fsBytes = await filesystems.extSizeBytes(device);
  if (deviceBytes - fsBytes < MIB) return undefined;
  await filesystems.growExtOffline(device);
  return fsBytes;
}

/**
 * Grows the xfs filesystem just mounted at `mountPoint` when it is at least 1 MiB smaller than
 * `deviceBytes`; returns the size it had, or undefined when it fit.
 */
export async function growXfsIfSmaller(
  filesystems: Filesystems,
  device: string,
  mountPoint: string,
  deviceBytes: bigint,
): Promise<bigint | undefined> {
  const fsBytes = await filesystems.xfsSizeBytes(mountPoint);
  if (deviceBytes - fsBytes < MIB) return undefined;
  await filesystems.grow(device, 'xfs', mountPoint);
  return fsBytes;
}

/** Grows the filesystem on `device`, mounted at `mountPoint`, to fill it; returns its type. */
export async function growFilesystemOnline(
  filesystems: Filesystems,
  id: string,
  device: string,
  mountPoint: string,
): Promise<string> {
  const fsType = await filesystems.probe(device);
  if (!fsType) throw csiError(status.FAILED_PRECONDITION, `volume ${id} has no filesystem to grow`);
  try {
    await filesystems.grow(device, fsType, mountPoint);
  } catch (err) {
    if (!isOnlineResizeRefused(err)) throw err;
    throw csiError(
      status.FAILED_PRECONDITION,
      `this host refuses online ${fsType} growth (no CAP_SYS_RESOURCE); the filesystem grows at the next NodeStageVolume`,
    );
  }
  return fsType;
}
