// Mount, bind and unmount through mount(8)/umount(8), and mount-point checks from mountinfo.
import { realpathSync } from 'node:fs';
import path from 'node:path';
import type { Exec } from './exec.js';
import { ExecError } from './exec.js';
import type { MountInfoEntry, MountInfoReader } from './mountinfo.js';
import { procMountInfoReader, topMountAt } from './mountinfo.js';

export interface MountOptions {
  fsType?: string;
  flags?: readonly string[];
}

export interface Mounter {
  mount(source: string, target: string, options?: MountOptions): Promise<void>;
  /** Bind `source` (a directory or a device node) onto `target`; read-only in the same step when asked. */
  bindMount(source: string, target: string, options?: { readonly?: boolean }): Promise<void>;
  /** Unmounts every mount stacked at `target`; a path that is not mounted (or missing) is fine. */
  unmount(target: string): Promise<void>;
  isMountPoint(target: string): Promise<boolean>;
  /** The topmost mount at `target` (the path is resolved first), if it is a mount point. */
  mountAt(target: string): Promise<MountInfoEntry | undefined>;
  list(): Promise<MountInfoEntry[]>;
}

export interface SystemMounterOptions {
  exec: Exec;
  readMountInfo?: MountInfoReader;
}

/** The canonical path the kernel reports in mountinfo; a missing path stays as given (absolute). */
export async function canonicalPath(target: string): Promise<string> {
  try {
    // One system call (the JS version lstats each component); cheaper inline than on the thread pool.
    return realpathSync.native(target);
  } catch {
    return path.resolve(target);
  }
}

export class SystemMounter implements Mounter {
  private readonly exec: Exec;
  private readonly readMountInfo: MountInfoReader;

  constructor(options: SystemMounterOptions) {
    this.exec = options.exec;
    this.readMountInfo = options.readMountInfo ?? procMountInfoReader();
  }

  async mount(source: string, target: string, options: MountOptions = {}): Promise<void> {
    const args: string[] = [];
    if (options.fsType) args.push('-t', options.fsType);
    if (options.flags && options.flags.length > 0) args.push('-o', options.flags.join(','));
    await this.exec.run('mount', [...args, source, target]);
  }

  async bindMount(source: string, target: string, options: { readonly?: boolean } = {}): Promise<void> {
    // mount(8) >= 2.27 turns "--bind -o ro" into bind + read-only remount itself.
    const args = options.readonly ? ['--bind', '-o', 'ro', source, target] : ['--bind', source, target];
    await this.exec.run('mount', args);
  }

  async unmount(target: string): Promise<void> {
    const resolved = await canonicalPath(target);
    // Stacked mounts need one umount each; the bound keeps a stuck mount from looping forever.
    for (let attempt = 0; attempt < 16; attempt++) {
      if (!(await this.mountAt(resolved))) return;
      try {
        await this.exec.run('umount', [resolved]);
      } catch (err) {
        if (err instanceof ExecError && /not mounted/.test(err.stderr)) return;
        throw err;
      }
    }
    throw new Error(`${target} is still mounted after 16 unmounts`);
  }

  async isMountPoint(target: string): Promise<boolean> {
    return (await this.mountAt(target)) !== undefined;
  }

  async mountAt(target: string): Promise<MountInfoEntry | undefined> {
    const resolved = await canonicalPath(target);
    return topMountAt(await this.readMountInfo(), resolved);
  }

  list(): Promise<MountInfoEntry[]> {
    return this.readMountInfo();
  }
}
