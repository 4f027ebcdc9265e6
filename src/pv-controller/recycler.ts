// The scrub behind the Recycle reclaim policy: hostPath and local volumes are emptied in place
// (the directory stays, its contents go), NFS volumes through an injected hook. Like Kubernetes'
// recycler pod it runs "rm -rf <dir>/*"; unlike it, it refuses to touch anything outside the
// roots it was given, and never the filesystem root.
import { lstat, readdir, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import type { PersistentVolume } from '../api/types.js';
import type { Recycler } from './apply.js';

export interface FsRecyclerOptions {
  /** Only directories at or below these paths are ever emptied. */
  allowedRoots: readonly string[];
  /** Scrubs an NFS volume (for example by mounting the export and emptying it). */
  recycleNfs?: (volume: PersistentVolume) => Promise<void>;
}

export class RecycleRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecycleRefusedError';
  }
}

function isInside(child: string, root: string): boolean {
  const rel = path.relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

export class FsRecycler implements Recycler {
  private readonly allowedRoots: readonly string[];
  private readonly recycleNfs: ((volume: PersistentVolume) => Promise<void>) | undefined;

  constructor(options: FsRecyclerOptions) {
    this.allowedRoots = options.allowedRoots.map((r) => path.resolve(r));
    this.recycleNfs = options.recycleNfs;
  }

  async recycle(volume: PersistentVolume): Promise<void> {
    const dir = volume.spec.hostPath?.path ?? volume.spec.local?.path;
    if (dir !== undefined) {
      await this.emptyDirectory(dir);
      return;
    }
    if (volume.spec.nfs) {
      if (!this.recycleNfs) throw new RecycleRefusedError('NFS recycling is not configured');
      await this.recycleNfs(volume);
      return;
    }
    throw new RecycleRefusedError('only hostPath, local and NFS volumes can be recycled');
  }

  /** Removes everything inside `dir`, keeping `dir` itself. Symlinks are removed, never followed. */
  async emptyDirectory(dir: string): Promise<void> {
    if (!path.isAbsolute(dir)) throw new RecycleRefusedError(`refusing to recycle relative path "${dir}"`);
    const real = await realpath(dir);
    if (real === path.parse(real).root) throw new RecycleRefusedError(`refusing to recycle "${dir}"`);
    const roots = await Promise.all(this.allowedRoots.map((r) => realpath(r).catch(() => r)));
    if (!roots.some((root) => isInside(real, root))) {
      throw new RecycleRefusedError(`refusing to recycle "${dir}": outside the allowed paths`);
    }
    const info = await lstat(real);
    if (!info.isDirectory()) throw new RecycleRefusedError(`refusing to recycle "${dir}": not a directory`);
    for (const entry of await readdir(real)) {
      await rm(path.join(real, entry), { recursive: true, force: true });
    }
  }
}
