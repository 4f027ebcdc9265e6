// Compaction of the embedded store's directory: a snapshot at a revision makes every log segment
// that starts at or before it, and every older snapshot, redundant.
import { unlink } from 'node:fs/promises';
import { inDir, listDataDir, syncDir } from './data-dir.js';
import { writeSnapshot, type Snapshot } from './snapshot.js';
import type { StoreFs } from './store-fs.js';

/** Writes `snapshot` durably, then removes what it makes redundant and syncs the directory. */
export async function writeCompactedSnapshot(dir: string, snapshot: Snapshot, fs: StoreFs): Promise<void> {
  await writeSnapshot(dir, snapshot, fs);
  const listing = await listDataDir(dir);
  for (const segment of listing.segments) {
    if (segment.startRevision <= snapshot.revision) await unlink(inDir(dir, segment.name));
  }
  for (const old of listing.snapshots) {
    if (old.revision < snapshot.revision) await unlink(inDir(dir, old.name));
  }
  await syncDir(dir, fs);
}
