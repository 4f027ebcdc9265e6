// An exclusive lock on a data directory: a LOCK file created with O_EXCL that holds the owner's
// PID. A lock left behind by a process that no longer exists is taken over.
import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export class DataDirLockedError extends Error {
  readonly dataDir: string;
  readonly holderPid: number;
  constructor(dataDir: string, holderPid: number) {
    super(`data directory ${dataDir} is locked by process ${holderPid}; only one process may open it`);
    this.name = 'DataDirLockedError';
    this.dataDir = dataDir;
    this.holderPid = holderPid;
  }
}

export interface DirLock {
  release(): Promise<void>;
}

/** True unless the process is gone or a zombie (a killed holder whose parent never reaped it). */
export async function isProcessAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    // no procfs entry (or no procfs): fall back to signal 0
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function acquireDirLock(dataDir: string, pid: number = process.pid): Promise<DirLock> {
  const path = join(dataDir, 'LOCK');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o600);
      try {
        await handle.writeFile(`${pid}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return { release: () => unlink(path).catch(() => undefined) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(holder) && holder > 0 && (await isProcessAlive(holder)))
      throw new DataDirLockedError(dataDir, holder);
    // stale (dead holder, or a file torn before the PID was written): take it over
    await unlink(path).catch(() => undefined);
  }
  throw new Error(`could not lock data directory ${dataDir}: the lock file keeps reappearing`);
}

/** The PID of a live process holding the data directory's lock, if any (read-only check). */
export async function lockHolder(dataDir: string): Promise<number | undefined> {
  const holder = Number.parseInt(await readFile(join(dataDir, 'LOCK'), 'utf8').catch(() => ''), 10);
  return Number.isInteger(holder) && holder > 0 && (await isProcessAlive(holder)) ? holder : undefined;
}
