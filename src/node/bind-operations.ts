// Carries out bind actions for local and hostPath volumes: checks the source (hostPath `type`,
// local directory or block device), creates the target (a directory, or a file for anything
// else), bind-mounts, and on teardown unmounts and removes only what is no longer a mount point.
// Nothing here ever deletes recursively: an unmount that did not take leaves the data alone.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Mounter } from '../host/index.js';
import type { FoundBind } from './bind-decide.js';
import type { DesiredBind } from './desired-state.js';
import { checkHostPathType, type PathKind } from './host-path-type.js';
import { type MountTableReader, VolumeOperationError } from './operations.js';
import { HOST_PATH_PLUGIN_DIR, LOCAL_VOLUME_PLUGIN_DIR, type NodePaths } from './paths.js';
import { removeDirIfEmpty } from './vol-data.js';

export interface BindOperationDeps {
  paths: NodePaths;
  mounter: Mounter;
  mountTable: MountTableReader;
}

/** What is at `p`, following symlinks (a /dev/disk/by-id link counts as its device). */
export async function pathKind(p: string): Promise<PathKind> {
  try {
    const st = await fs.stat(p);
    if (st.isDirectory()) return 'directory';
    if (st.isFile()) return 'file';
    if (st.isSocket()) return 'socket';
    if (st.isCharacterDevice()) return 'char-device';
    if (st.isBlockDevice()) return 'block-device';
    return 'other';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function entries(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch {
    return [];
  }
}

const AREAS: readonly { area: string; plugins: readonly string[] }[] = [
  { area: 'volumes', plugins: [LOCAL_VOLUME_PLUGIN_DIR, HOST_PATH_PLUGIN_DIR] },
  { area: 'volumeDevices', plugins: [LOCAL_VOLUME_PLUGIN_DIR] },
];

/** Bind targets on disk for the given pods (all pods under pods/ when omitted). */
export async function scanBinds(
  paths: NodePaths,
  mountPoints: ReadonlySet<string>,
  podUIDs?: readonly string[],
): Promise<FoundBind[]> {
  const found: FoundBind[] = [];
  for (const podUID of podUIDs ?? (await entries(paths.podsDir()))) {
    for (const { area, plugins } of AREAS) {
      for (const plugin of plugins) {
        const dir = path.join(paths.podDir(podUID), area, plugin);
        for (const name of await entries(dir)) {
          const targetPath = path.join(dir, name);
          found.push({ podUID, targetPath, mounted: mountPoints.has(targetPath) });
        }
      }
    }
  }
  return found;
}

export class BindOperations {
  private readonly deps: BindOperationDeps;

  constructor(deps: BindOperationDeps) {
    this.deps = deps;
  }

  async mountPoints(): Promise<Set<string>> {
    return new Set((await this.deps.mountTable()).map((m) => m.mountPoint));
  }

  /** Checks and prepares the source; returns whether it is a directory. */
  private async prepareSource(bind: DesiredBind): Promise<boolean> {
    const { source } = bind;
    const kind = await pathKind(source);
    if (bind.hostPathType !== undefined) {
      const verdict = checkHostPathType(bind.hostPathType, source, kind);
      if (!verdict.ok) throw new Error(verdict.message);
      if (verdict.create === 'directory') {
        await fs.mkdir(source, { recursive: true, mode: 0o755 });
        return true;
      }
      if (verdict.create === 'file') {
        await fs.mkdir(path.dirname(source), { recursive: true, mode: 0o755 });
        await fs.writeFile(source, '', { flag: 'a', mode: 0o644 });
        return false;
      }
      return kind === 'directory';
    }
    if (kind === 'missing') throw new Error(`path "${source}" does not exist`);
    if (bind.block && kind !== 'block-device') throw new Error(`path "${source}" is not a block device`);
    if (!bind.block && kind !== 'directory') throw new Error(`path "${source}" is not a directory`);
    return !bind.block;
  }

  async mount(bind: DesiredBind, targetPath: string): Promise<void> {
    const fail = (err: unknown) =>
      new VolumeOperationError(
        'FailedMount',
        `MountVolume.SetUp failed for volume "${bind.specName}" : ${describe(err)}`,
        [bind.podUID],
        { cause: err },
      );
    let directory: boolean;
    try {
      directory = await this.prepareSource(bind);
    } catch (err) {
      throw fail(err);
    }
    try {
      await fs.mkdir(path.dirname(targetPath), { recursive: true, mode: 0o750 });
      if (directory) await fs.mkdir(targetPath, { recursive: true, mode: 0o750 });
      else await fs.writeFile(targetPath, '', { flag: 'a', mode: 0o640 });
      if ((await this.mountPoints()).has(targetPath)) return;
      await this.deps.mounter.bindMount(bind.source, targetPath, { readonly: bind.readOnly });
    } catch (err) {
      await this.removeTarget(targetPath).catch(() => undefined);
      throw fail(err);
    }
  }

  async teardown(podUID: string, targetPath: string): Promise<void> {
    const fail = (message: string, cause?: unknown) =>
      new VolumeOperationError(
        'FailedUnmount',
        `UnmountVolume.TearDown failed for volume "${path.basename(targetPath)}" : ${message}`,
        [podUID],
        cause === undefined ? undefined : { cause },
      );
    try {
      await this.deps.mounter.unmount(targetPath);
    } catch (err) {
      throw fail(describe(err), err);
    }
    if ((await this.mountPoints()).has(targetPath)) throw fail(`${targetPath} is still mounted`);
    try {
      await this.removeTarget(targetPath);
    } catch (err) {
      throw fail(describe(err), err);
    }
    // <plugin>, volumes|volumeDevices, pods/<uid>: each only if empty
    const pluginDir = path.dirname(targetPath);
    await removeDirIfEmpty(pluginDir);
    await removeDirIfEmpty(path.dirname(pluginDir));
    await removeDirIfEmpty(path.dirname(path.dirname(pluginDir)));
  }

  /** rmdir or unlink: never recursive, so a target still holding data stays and is reported. */
  private async removeTarget(targetPath: string): Promise<void> {
    let st;
    try {
      st = await fs.lstat(targetPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    if (st.isDirectory()) await fs.rmdir(targetPath);
    else await fs.unlink(targetPath);
  }
}
