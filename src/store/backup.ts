// Backups are snapshot files (checksummed, one revision). Restoring builds a new data directory
// from one: the backup is verified first and the target must be empty, so nothing is mixed.
import { readdir, readFile } from 'node:fs/promises';
import { makeDataDirPrivate } from './data-dir.js';
import { inspectSnapshot } from './snapshot.js';
import { writeSnapshot } from './snapshot.js';

export interface RestoreReport {
  revision: number;
  objects: number;
}

/** Throws, naming the problem, unless `bytes` is a whole, verified backup. */
export function verifyBackup(
  bytes: Buffer,
  source: string,
): RestoreReport & { entries: ReturnType<typeof inspectSnapshot>['entries'] } {
  const inspected = inspectSnapshot(bytes);
  if (inspected.problem) throw new Error(`${source} is not a usable backup: ${inspected.problem}`);
  return { revision: inspected.revision, objects: inspected.entries.length, entries: inspected.entries };
}

export async function restoreDataDir(backupFile: string, dataDir: string): Promise<RestoreReport> {
  const { revision, objects, entries } = verifyBackup(await readFile(backupFile), backupFile);
  const existing = await readdir(dataDir).catch(() => [] as string[]);
  if (existing.length > 0) {
    throw new Error(`data directory ${dataDir} is not empty: restore builds a new data directory`);
  }
  await makeDataDirPrivate(dataDir);
  await writeSnapshot(dataDir, { revision, entries });
  return { revision, objects };
}
