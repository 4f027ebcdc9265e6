// Scrubs a released disk before it is offered again: removes everything under a Filesystem disk's
// mount point (never the mount point itself), or wipes the signatures of a Block disk. Refuses any
// path that is not directly under the class's hostDir, not a mount point, or holds other mounts.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { VolumeMode } from '../../api/types.js';
import type { Exec } from '../../host/index.js';

export interface ScrubRequest {
  path: string;
  hostDir: string;
  volumeMode: VolumeMode;
}

export interface ScrubDeps {
  exec: Exec;
  mountPoints: ReadonlySet<string>;
}

async function directChild(hostDir: string, diskPath: string): Promise<string> {
  const dir = await fs.realpath(hostDir);
  const resolved = await fs.realpath(diskPath);
  if (path.dirname(resolved) !== dir || resolved === dir) {
    throw new Error(`refusing to scrub ${diskPath}: not directly under ${hostDir}`);
  }
  return resolved;
}

export async function scrubDisk(request: ScrubRequest, deps: ScrubDeps): Promise<void> {
  if (request.volumeMode === 'Block') {
    // a block disk's entry may be a symlink into /dev: check the entry, wipe what it points at
    const dir = await fs.realpath(request.hostDir);
    if (path.dirname(path.resolve(request.path)) !== dir) {
      throw new Error(`refusing to scrub ${request.path}: not directly under ${request.hostDir}`);
    }
    if (!(await fs.stat(request.path)).isBlockDevice()) {
      throw new Error(`refusing to scrub ${request.path}: not a block device`);
    }
    await deps.exec.run('wipefs', ['--all', '--force', request.path]);
    return;
  }
  const mountPoint = await directChild(request.hostDir, request.path);
  if (!deps.mountPoints.has(mountPoint)) {
    throw new Error(`refusing to scrub ${mountPoint}: not a mount point`);
  }
  const nested = [...deps.mountPoints].find((m) => m.startsWith(mountPoint + path.sep));
  if (nested) throw new Error(`refusing to scrub ${mountPoint}: ${nested} is mounted inside it`);
  for (const name of await fs.readdir(mountPoint)) {
    await fs.rm(path.join(mountPoint, name), { recursive: true, force: true });
  }
}
