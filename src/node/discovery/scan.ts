// Finds the disks of each discovery class: mount points directly under hostDir (Filesystem, sized
// by statfs) or block devices and symlinks to them (Block, sized by blockdev --getsize64).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../machinery/index.js';
import type { Exec } from '../../host/index.js';
import type { ResolvedDiscoveryClass } from './config.js';
import type { DiscoveredDisk } from './decide.js';

export interface ScanDeps {
  exec: Exec;
  /** Mount points of the mount table. */
  mountPoints: ReadonlySet<string>;
  log: Logger;
}

/** The class's hostDir as the kernel names it (the mount table holds canonical paths). */
export async function canonicalHostDir(hostDir: string): Promise<string | undefined> {
  try {
    return await fs.realpath(hostDir);
  } catch {
    return undefined;
  }
}

export async function filesystemCapacity(mountPoint: string): Promise<number> {
  const st = await fs.statfs(mountPoint);
  return st.blocks * st.bsize;
}

export async function blockDeviceCapacity(exec: Exec, device: string): Promise<number> {
  const { stdout } = await exec.run('blockdev', ['--getsize64', device]);
  const bytes = Number(stdout.trim());
  if (!Number.isFinite(bytes)) throw new Error(`blockdev --getsize64 ${device} answered "${stdout.trim()}"`);
  return bytes;
}

export async function scanClass(cls: ResolvedDiscoveryClass, deps: ScanDeps): Promise<DiscoveredDisk[]> {
  const hostDir = await canonicalHostDir(cls.hostDir);
  if (!hostDir) return [];
  const disks: DiscoveredDisk[] = [];
  for (const name of (await fs.readdir(hostDir)).sort()) {
    const diskPath = path.join(hostDir, name);
    try {
      if (cls.volumeMode === 'Block') {
        if (!(await fs.stat(diskPath)).isBlockDevice()) continue;
        const capacityBytes = await blockDeviceCapacity(deps.exec, diskPath);
        disks.push({ className: cls.className, path: diskPath, capacityBytes, volumeMode: 'Block' });
      } else {
        // a plain directory is not a disk: only real (or bind) mount points count
        if (!deps.mountPoints.has(diskPath)) continue;
        const capacityBytes = await filesystemCapacity(diskPath);
        disks.push({ className: cls.className, path: diskPath, capacityBytes, volumeMode: 'Filesystem' });
      }
    } catch (err) {
      deps.log.warn('skipping discovery entry', { path: diskPath, err });
    }
  }
  return disks;
}
